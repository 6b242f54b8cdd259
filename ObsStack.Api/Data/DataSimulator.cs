using System.Diagnostics;
using Microsoft.Extensions.Options;

namespace ObsStack.Api.Data;

public sealed record DataItem(int Id, string Value, double LatencyMs);

/// <summary>
/// The simulated work behind <c>GET /data/{id}</c>, in the shape of the Go original's data handler: span events around a
/// "long running task" on the server span, the task itself as a child span, one structured log line with the id, and
/// the latency distribution and error rate of <see cref="DataOptions"/>.
/// </summary>
public sealed partial class DataSimulator(IOptions<DataOptions> options, ApiTelemetry telemetry, ILogger<DataSimulator> logger)
{
    private readonly DataOptions _options = options.Value;

    /// <summary>The item, or null when the simulated error rate hit (the server span is then marked as an error).</summary>
    public async Task<DataItem?> LoadAsync(int id, CancellationToken cancellationToken)
    {
        var server = Activity.Current;
        var latency = NextLatencyMs();
        var started = Stopwatch.GetTimestamp();

        server?.AddEvent(new ActivityEvent("long running task started", tags: new ActivityTagsCollection { ["data.id"] = id }));
        using (var step = telemetry.Source.StartActivity(ApiTelemetry.LoadDataSpan))
        {
            step?.SetTag("data.id", id);
            step?.SetTag("data.latency_ms", latency);
            await Task.Delay(latency, cancellationToken);
        }

        // Rounded as the log messages show it ({DurationMs:0.0}): a JSON field of 122.3, not 122.28559999999999.
        var elapsedMs = Math.Round(Stopwatch.GetElapsedTime(started).TotalMilliseconds, 1);
        server?.AddEvent(new ActivityEvent("long running task finished",
            tags: new ActivityTagsCollection { ["data.id"] = id, ["duration_ms"] = elapsedMs }));

        if (Random.Shared.NextDouble() < _options.ErrorRate)
        {
            telemetry.DataRequests.Add(1, new KeyValuePair<string, object?>("outcome", DataOutcome.Error));
            server?.SetStatus(ActivityStatusCode.Error, $"simulated failure ({DataOptions.SectionName}:ErrorRate {_options.ErrorRate})");
            LogFailed(id, elapsedMs, _options.ErrorRate);
            return null;
        }

        telemetry.DataRequests.Add(1, new KeyValuePair<string, object?>("outcome", DataOutcome.Success));
        LogServed(id, elapsedMs);
        return new DataItem(id, $"item-{id}", elapsedMs);
    }

    /// <summary>Uniform between min and max; a slow share uniform between max and the slow latency: a body and a tail.</summary>
    private int NextLatencyMs()
    {
        var (min, max) = (_options.MinLatencyMs, _options.MaxLatencyMs);
        return Random.Shared.NextDouble() < _options.SlowRequestRatio
            ? Random.Shared.Next(max, Math.Max(max, _options.SlowLatencyMs) + 1)
            : Random.Shared.Next(min, max + 1);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Data {DataId} served in {DurationMs:0.0} ms")]
    private partial void LogServed(int dataId, double durationMs);

    [LoggerMessage(Level = LogLevel.Warning,
        Message = "Data {DataId} failed after {DurationMs:0.0} ms: simulated error (Data:ErrorRate {ErrorRate})")]
    private partial void LogFailed(int dataId, double durationMs, double errorRate);
}
