using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace ObsStack.ServiceDefaults.Telemetry;

/// <summary>ServiceDefaults' own instruments: what the telemetry pipeline itself dropped, and process uptime.</summary>
internal sealed class TelemetryInstruments
{
    public const string MeterName = "ObsStack.ServiceDefaults";

    private static readonly long StartTimestamp = Process.GetCurrentProcess().StartTime.ToUniversalTime().Ticks;

    public TelemetryInstruments(IMeterFactory meterFactory)
    {
        var meter = meterFactory.Create(MeterName);

        ExportDropped = meter.CreateCounter<long>(
            "telemetry.export.dropped", "{item}",
            "Spans, log records or metric points dropped because an exporter's queue was full or its backend failed.");

        // Semantic-conventions process.uptime; a drop in it marks a (re)start, which the dashboards annotate.
        meter.CreateObservableGauge(
            "process.uptime",
            () => TimeSpan.FromTicks(DateTime.UtcNow.Ticks - StartTimestamp).TotalSeconds,
            "s",
            "Seconds since the process started.");
    }

    public Counter<long> ExportDropped { get; }
}
