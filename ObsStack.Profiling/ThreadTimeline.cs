using System.Collections.Concurrent;
using System.Diagnostics;

namespace ObsStack.Profiling;

/// <summary>
/// One thread's recent history of "which local root span am I working for": a ring of (timestamp, span) entries,
/// written only by its thread, read by the profiler's reader.
/// </summary>
internal sealed class ThreadTimeline
{
    /// <summary>
    /// Entries per thread (16 bytes each, 128 KiB per thread that ever worked for a span). The reader trails real
    /// time by the EventPipe flush delay (~0.1-1 s); a thread switching spans faster than this many times in that
    /// delay loses labels on its oldest samples, never gets wrong ones.
    /// </summary>
    internal const int Capacity = 8192;

    // Entries this close to being overwritten are not trusted by the reader: the writer may be at them right now.
    private const int Margin = 64;
    private const int Mask = Capacity - 1;

    private static readonly ConcurrentDictionary<int, WeakReference<ThreadTimeline>> s_all = new();
    private static int s_lastId;
    private static int s_generation;

    [ThreadStatic] private static ThreadTimeline? t_current;

    private readonly long[] _ticks = new long[Capacity];
    private readonly long[] _spans = new long[Capacity];
    private readonly WeakReference<Thread> _thread = new(Thread.CurrentThread);
    private long _count;
    private long _last;
    private int _announced;

    private ThreadTimeline(int id) => Id = id;

    public int Id { get; }

    /// <summary>The current thread's timeline id; 0 while it has none.</summary>
    public static int CurrentId => t_current?.Id ?? 0;

    /// <summary>False once its thread has ended: the OS may then give the thread id to a new thread.</summary>
    public bool IsLive => _thread.TryGetTarget(out var thread) && thread.IsAlive;

    /// <summary>Call before a new session is enabled: every thread announces its timeline to it on its next change.</summary>
    public static void NewSession() => Interlocked.Increment(ref s_generation);

    public static ThreadTimeline? Find(int id) =>
        s_all.TryGetValue(id, out var weak) && weak.TryGetTarget(out var timeline) ? timeline : null;

    /// <summary>Forgets timelines of threads that have ended (their arrays are garbage once their thread is gone).</summary>
    public static void Prune()
    {
        foreach (var (id, weak) in s_all)
        {
            if (!weak.TryGetTarget(out var timeline) || !timeline.IsLive)
            {
                s_all.TryRemove(id, out _);
            }
        }
    }

    /// <summary>The current thread now works for <paramref name="span"/> (0: none).</summary>
    public static void Record(long span)
    {
        var timeline = t_current;
        if (timeline is null)
        {
            if (span == 0)
            {
                return; // Before its first span a thread works for none: nothing to write down.
            }

            timeline = t_current = new ThreadTimeline(Interlocked.Increment(ref s_lastId));
            s_all[timeline.Id] = new WeakReference<ThreadTimeline>(timeline);
        }

        if (timeline._last == span && timeline._count > 0)
        {
            return;
        }

        var index = timeline._count;
        timeline._ticks[index & Mask] = Stopwatch.GetTimestamp();
        timeline._spans[index & Mask] = span;
        timeline._last = span;
        Volatile.Write(ref timeline._count, index + 1);

        // EventPipe knows threads by OS thread id, managed code does not: the thread tells the session which timeline
        // is its own with one event, which EventPipe stamps with the OS thread id.
        var generation = Volatile.Read(ref s_generation);
        if (timeline._announced != generation && ProfilingEventSource.Log.IsEnabled())
        {
            timeline._announced = generation;
            ProfilingEventSource.Log.Timeline(timeline.Id);
        }
    }

    /// <summary>The span this thread worked for at <paramref name="ticks"/>; null when the ring no longer covers that instant.</summary>
    public long? SpanAt(long ticks)
    {
        var count = Volatile.Read(ref _count);
        if (count == 0)
        {
            return 0;
        }

        var oldest = Math.Max(0, count - Capacity + Margin);
        if (ticks < _ticks[oldest & Mask])
        {
            // Before the first entry ever written the thread worked for no span; before a recycled entry, unknown.
            return oldest == 0 ? 0 : null;
        }

        // The last entry at or before `ticks`: entries are in time order (one writer, monotonic clock).
        long low = oldest, high = count - 1;
        while (low < high)
        {
            var mid = (low + high + 1) / 2;
            if (_ticks[mid & Mask] <= ticks)
            {
                low = mid;
            }
            else
            {
                high = mid - 1;
            }
        }

        var span = _spans[low & Mask];
        // Written over while we looked? Then what we read may be a newer entry's: say nothing.
        return Volatile.Read(ref _count) - Capacity + Margin > low ? null : span;
    }
}
