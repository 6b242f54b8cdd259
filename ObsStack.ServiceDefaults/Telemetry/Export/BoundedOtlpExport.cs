using Microsoft.Extensions.Configuration;
using OpenTelemetry.Exporter;
using OpenTelemetry.Logs;
using OpenTelemetry.Metrics;
using OpenTelemetry.Trace;

namespace ObsStack.ServiceDefaults.Telemetry.Export;

/// <summary>
/// One OTLP exporter per destination of a signal (the Aspire dashboard, the signal's backend), each bounded and
/// counted by its own <see cref="ExportGuard"/>: a spike or a dead backend drops and counts, never grows memory.
/// Built from the SDK's public types only: its batch processors (admission through the guard), its OTLP exporters
/// (their HTTP client reports each request's outcome) and its periodic metric reader.
/// </summary>
internal static class BoundedOtlpExport
{
    public static TracerProviderBuilder AddBoundedOtlpExporters(
        this TracerProviderBuilder tracing, IConfiguration configuration, TelemetryOptions options)
    {
        foreach (var destination in OtlpDestinations.For(Signal.Traces, configuration, options))
        {
            tracing.AddProcessor(services =>
            {
                var guard = ExportGuard.Create(services, destination, options.Export.MaxQueueSize);
                var exporter = new OtlpTraceExporter(destination.ToExporterOptions(options.Export.Timeout, guard));
                return new GuardedBatchActivityProcessor(exporter, guard, options.Export);
            });
        }

        return tracing;
    }

    public static LoggerProviderBuilder AddBoundedOtlpExporters(
        this LoggerProviderBuilder logging, IConfiguration configuration, TelemetryOptions options)
    {
        foreach (var destination in OtlpDestinations.For(Signal.Logs, configuration, options))
        {
            logging.AddProcessor(services =>
            {
                var guard = ExportGuard.Create(services, destination, options.Export.MaxQueueSize);
                var exporter = new OtlpLogExporter(destination.ToExporterOptions(options.Export.Timeout, guard));
                return new GuardedBatchLogRecordProcessor(exporter, guard, options.Export);
            });
        }

        return logging;
    }

    public static MeterProviderBuilder AddBoundedOtlpExporters(
        this MeterProviderBuilder metrics, IConfiguration configuration, TelemetryOptions options)
    {
        foreach (var destination in OtlpDestinations.For(Signal.Metrics, configuration, options))
        {
            var interval = destination.Name == OtlpDestinations.Dashboard
                ? ExportIntervalFromEnvironment(configuration) ?? options.Metrics.ExportInterval
                : options.Metrics.ExportInterval;
            metrics.AddReader(services =>
            {
                // A periodic reader holds no queue: it sends the current state each interval, so a dead backend
                // costs one failed export per interval, never memory.
                var guard = ExportGuard.Create(services, destination, capacity: null);
                var exporter = new OtlpMetricExporter(destination.ToExporterOptions(options.Export.Timeout, guard));
                return new PeriodicExportingMetricReader(exporter, (int)interval.TotalMilliseconds, options.Export.TimeoutMilliseconds())
                {
                    // Prometheus' OTLP receiver and the dashboard both want cumulative sums and histograms.
                    TemporalityPreference = MetricReaderTemporalityPreference.Cumulative,
                };
            });
        }

        return metrics;
    }

    private static TimeSpan? ExportIntervalFromEnvironment(IConfiguration configuration) =>
        int.TryParse(configuration["OTEL_METRIC_EXPORT_INTERVAL"], out var ms) && ms > 0 ? TimeSpan.FromMilliseconds(ms) : null;
}
