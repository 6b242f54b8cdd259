using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Tracing;

namespace ObsStack.Profiling;

/// <summary>
/// Traces to profiles, the way Pyroscope's .NET SDK links them: a local root span carries the tag
/// <c>pyroscope.profile.id</c> = its span id, and every CPU sample taken while a thread works for that span carries the
/// pprof label <c>span_id</c> with the same 16 hex digits, so Grafana can ask Pyroscope for "the flame graph of this span".
/// <para>
/// Which span a thread works for changes at every await, so it must be known per thread at the instant of each
/// sample. <see cref="Activity.CurrentChanged"/> does not say it (it fires when an activity starts or stops, not when a
/// continuation restores an execution context on another thread). An <see cref="AsyncLocal{T}"/> with a change
/// handler does: the runtime calls the handler on the thread itself every time the value it sees changes, including
/// execution-context switches. The handler appends (timestamp, span) to that thread's <see cref="ThreadTimeline"/>, a
/// fixed-size ring in memory: a few tens of nanoseconds, no event, no stack walk (an EventPipe event per switch was
/// measured at ~5 µs, because EventPipe walks the stack of every EventSource event). The profiler's reader looks up
/// each sample's thread and timestamp in that timeline. Timestamps are <see cref="Stopwatch.GetTimestamp"/>, the same
/// monotonic clock EventPipe stamps events with, calibrated per session with <see cref="ProfilingEventSource.Clock"/>.
/// A sample whose instant the ring no longer covers gets no label: a label is either right or absent.
/// </para>
/// </summary>
internal sealed class SpanProfileLink : IDisposable
{
    public const string ProfileIdTag = "pyroscope.profile.id";

    private static readonly AsyncLocal<RootSpan?> s_root = new(OnRootChanged);

    private readonly ActivityListener _listener;

    public SpanProfileLink()
    {
        _listener = new ActivityListener
        {
            ShouldListenTo = _ => true,
            // None: this listener never asks for an activity to be created; sampling stays the tracer's decision.
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.None,
            SampleUsingParentId = (ref ActivityCreationOptions<string> _) => ActivitySamplingResult.None,
            ActivityStarted = OnStarted,
            ActivityStopped = OnStopped,
        };
        ActivitySource.AddActivityListener(_listener);
    }

    /// <summary>The id Pyroscope expects in <c>span_id</c>: the span id's 8 bytes, big-endian, so <c>x16</c> formatting equals <see cref="ActivitySpanId.ToHexString"/>.</summary>
    public static long ToSpanNumber(ActivitySpanId spanId)
    {
        Span<byte> bytes = stackalloc byte[8];
        spanId.CopyTo(bytes);
        return BinaryPrimitives.ReadInt64BigEndian(bytes);
    }

    public static string ToHex(long spanNumber) => spanNumber.ToString("x16");

    private static void OnStarted(Activity activity)
    {
        // A local root: nothing in this process is its parent (its parent, if any, is remote). Unrecorded spans are
        // never exported, so linking them would point at nothing.
        if (activity.Parent is not null || !activity.Recorded)
        {
            return;
        }

        // Only while a session samples: with duty cycling, a span started between sessions has no profile to link
        // to, and leaving the async local unset then also spares every execution-context switch of that request the
        // change notification (what this link costs a request thread, and between sessions there is nothing to pay for).
        if (!ProfilingEventSource.Log.IsEnabled())
        {
            return;
        }

        activity.SetTag(ProfileIdTag, activity.SpanId.ToHexString());

        // Same place and same execution context as Activity.Current, so the value flows exactly like it.
        s_root.Value = new RootSpan(ToSpanNumber(activity.SpanId), activity, s_root.Value);
    }

    private static void OnStopped(Activity activity)
    {
        if (s_root.Value is { } root && ReferenceEquals(root.Activity, activity))
        {
            s_root.Value = root.Previous;
        }
    }

    private static void OnRootChanged(AsyncLocalValueChangedArgs<RootSpan?> args)
    {
        // Runs on every execution-context switch that changes the value: must be cheap and must never throw.
        ThreadTimeline.Record(args.CurrentValue?.SpanNumber ?? 0);
    }

    public void Dispose() => _listener.Dispose();

    private sealed record RootSpan(long SpanNumber, Activity Activity, RootSpan? Previous);
}

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

/// <summary>
/// The profiler's own EventPipe provider. Enabled only by the profiler's session (with CPU and span profiles on):
/// <see cref="EventSource.IsEnabled()"/> is true exactly while such a session is live, which is also how tests observe
/// from the runtime's side whether one exists.
/// </summary>
[EventSource(Name = ProviderName)]
internal sealed class ProfilingEventSource : EventSource
{
    public const string ProviderName = "ObsStack-Profiling";
    public const int TimelineId = 1;
    public const int ClockId = 2;

    public static readonly ProfilingEventSource Log = new();

    private ProfilingEventSource()
    {
    }

    /// <summary>The current thread's span timeline is <paramref name="timelineId"/> (the event carries the OS thread id).</summary>
    [Event(TimelineId, Level = EventLevel.Informational)]
    public void Timeline(int timelineId) => WriteEvent(TimelineId, timelineId);

    /// <summary><see cref="Stopwatch.GetTimestamp"/> now: pairs the timelines' clock with the session's event timestamps.</summary>
    [Event(ClockId, Level = EventLevel.Informational)]
    public void Clock(long stopwatchTicks) => WriteEvent(ClockId, stopwatchTicks);
}
