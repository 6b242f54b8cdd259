using System.Diagnostics;
using System.Diagnostics.Tracing;

namespace ObsStack.Profiling;

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
