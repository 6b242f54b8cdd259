namespace ObsStack.Profiling;

/// <summary>
/// Sums samples by (stack, span) for the current interval. A session adds its totals when it ends; the profiler loop
/// takes a snapshot once per interval and starts over, so memory is bounded by the distinct stacks of one interval.
/// Stacks arrive interned (one array per distinct stack), so they are compared by reference.
/// </summary>
internal sealed class ProfileRecorder(ProfilingOptions options)
{
    /// <summary>
    /// Distinct (stack, span) keys kept per profile per interval. Span labels multiply keys by the number of requests;
    /// past this bound new spans' samples are still counted, only without their span label.
    /// </summary>
    internal const int MaxSpanKeys = 20_000;

    private readonly Lock _gate = new();
    private readonly ProfileType[] _types = EnabledTypes(options);
    private Dictionary<(Frame[] Stack, long Span), long[]>[] _samples = NewTables(EnabledTypes(options).Length);

    public IReadOnlyList<ProfileType> Types => _types;

    public void AddCpu(Frame[] stack, long spanNumber, long nanoseconds) =>
        Add(ProfileType.Cpu, stack, spanNumber, nanoseconds, 0);

    public void AddWall(Frame[] stack, long spanNumber, long nanoseconds) =>
        Add(ProfileType.Wall, stack, spanNumber, nanoseconds, 0);

    public void AddException(Frame[] stack, long count) =>
        Add(ProfileType.Exceptions, stack, 0, count, 0);

    public void AddLiveHeap(Frame[] stack, long objects, long bytes) =>
        Add(ProfileType.LiveHeap, stack, 0, objects, bytes);

    public void AddAllocation(Frame[] stack, long objects, long bytes) =>
        Add(ProfileType.Allocations, stack, 0, objects, bytes);

    public void AddContention(Frame[] stack, long count, long nanoseconds) =>
        Add(ProfileType.LockContention, stack, 0, count, nanoseconds);

    /// <summary>
    /// Everything recorded since the previous call, one snapshot per enabled type, and a fresh start.
    /// <paramref name="scale"/> multiplies every value: duty cycling samples a fraction of the interval and scales up so
    /// totals estimate the whole interval.
    /// </summary>
    public IReadOnlyList<ProfileSnapshot> TakeSnapshots(DateTimeOffset start, TimeSpan duration, double scale = 1.0)
    {
        Dictionary<(Frame[] Stack, long Span), long[]>[] taken;
        lock (_gate)
        {
            taken = _samples;
            _samples = NewTables(_types.Length);
        }

        var snapshots = new List<ProfileSnapshot>(_types.Length);
        for (var i = 0; i < _types.Length; i++)
        {
            var samples = new List<ProfileSample>(taken[i].Count);
            foreach (var ((stack, span), values) in taken[i])
            {
                if (scale != 1.0 && !_types[i].IsInstant)
                {
                    for (var v = 0; v < values.Length; v++)
                    {
                        values[v] = (long)Math.Round(values[v] * scale);
                    }
                }

                samples.Add(new ProfileSample(stack, values, span));
            }

            snapshots.Add(new ProfileSnapshot(_types[i], start, duration, samples));
        }

        return snapshots;
    }

    private void Add(ProfileType type, Frame[] stack, long spanNumber, long value0, long value1)
    {
        var index = Array.IndexOf(_types, type);
        if (index < 0)
        {
            return;
        }

        lock (_gate)
        {
            var table = _samples[index];
            if (spanNumber != 0 && table.Count >= MaxSpanKeys && !table.ContainsKey((stack, spanNumber)))
            {
                spanNumber = 0;
            }

            if (!table.TryGetValue((stack, spanNumber), out var values))
            {
                values = new long[type.SampleTypes.Count];
                table[(stack, spanNumber)] = values;
            }

            values[0] += value0;
            if (values.Length > 1)
            {
                values[1] += value1;
            }
        }
    }

    private static ProfileType[] EnabledTypes(ProfilingOptions options) =>
    [
        .. options.Cpu ? [ProfileType.Cpu] : Array.Empty<ProfileType>(),
        .. options.Wall ? [ProfileType.Wall] : Array.Empty<ProfileType>(),
        .. options.Allocations ? [ProfileType.Allocations] : Array.Empty<ProfileType>(),
        .. options.LiveHeap ? [ProfileType.LiveHeap] : Array.Empty<ProfileType>(),
        .. options.LockContention ? [ProfileType.LockContention] : Array.Empty<ProfileType>(),
        .. options.Exceptions ? [ProfileType.Exceptions] : Array.Empty<ProfileType>(),
    ];

    private static Dictionary<(Frame[] Stack, long Span), long[]>[] NewTables(int count) =>
        Enumerable.Range(0, count).Select(_ => new Dictionary<(Frame[] Stack, long Span), long[]>(InternedStackKeyComparer.Instance)).ToArray();
}
