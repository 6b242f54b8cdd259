using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Configuration;
using ObsStack.ServiceDefaults.Telemetry.Export;
using OpenTelemetry.Metrics;

namespace ObsStack.ServiceDefaults.Telemetry;

/// <summary>The <c>Telemetry</c> configuration section. Every destination is optional and independent.</summary>
internal sealed class TelemetryOptions
{
    public const string SectionName = "Telemetry";

    public SignalOptions Traces { get; set; } = new();

    public SignalOptions Logs { get; set; } = new();

    public MetricsSignalOptions Metrics { get; set; } = new();

    public ExportOptions Export { get; set; } = new();

    /// <summary>Ratio of root traces kept (0..1). <c>OTEL_TRACES_SAMPLER</c>/<c>_ARG</c> take precedence when set.</summary>
    [Range(0.0, 1.0, ErrorMessage = "Telemetry:SamplingRatio must be between 0 and 1.")]
    public double SamplingRatio { get; set; } = 1.0;

    /// <summary>
    /// Histogram points keep the trace of a sampled measurement (the exemplars behind "metric spike → trace") wherever
    /// they can be seen: OTLP to Prometheus or the dashboard. <c>/metrics</c> is the text format without exemplars, so
    /// with no OTLP metrics destination none are collected (ExemplarTests; docs/performance.md, Reach).
    /// </summary>
    internal ExemplarFilterType ExemplarFilter(IConfiguration configuration) =>
        Metrics.Exemplars && OtlpDestinations.For(Signal.Metrics, configuration, this).Count > 0
            ? ExemplarFilterType.TraceBased
            : ExemplarFilterType.AlwaysOff;
}

/// <summary>Sections of <see cref="TelemetryOptions"/> that are validated on their own (data annotations do not recurse).</summary>
internal static class TelemetrySections
{
    public const string Metrics = "Telemetry:Metrics";
    public const string Export = "Telemetry:Export";
}

internal class SignalOptions
{
    /// <summary>Full OTLP http/protobuf URL of a backend for this signal (Tempo, Loki, Prometheus), or null.</summary>
    public Uri? OtlpEndpoint { get; set; }
}

internal sealed class MetricsSignalOptions : SignalOptions
{
    /// <summary>How often metrics are pushed to <see cref="SignalOptions.OtlpEndpoint"/> (Prometheus' OTLP receiver).</summary>
    [Range(typeof(TimeSpan), "00:00:01", "00:10:00",
        ErrorMessage = "Telemetry:Metrics:ExportInterval must be between 00:00:01 and 00:10:00.")]
    public TimeSpan ExportInterval { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>
    /// Trace-based exemplars on histogram points exported over OTLP (to <see cref="SignalOptions.OtlpEndpoint"/> and
    /// the dashboard). False records none; with no OTLP metrics destination none are recorded either way.
    /// </summary>
    public bool Exemplars { get; set; } = true;
}

/// <summary>Bounds of every trace and log exporter queue: a spike drops (and counts), it never grows memory.</summary>
internal sealed class ExportOptions
{
    [Range(16, 1_000_000, ErrorMessage = "Telemetry:Export:MaxQueueSize must be between 16 and 1000000.")]
    public int MaxQueueSize { get; set; } = 2048;

    [Range(1, 100_000, ErrorMessage = "Telemetry:Export:MaxBatchSize must be between 1 and 100000.")]
    public int MaxBatchSize { get; set; } = 512;

    [Range(typeof(TimeSpan), "00:00:00.050", "00:01:00",
        ErrorMessage = "Telemetry:Export:ScheduledDelay must be between 00:00:00.050 and 00:01:00.")]
    public TimeSpan ScheduledDelay { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>Longest a single export may take; a hung backend costs at most this per batch, off the request path.</summary>
    [Range(typeof(TimeSpan), "00:00:00.100", "00:01:00",
        ErrorMessage = "Telemetry:Export:Timeout must be between 00:00:00.100 and 00:01:00.")]
    public TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>A batch never holds more than the queue does (the SDK refuses a batch size above its queue).</summary>
    internal int EffectiveMaxBatchSize() => Math.Min(MaxBatchSize, MaxQueueSize);

    internal int ScheduledDelayMilliseconds() => (int)ScheduledDelay.TotalMilliseconds;

    internal int TimeoutMilliseconds() => (int)Timeout.TotalMilliseconds;
}
