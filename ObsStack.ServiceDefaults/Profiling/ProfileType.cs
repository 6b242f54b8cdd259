namespace ObsStack.ServiceDefaults.Profiling;

/// <summary>
/// One kind of profile as Pyroscope names it. Pyroscope derives the profile type id from the series' <c>__name__</c>
/// label and the pprof sample and period types: <c>{__name__}:{sample type}:{sample unit}:{period type}:{period unit}</c>,
/// one id per sample type (grafana/pyroscope pkg/phlaredb/labels/labels.go, CreateProfileLabels). The names below are
/// the ones Grafana's profile views already know from Pyroscope's own SDKs, so the flame graph panels and Tempo's
/// traces-to-profiles link find them without custom configuration.
/// </summary>
internal sealed record ProfileType(
    string Name,
    IReadOnlyList<(string Type, string Unit)> SampleTypes,
    (string Type, string Unit) PeriodType,
    long Period)
{
    /// <summary>EventPipe's sample profiler walks every managed thread once per millisecond (fixed by the runtime).</summary>
    public const long CpuSamplingPeriodNanoseconds = 1_000_000;

    /// <summary>The runtime raises GCAllocationTick about once per 100 KiB allocated.</summary>
    public const long AllocationTickBytes = 100 * 1024;

    /// <summary><c>process_cpu:cpu:nanoseconds:cpu:nanoseconds</c>.</summary>
    public static readonly ProfileType Cpu = new(
        "process_cpu", [("cpu", "nanoseconds")], ("cpu", "nanoseconds"), CpuSamplingPeriodNanoseconds);

    /// <summary><c>memory:alloc_objects:count:space:bytes</c> and <c>memory:alloc_space:bytes:space:bytes</c>.</summary>
    public static readonly ProfileType Allocations = new(
        "memory", [("alloc_objects", "count"), ("alloc_space", "bytes")], ("space", "bytes"), AllocationTickBytes);

    /// <summary><c>mutex:contentions:count:contentions:count</c> and <c>mutex:delay:nanoseconds:contentions:count</c>.</summary>
    public static readonly ProfileType LockContention = new(
        "mutex", [("contentions", "count"), ("delay", "nanoseconds")], ("contentions", "count"), 1);

    /// <summary>The Pyroscope profile type ids this type produces, e.g. <c>process_cpu:cpu:nanoseconds:cpu:nanoseconds</c>.</summary>
    public IEnumerable<string> Ids =>
        SampleTypes.Select(s => $"{Name}:{s.Type}:{s.Unit}:{PeriodType.Type}:{PeriodType.Unit}");
}
