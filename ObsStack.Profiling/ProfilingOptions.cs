using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;

namespace ObsStack.Profiling;

/// <summary>
/// Continuous profiling, bound from <c>Telemetry:Profiles</c>. The profiler runs only when <see cref="Enabled"/> is
/// true and <see cref="PyroscopeEndpoint"/> is set; without an endpoint no EventPipe session is opened at all.
/// </summary>
public sealed class ProfilingOptions
{
    public const string SectionName = "Telemetry:Profiles";

    /// <summary>Master switch. <c>false</c> keeps the profiler from opening any EventPipe session.</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>Pyroscope's base URL, e.g. <c>http://localhost:4040</c>; profiles go to <c>{base}/push.v1.PusherService/Push</c>.</summary>
    public string? PyroscopeEndpoint { get; set; }

    /// <summary>How often a profile of each type is built and pushed.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "00:10:00", ErrorMessage = "Telemetry:Profiles:UploadInterval must be between 00:00:01 and 00:10:00.")]
    public TimeSpan UploadInterval { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>
    /// How much of each <see cref="UploadInterval"/> is actually sampled (duty cycling): a session per interval that
    /// samples this long, its values scaled up by interval / duration so totals estimate the whole interval. A value
    /// of at least <see cref="UploadInterval"/> samples the whole interval (sessions back to back). The default keeps
    /// the runtime's 1 kHz stop-the-world sampler on for one second per interval instead of all the time: as many
    /// samples per interval as a 67 Hz continuous sampler would take, at a fraction of the cost (measured in the
    /// docs/performance.md).
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:01", "01:00:00", ErrorMessage = "Telemetry:Profiles:SamplingDuration must be between 00:00:01 and 01:00:00.")]
    public TimeSpan SamplingDuration { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>On-CPU managed stacks (<c>process_cpu</c>).</summary>
    public bool Cpu { get; set; } = true;

    /// <summary>Allocated bytes and objects by stack (<c>memory</c>), from the runtime's GC allocation ticks.</summary>
    public bool Allocations { get; set; } = true;

    /// <summary>Monitor lock contention by stack (<c>mutex</c>).</summary>
    public bool LockContention { get; set; } = true;

    /// <summary>Wall-clock time of every managed thread, running or waiting (<c>wall</c>), from the same samples as CPU.</summary>
    public bool Wall { get; set; } = true;

    /// <summary>Thrown exceptions by type and throw stack (<c>process_cpu:exception</c>, as Pyroscope's .NET profiler names it).</summary>
    public bool Exceptions { get; set; } = true;

    /// <summary>
    /// Objects and bytes alive at the end of each interval, by type (<c>memory:inuse_*</c>): a heap walk after an induced
    /// full blocking GC. Off by default: the walk's cost grows with the heap and each one is a full GC pause (measured in
    /// docs/profiling.md).
    /// </summary>
    public bool LiveHeap { get; set; }

    /// <summary>Label root spans with <c>pyroscope.profile.id</c> and CPU samples with <c>span_id</c> (traces to profiles).</summary>
    public bool SpanProfiles { get; set; } = true;

    internal Uri? PushUri => Uri.TryCreate(PyroscopeEndpoint, UriKind.Absolute, out var baseUri)
        ? new Uri(baseUri.AbsoluteUri.TrimEnd('/') + "/push.v1.PusherService/Push")
        : null;

    internal TimeSpan EffectiveSamplingDuration => SamplingDuration < UploadInterval ? SamplingDuration : UploadInterval;

    internal bool IsContinuous => EffectiveSamplingDuration >= UploadInterval;

    internal bool IsActive => Enabled && !string.IsNullOrWhiteSpace(PyroscopeEndpoint) && (Cpu || Wall || Allocations || LockContention || Exceptions || LiveHeap);

    /// <summary>The runtime's sample profiler feeds both CPU and wall-clock profiles.</summary>
    internal bool NeedsThreadSamples => Cpu || Wall;

    /// <summary>Span links ride on CPU samples only: without the CPU profile there is nothing to label.</summary>
    internal bool LabelsSpans => SpanProfiles && Cpu;
}
