using System.Diagnostics;
using System.Runtime.InteropServices;
using Microsoft.Diagnostics.Tracing;

namespace ObsStack.Profiling;

/// <summary>
/// Tells, for a sample, which local root span its thread was working for (see <see cref="SpanProfileLink"/>): the
/// session's events carry their own clock, the threads' timelines are kept in <see cref="Stopwatch"/> ticks, and the
/// profiler's own EventSource pairs the two.
/// </summary>
internal sealed class SpanClock
{
    private static readonly Guid s_profilingProvider = ProfilingEventSource.Log.Guid;

    // OS thread id -> that thread's timeline, as announced by the thread itself.
    private readonly Dictionary<int, ThreadTimeline?> _timelines = [];
    private readonly double _ticksPerMs = Stopwatch.Frequency / 1000.0;
    private double _clockOffsetTicks = double.NaN;

    public void Subscribe(TraceEventDispatcher source) => source.AllEvents += OnAnyEvent;

    /// <summary>The local root span thread <paramref name="threadId"/> worked for at that instant; 0 when none or unknown.</summary>
    public long SpanAt(int threadId, double timestampMs)
    {
        if (double.IsNaN(_clockOffsetTicks)
            || !_timelines.TryGetValue(threadId, out var timeline)
            || timeline is not { IsLive: true })
        {
            return 0;
        }

        return timeline.SpanAt((long)(_clockOffsetTicks + timestampMs * _ticksPerMs)) ?? 0;
    }

    private void OnAnyEvent(TraceEvent data)
    {
        if (data.ProviderGuid != s_profilingProvider)
        {
            return;
        }

        // TraceLog's real-time source has no template for a self-describing EventSource event, so the payload (one
        // integer, written in this process's byte order) is read directly.
        switch ((int)data.ID)
        {
            case ProfilingEventSource.TimelineId when data.EventDataLength >= sizeof(int):
                _timelines[data.ThreadID] = ThreadTimeline.Find(Marshal.ReadInt32(data.DataStart));
                break;
            case ProfilingEventSource.ClockId when data.EventDataLength >= sizeof(long):
                _clockOffsetTicks = Marshal.ReadInt64(data.DataStart) - data.TimeStampRelativeMSec * _ticksPerMs;
                break;
        }
    }
}
