using System.Diagnostics.Metrics;

namespace ObsStack.Profiling;

/// <summary>The profiler's own health, on meter <c>ObsStack.Profiling</c> (add it to the metrics pipeline by name).</summary>
internal sealed class ProfilingTelemetry
{
    public const string MeterName = "ObsStack.Profiling";

    private readonly Counter<long> _uploads;
    private readonly Counter<long> _dropped;
    private readonly Counter<long> _eventsLost;

    public ProfilingTelemetry(IMeterFactory meterFactory)
    {
        var meter = meterFactory.Create(MeterName);
        _uploads = meter.CreateCounter<long>("profiler.uploads", "{profile}", "Profiles accepted by Pyroscope.");
        _dropped = meter.CreateCounter<long>("profiler.uploads.dropped", "{profile}",
            "Profiles dropped instead of pushed: Pyroscope unreachable or rejecting them, or replaced by a newer profile while waiting.");
        _eventsLost = meter.CreateCounter<long>("profiler.events.lost", "{event}",
            "EventPipe events the runtime dropped because the profiler read them too slowly (its buffer is bounded).");
    }

    public void Uploaded(ProfileType type) => _uploads.Add(1, new KeyValuePair<string, object?>("profile.type", type.Key));

    /// <param name="reason"><c>unreachable</c>, <c>rejected</c>, <c>backoff</c> or <c>superseded</c>.</param>
    public void Dropped(ProfileType type, string reason) => _dropped.Add(1,
        new KeyValuePair<string, object?>("profile.type", type.Key),
        new KeyValuePair<string, object?>("reason", reason));

    public void EventsLost(long count)
    {
        if (count > 0)
        {
            _eventsLost.Add(count);
        }
    }
}
