namespace ObsStack.Profiling;

/// <summary>
/// One kind of profile as Pyroscope names it. Pyroscope derives the profile type id from the series' <c>__name__</c>
/// label and the pprof sample and period types: <c>{__name__}:{sample type}:{sample unit}:{period type}:{period unit}</c>,
/// one id per sample type (grafana/pyroscope pkg/phlaredb/labels/labels.go, CreateProfileLabels). The names below are
/// the ones Grafana's profile views already know from Pyroscope's own SDKs, so the flame graph panels and Tempo's
/// traces-to-profiles link find them without custom configuration.
/// </summary>
/// <param name="Key">Names the type in the profiler's own metrics (<c>profile.type</c>) and logs; unique, unlike <see cref="Name"/>.</param>
/// <param name="IsInstant">A reading at the end of the interval (live heap), not a sum over it: never scaled.</param>
internal sealed record ProfileType(
    string Key,
    string Name,
    IReadOnlyList<(string Type, string Unit)> SampleTypes,
    (string Type, string Unit) PeriodType,
    long Period,
    bool IsInstant = false)
{
    /// <summary>EventPipe's sample profiler walks every managed thread once per millisecond (fixed by the runtime).</summary>
    public const long CpuSamplingPeriodNanoseconds = 1_000_000;

    /// <summary>The runtime raises GCAllocationTick about once per 100 KiB allocated.</summary>
    public const long AllocationTickBytes = 100 * 1024;

    /// <summary><c>process_cpu:cpu:nanoseconds:cpu:nanoseconds</c>.</summary>
    public static readonly ProfileType Cpu = new(
        "process_cpu", "process_cpu", [("cpu", "nanoseconds")], ("cpu", "nanoseconds"), CpuSamplingPeriodNanoseconds);

    /// <summary><c>memory:alloc_objects:count:space:bytes</c> and <c>memory:alloc_space:bytes:space:bytes</c>.</summary>
    public static readonly ProfileType Allocations = new(
        "memory", "memory", [("alloc_objects", "count"), ("alloc_space", "bytes")], ("space", "bytes"), AllocationTickBytes);

    /// <summary><c>mutex:contentions:count:contentions:count</c> and <c>mutex:delay:nanoseconds:contentions:count</c>.</summary>
    public static readonly ProfileType LockContention = new(
        "mutex", "mutex", [("contentions", "count"), ("delay", "nanoseconds")], ("contentions", "count"), 1);

    /// <summary>
    /// <c>wall:wall:nanoseconds:wall:nanoseconds</c>, the id Pyroscope's Java and Node.js clients send for wall-clock
    /// time (the Go client has none): every managed thread, running or waiting.
    /// </summary>
    public static readonly ProfileType Wall = new(
        "wall", "wall", [("wall", "nanoseconds")], ("wall", "nanoseconds"), CpuSamplingPeriodNanoseconds);

    /// <summary>
    /// <c>process_cpu:exception:count:cpu:nanoseconds</c>: thrown exceptions by throw stack, the exception type as leaf.
    /// This is the id Pyroscope's own .NET profiler sends (its profile is one pprof named <c>process_cpu</c> whose
    /// sample types include <c>exception</c>), so Grafana's profile type picker lists it as .NET exceptions.
    /// </summary>
    public static readonly ProfileType Exceptions = new(
        "exceptions", "process_cpu", [("exception", "count")], ("cpu", "nanoseconds"), CpuSamplingPeriodNanoseconds);

    /// <summary>
    /// <c>memory:inuse_objects:count:space:bytes</c> and <c>memory:inuse_space:bytes:space:bytes</c> (the Go client's
    /// heap profile ids): objects and bytes alive at the end of an interval, by type. A point-in-time reading, so
    /// never scaled by duty cycling.
    /// </summary>
    public static readonly ProfileType LiveHeap = new(
        "memory_inuse", "memory", [("inuse_objects", "count"), ("inuse_space", "bytes")], ("space", "bytes"), 1, IsInstant: true);

    /// <summary>The Pyroscope profile type ids this type produces, e.g. <c>process_cpu:cpu:nanoseconds:cpu:nanoseconds</c>.</summary>
    public IEnumerable<string> Ids =>
        SampleTypes.Select(s => $"{Name}:{s.Type}:{s.Unit}:{PeriodType.Type}:{PeriodType.Unit}");
}
