using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using ObsStack.ServiceDefaults.Http;
using ObsStack.ServiceDefaults.Metrics;
using ObsStack.ServiceDefaults.Telemetry;

namespace Microsoft.Extensions.Hosting;

/// <summary>
/// What every ObsStack service calls, and all it calls: <see cref="AddServiceDefaults"/> (telemetry in all four
/// signals, health checks, HTTP defaults, peer discovery), <see cref="UseServiceDefaults"/> (the middleware, in its
/// order) and <see cref="MapDefaultEndpoints"/> (health and metrics). Services do no telemetry setup of their own.
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
    /// decides (docs/http-api.md). The exporters and the profiler bound and retry on their own terms.
    /// </remarks>
    public static TBuilder AddServiceDefaults<TBuilder>(this TBuilder builder) where TBuilder : IHostApplicationBuilder
    {
        builder.AddStartupSettingsCheck();
        builder.AddHttpRequestDefaults();
        builder.ConfigureOpenTelemetry();
        builder.AddContinuousProfiling(ServiceIdentity.Register(builder).Attributes());
        builder.AddDefaultHealthChecks();
        builder.AddServiceDiscoveryDefaults();
        return builder;
    }

    /// <summary>Adds a liveness check tagged "live": <c>/alive</c> reports only it, <c>/health</c> reports all checks.</summary>
    internal static TBuilder AddDefaultHealthChecks<TBuilder>(this TBuilder builder) where TBuilder : IHostApplicationBuilder
    {
        builder.Services.AddHealthChecks()
            .AddCheck("self", () => HealthCheckResult.Healthy(), ["live"]);
        return builder;
    }

    /// <summary>
    /// Adds the middleware every ObsStack service needs, in the order it needs it: request correlation, then exception
    /// handling, then status pages, then request timeouts. Call it first after <c>Build()</c>.
    /// </summary>
    /// <remarks>
    /// The order matters:
    /// 1. tracing: the hosting layer has started the server span before any middleware runs (the ASP.NET Core
    ///    instrumentation names it and sets its HTTP attributes);
    /// 2. correlation: every log line below, the exception handler's included, carries the trace and request ids, and
    ///    every response <c>X-Trace-Id</c>;
    /// 3. metrics: the runtime's <c>http.server.request.duration</c>, recorded by the hosting layer around all of this,
    ///    with <c>http.route</c> from routing and the status this pipeline finally sends (a recovered 500 too);
    /// 4. recovery: innermost, so an exception it turns into a 500 has already been traced, correlated and measured;
    ///    status pages then give a bodyless 4xx/5xx (404, 405, a timed-out 504) its problem+json, and the request
    ///    timeout runs inside both, so its 504 gets one too.
    /// </remarks>
    public static WebApplication UseServiceDefaults(this WebApplication app)
    {
        app.UseMiddleware<RequestCorrelation>();
        app.UseExceptionHandler();
        app.UseStatusCodePages();
        app.UseRequestTimeouts();
        return app;
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
