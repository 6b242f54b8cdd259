using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using ObsStack.ServiceDefaults.Metrics;

namespace Microsoft.Extensions.Hosting;

/// <summary>
/// The defaults every ObsStack service gets from one call: telemetry in all four signals, health checks,
/// HTTP client defaults and peer discovery. Services do no telemetry setup of their own.
/// </summary>
public static partial class Extensions
{
    public const string HealthEndpointPath = "/health";
    public const string AlivenessEndpointPath = "/alive";
    public const string MetricsEndpointPath = "/metrics";

    /// <summary>Adds ObsStack's service defaults: OpenTelemetry (traces, metrics, logs), profiling, health checks, HTTP client defaults.</summary>
    /// <remarks>
    /// Unlike Aspire's template, HTTP clients get no standard resilience handler (retries, circuit breaker): a retried
    /// <c>POST /jobs</c> would queue a batch twice, a retried job fetch would skew <c>job_duration_seconds</c> and hide
    /// the failure the job records, and the api answers an unreachable worker with 503 at once so that its caller
    /// decides (README, the api's HTTP API). The exporters and the profiler bound and retry on their own terms.
    /// </remarks>
    public static TBuilder AddServiceDefaults<TBuilder>(this TBuilder builder) where TBuilder : IHostApplicationBuilder
    {
        builder.AddStartupSettingsCheck();
        builder.AddHttpRequestDefaults();
        builder.ConfigureOpenTelemetry();
        builder.AddContinuousProfiling();
        builder.AddDefaultHealthChecks();
        builder.AddServiceDiscoveryDefaults();
        return builder;
    }

    /// <summary>Adds a liveness check tagged "live": <c>/alive</c> reports only it, <c>/health</c> reports all checks.</summary>
    public static TBuilder AddDefaultHealthChecks<TBuilder>(this TBuilder builder) where TBuilder : IHostApplicationBuilder
    {
        builder.Services.AddHealthChecks()
            .AddCheck("self", () => HealthCheckResult.Healthy(), ["live"]);
        return builder;
    }

    /// <summary>Maps <c>/health</c> (readiness: all checks), <c>/alive</c> (liveness) and <c>/metrics</c> (Prometheus text).</summary>
    public static WebApplication MapDefaultEndpoints(this WebApplication app)
    {
        // Unlike Aspire's template these are mapped in every environment: Prometheus and container health checks
        // need them in production too, and they reveal nothing but health and metrics.
        app.MapHealthChecks(HealthEndpointPath);
        app.MapHealthChecks(AlivenessEndpointPath, new HealthCheckOptions { Predicate = r => r.Tags.Contains("live") });
        app.MapPrometheusMetrics(MetricsEndpointPath);
        return app;
    }
}
