namespace ObsStack.Profiling;

/// <summary>
/// Leaves the profiler's own work out of the profiles and keeps count of what it left out, per profile type.
/// <para>
/// The profiler reads the session only while the session samples, so in a duty-cycled profile scaled to the whole
/// interval its own threads would be counted many times over what they cost (34% of CPU and 87% of allocated bytes in
/// a loaded worker's profiles, measured before they were left out: docs/profiling.md). Their real cost is measured
/// from outside, by the benchmark suites.
/// </para>
/// </summary>
internal sealed class OwnWorkFilter
{
    // Named from the code, so that renaming the namespace cannot silently stop the filtering.
    private static readonly string s_ownNamespace = typeof(OwnWorkFilter).Namespace + ".";

    private readonly Dictionary<Frame[], bool> _profilerOwn = new(ReferenceEqualityComparer.Instance);
    private readonly Dictionary<string, (double Kept, double Left)> _totals = [];

    /// <summary>The stack when it is the service's, null when it is the profiler's own; either way counted.</summary>
    public Frame[]? Keep(ProfileType type, Frame[] stack, double value)
    {
        var own = IsProfilerOwn(stack);
        var (kept, left) = _totals.GetValueOrDefault(type.Key);
        _totals[type.Key] = own ? (kept, left + value) : (kept + value, left);
        return own ? null : stack;
    }

    /// <summary>What was left out as a share of all that was recorded, per profile type key.</summary>
    public void ReportTo(Dictionary<string, double> shares)
    {
        foreach (var (key, (kept, left)) in _totals)
        {
            shares[key] = kept + left > 0 ? left / (kept + left) : 0;
        }
    }

    /// <summary>
    /// A stack of the profiler's own threads: the session reader (TraceEvent), the profiler loop that encodes, the
    /// uploader, the clock timer. Frames of <see cref="ThreadTimeline"/> and <see cref="SpanProfileLink"/> stay: they
    /// run on the service's own threads when a span starts, a cost the service really pays, small and labelled by name.
    /// </summary>
    private bool IsProfilerOwn(Frame[] stack)
    {
        if (_profilerOwn.TryGetValue(stack, out var own))
        {
            return own;
        }

        foreach (var frame in stack)
        {
            var name = frame.Function;
            if (name.StartsWith("Microsoft.Diagnostics.", StringComparison.Ordinal)
                || (name.StartsWith(s_ownNamespace, StringComparison.Ordinal)
                    && !name.StartsWith(s_ownNamespace + nameof(ThreadTimeline), StringComparison.Ordinal)
                    && !name.StartsWith(s_ownNamespace + nameof(SpanProfileLink), StringComparison.Ordinal)))
            {
                own = true;
                break;
            }
        }

        _profilerOwn[stack] = own;
        return own;
    }
}
