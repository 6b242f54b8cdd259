using System.Buffers.Binary;
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
