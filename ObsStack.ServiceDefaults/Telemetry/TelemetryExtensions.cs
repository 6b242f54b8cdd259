using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using ObsStack.ServiceDefaults.Metrics;
using ObsStack.ServiceDefaults.Telemetry;
using ObsStack.ServiceDefaults.Telemetry.Export;
using OpenTelemetry;
using OpenTelemetry.Logs;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace Microsoft.Extensions.Hosting;

public static partial class Extensions
{
    /// <summary>Activity sources and meters of ObsStack's own code: every service names its source and meter <c>ObsStack.*</c>.</summary>
    public const string ObsStackSources = "ObsStack.*";

    /// <summary>Requests that are never traced: health probes and scrapes would drown the traces users look for.</summary>
    private static readonly PathString[] UntracedPaths = [HealthEndpointPath, AlivenessEndpointPath, MetricsEndpointPath];

    /// <summary>The runtime's built-in meters.</summary>
    internal static readonly string[] RuntimeMeters =
    [
        "System.Runtime",
        "Microsoft.AspNetCore.Hosting",
        "Microsoft.AspNetCore.Server.Kestrel",
        "Microsoft.AspNetCore.Diagnostics",
        "System.Net.Http",
        "System.Net.NameResolution",
    ];

    /// <summary>
    /// Traces, metrics and logs for this service, identical in every service: one resource (<see cref="ServiceIdentity"/>),
    /// the runtime's sources and meters plus every <c>ObsStack.*</c> one, JSON-lines console logs with trace ids, the
    /// pull exporter behind <c>GET /metrics</c>, and OTLP exporters to the dashboard (<c>OTEL_EXPORTER_OTLP_ENDPOINT</c>)
    /// and to the backends under <c>Telemetry:{Traces|Logs|Metrics}:OtlpEndpoint</c> — each only when configured.
    /// </summary>
    internal static TBuilder ConfigureOpenTelemetry<TBuilder>(this TBuilder builder) where TBuilder : IHostApplicationBuilder
    {
        var options = builder.AddTelemetryOptions();
        var identity = ServiceIdentity.Register(builder);
        var configuration = builder.Configuration;

        builder.AddJsonLinesConsole();
        // The exception handler clears the endpoint before the instrumentation reads http.route, and the package records
        // no exception on the span: the recorder does both (RecoveryTests.Exception_in_a_handler_is_a_500_problem_…).
        builder.Services.AddExceptionHandler<ServerSpanExceptionRecorder>();
        builder.Services.AddOpenTelemetry()
            .ConfigureResource(resource => resource.Clear().AddAttributes(identity.Attributes()).AddTelemetrySdk())
            .WithTracing(tracing => tracing.AddObsStackTracing(configuration, options))
            .WithMetrics(metrics => metrics.AddObsStackMetrics(configuration, options))
            .WithLogging(logging => logging.AddBoundedOtlpExporters(configuration, options), IncludeMessageAndScopes);
        builder.Services.AddHostedService<TelemetryFlushOnStop>();
        return builder;
    }

    /// <summary>
    /// Binds and validates the <c>Telemetry</c> section at start (every key, nested ones included). Also returned
    /// bound now: the exporters and the sampler are built while the container is built, before options resolve.
    /// </summary>
    private static TelemetryOptions AddTelemetryOptions(this IHostApplicationBuilder builder)
    {
        // Data annotations do not recurse into nested sections, so each is validated under its own key as well.
        builder.Services.AddOptions<TelemetryOptions>().BindConfiguration(TelemetryOptions.SectionName)
            .ValidateDataAnnotations().ValidateOnStart();
        builder.Services.AddOptions<MetricsSignalOptions>().BindConfiguration(TelemetrySections.Metrics)
            .ValidateDataAnnotations().ValidateOnStart();
        builder.Services.AddOptions<ExportOptions>().BindConfiguration(TelemetrySections.Export)
            .ValidateDataAnnotations().ValidateOnStart();
        builder.Services.TryAddSingleton<TelemetryInstruments>();

        var options = new TelemetryOptions();
        builder.Configuration.GetSection(TelemetryOptions.SectionName).Bind(options);
        return options;
    }

    private static TracerProviderBuilder AddObsStackTracing(
        this TracerProviderBuilder tracing, IConfiguration configuration, TelemetryOptions options) =>
        // Server spans from the instrumentation package, as Aspire's template does: semantic-convention name and
        // attributes, error status for 5xx. Client spans come from the runtime's own System.Net.Http source.
        tracing.AddAspNetCoreInstrumentation(aspNetCore =>
                aspNetCore.Filter = context => !UntracedPaths.Any(context.Request.Path.StartsWithSegments))
            .AddSource("System.Net.Http").AddSource(ObsStackSources)
            .SetSampling(configuration, options.SamplingRatio)
            .AddBoundedOtlpExporters(configuration, options);

    private static MeterProviderBuilder AddObsStackMetrics(
        this MeterProviderBuilder metrics, IConfiguration configuration, TelemetryOptions options)
    {
        var meterScope = new HostMeterScope();
        return metrics.AddMeter(RuntimeMeters).AddMeter(ObsStackSources)
            .AddRuntimeGaugeRenames()
            .AddInstrumentation(meterScope.Attach)
            // ServiceDefaults' own instruments (process.uptime, telemetry.export.dropped) exist from the start.
            .AddInstrumentation(services => services.GetRequiredService<TelemetryInstruments>())
            .AddView(meterScope.Filter)
            // Exemplars ("metric spike → trace") on histogram points, where an OTLP destination carries them.
            .SetExemplarFilter(options.ExemplarFilter(configuration))
            .AddPrometheusPullReader()
            .AddBoundedOtlpExporters(configuration, options);
    }

    /// <summary>
    /// Three System.Runtime gauges end in <c>.count</c>, which Prometheus reserves for histogram and summary series
    /// (<c>promtool check metrics</c> rejects <c>dotnet_timer_count</c>). They are renamed in the SDK, before any
    /// exporter, so the dashboard, OTLP and <c>/metrics</c> all carry the same new name.
    /// </summary>
    private static MeterProviderBuilder AddRuntimeGaugeRenames(this MeterProviderBuilder metrics) => metrics
        .AddView("dotnet.timer.count", "dotnet.timers")
        .AddView("dotnet.assembly.count", "dotnet.assemblies")
        .AddView("dotnet.process.cpu.count", "dotnet.process.cpus");

    private static void IncludeMessageAndScopes(OpenTelemetryLoggerOptions logging)
    {
        logging.IncludeFormattedMessage = true;
        logging.IncludeScopes = true;
    }
}
