using System.Diagnostics;
using System.Diagnostics.Metrics;
using ObsStack.Api.Chaos;

namespace ObsStack.Api;

/// <summary>
/// The api's activity source and instruments. ServiceDefaults adds every <c>ObsStack.*</c> source and meter, so
/// nothing else is needed for them to be exported. Request rate, latency and status are the runtime's
/// <c>http.server.request.duration</c>; what is here is only what the runtime cannot know. Prometheus names:
/// <c>data_requests_total{outcome}</c>, <c>chaos_latency_seconds</c>, <c>chaos_error_ratio</c>,
/// <c>chaos_exception_ratio</c>.
/// </summary>
public sealed class ApiTelemetry : IDisposable
{
    public const string ActivitySourceName = "ObsStack.Api";
    public const string MeterName = "ObsStack.Api";

    /// <summary>The internal step of <c>GET /data/{id}</c>, a child of the server span.</summary>
    public const string LoadDataSpan = "load_data";

    /// <summary>Latency injected by the chaos knobs, as its own span so a slow trace shows where the time went.</summary>
    public const string ChaosLatencySpan = "chaos_latency";

    public ApiTelemetry(IMeterFactory meterFactory, ChaosState chaos)
    {
        var meter = meterFactory.Create(MeterName);

        DataRequests = meter.CreateCounter<long>("data.requests", "{request}",
            "GET /data/{id} requests by outcome: success, error (Data:ErrorRate), chaos_error, chaos_exception.");

        // Read from the chaos state at collection time, so a dashboard can shade the time the knobs were turned.
        meter.CreateObservableGauge("chaos.latency", () => chaos.Current.LatencyMs / 1000.0, "s",
            "Latency the chaos knobs add to every GET /data/{id}.");
        meter.CreateObservableGauge("chaos.error.ratio", () => chaos.Current.ErrorRate, "1",
            "Share of GET /data/{id} requests the chaos knobs turn into 500.");
        meter.CreateObservableGauge("chaos.exception.ratio", () => chaos.Current.ExceptionRate, "1",
            "Share of GET /data/{id} requests in which the chaos knobs throw an unhandled exception.");
    }

    public ActivitySource Source { get; } = new(ActivitySourceName);

    public Counter<long> DataRequests { get; }

    public void Dispose() => Source.Dispose();
}

/// <summary>The <c>outcome</c> label of <c>data_requests_total</c>.</summary>
public static class DataOutcome
{
    public const string Success = "success";
    public const string Error = "error";
    public const string ChaosError = "chaos_error";
    public const string ChaosException = "chaos_exception";
}
