using System.Diagnostics;
using System.Diagnostics.Metrics;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using ObsStack.ServiceDefaults.Logging;
using ObsStack.ServiceDefaults.Metrics;
using ObsStack.ServiceDefaults.Telemetry;
using OpenTelemetry;
using OpenTelemetry.Exporter;
using OpenTelemetry.Logs;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace Microsoft.Extensions.Hosting;

public static partial class Extensions
{
    /// <summary>Activity sources and meters of ObsStack's own code: every service names its source and meter <c>ObsStack.*</c>.</summary>
    public const string ObsStackSources = "ObsStack.*";

    /// <summary>The runtime's own activity sources (.NET 10 emits these natively; no instrumentation package needed).</summary>
    public static readonly string[] RuntimeActivitySources = ["Microsoft.AspNetCore", "System.Net.Http"];

    /// <summary>The runtime's built-in meters.</summary>
    public static readonly string[] RuntimeMeters =
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
    public static TBuilder ConfigureOpenTelemetry<TBuilder>(this TBuilder builder) where TBuilder : IHostApplicationBuilder
    {
        var services = builder.Services;
        var configuration = builder.Configuration;

        services.AddOptions<TelemetryOptions>()
            .BindConfiguration(TelemetryOptions.SectionName)
            .ValidateDataAnnotations()
            .ValidateOnStart();

        // Bound here as well as through IOptions: exporters and the sampler are built while the container is built.
        var options = new TelemetryOptions();
        configuration.GetSection(TelemetryOptions.SectionName).Bind(options);
        var identity = ServiceIdentity.FromConfiguration(configuration, builder.Environment);

        services.TryAddSingleton(identity);
        services.TryAddSingleton<TelemetryInstruments>();
        services.TryAddSingleton(new PrometheusPullExporter());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IStartupFilter, ServerSpans>());
        services.AddExceptionHandler<ServerSpanExceptionRecorder>();
        services.AddHostedService<TelemetryStartup>();

        builder.Logging.AddConsole(o => o.FormatterName = JsonLinesConsoleFormatter.FormatterName)
            .AddConsoleFormatter<JsonLinesConsoleFormatter, JsonLinesConsoleFormatterOptions>();

        var telemetry = new OpenTelemetryServicesBuilder(services);
        telemetry.ConfigureResource(resource => resource.Clear().AddAttributes(identity.Attributes()).AddTelemetrySdk());

        telemetry.WithTracing(tracing =>
        {
            tracing.AddSource(RuntimeActivitySources).AddSource(ObsStackSources)
                .SetSampler(TraceSampling.Create(configuration, options.SamplingRatio));

            foreach (var destination in OtlpDestinations.For(Signal.Traces, configuration, options))
            {
                tracing.AddProcessor(sp => BoundedExport.Processor(sp, destination, options.Export,
                    otlp => new OtlpTraceExporter(otlp),
                    (exporter, b) => new BatchActivityExportProcessor(exporter, b.MaxQueueSize, b.DelayMs, b.TimeoutMs, b.MaxBatchSize),
                    ExportFilters.IsRecorded));
            }
        });

        var meterScope = new HostMeterScope();
        telemetry.WithMetrics(metrics =>
        {
            metrics.AddMeter(RuntimeMeters).AddMeter(ObsStackSources)
                .AddRuntimeGaugeRenames()
                .AddInstrumentation(sp => meterScope.Attach(sp))
                .AddView(meterScope.Filter)
                // Histogram points keep the trace of a sampled measurement: the exemplars behind "metric spike → trace".
                .SetExemplarFilter(ExemplarFilterType.TraceBased)
                .AddReader(sp => new BaseExportingMetricReader(sp.GetRequiredService<PrometheusPullExporter>())
                {
                    TemporalityPreference = MetricReaderTemporalityPreference.Cumulative,
                });

            foreach (var destination in OtlpDestinations.For(Signal.Metrics, configuration, options))
            {
                var interval = destination.Name == OtlpDestinations.Dashboard
                    ? ExportIntervalFromEnvironment(configuration) ?? options.Metrics.ExportInterval
                    : options.Metrics.ExportInterval;
                metrics.AddReader(sp =>
                {
                    // A periodic reader holds no queue: it sends the current state each interval, so a dead backend
                    // costs one failed export per interval, never memory.
                    var guard = BoundedExport.Guard(sp, destination, long.MaxValue);
                    var exporter = new GuardedExporter<Metric>(new OtlpMetricExporter(destination.ToExporterOptions(options.Export.Timeout)), guard);
                    return new PeriodicExportingMetricReader(exporter, (int)interval.TotalMilliseconds, (int)options.Export.Timeout.TotalMilliseconds)
                    {
                        // Prometheus' OTLP receiver and the dashboard both want cumulative sums and histograms.
                        TemporalityPreference = MetricReaderTemporalityPreference.Cumulative,
                    };
                });
            }
        });

        telemetry.WithLogging(
            logging =>
            {
                foreach (var destination in OtlpDestinations.For(Signal.Logs, configuration, options))
                {
                    logging.AddProcessor(sp => BoundedExport.Processor(sp, destination, options.Export,
                        otlp => new OtlpLogExporter(otlp),
                        (exporter, b) => new BatchLogRecordExportProcessor(exporter, b.MaxQueueSize, b.DelayMs, b.TimeoutMs, b.MaxBatchSize),
                        ExportFilters.Always));
                }
            },
            logOptions =>
            {
                logOptions.IncludeFormattedMessage = true;
                logOptions.IncludeScopes = true;
            });

        return builder;
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

    private static TimeSpan? ExportIntervalFromEnvironment(IConfiguration configuration) =>
        int.TryParse(configuration["OTEL_METRIC_EXPORT_INTERVAL"], out var ms) && ms > 0 ? TimeSpan.FromMilliseconds(ms) : null;
}
