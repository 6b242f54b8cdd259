using System.Diagnostics;

namespace ObsStack.Api.Chaos;

public enum ChaosFault
{
    None,
    Error,
}

/// <summary>
/// Applies the chaos knobs to one <c>GET /data/{id}</c>: first the injected latency (its own span), then one roll
/// that either throws <see cref="ChaosException"/> (exception rate), asks for a 500 (error rate) or lets the request
/// through. Every injected failure marks the server span as an error and says in the logs that chaos caused it.
/// </summary>
public sealed partial class ChaosInjector(ChaosState state, ApiTelemetry telemetry, ILogger<ChaosInjector> logger)
{
    public async Task<ChaosFault> InjectAsync(int dataId, CancellationToken cancellationToken)
    {
        var settings = state.Current;
        if (!settings.IsActive)
        {
            return ChaosFault.None;
        }

        var server = Activity.Current;
        if (settings.LatencyMs > 0)
        {
            using var span = telemetry.Source.StartActivity(ApiTelemetry.ChaosLatencySpan);
            span?.SetTag("chaos.latency_ms", settings.LatencyMs);
            await Task.Delay(settings.LatencyMs, cancellationToken);
        }

        var roll = Random.Shared.NextDouble();
        if (roll < settings.ExceptionRate)
        {
            telemetry.DataRequests.Add(1, new KeyValuePair<string, object?>("outcome", DataOutcome.ChaosException));
            // Thrown, not returned: this is the failure the recovery middleware exists for.
            throw new ChaosException(
                $"Chaos injected an exception into GET /data/{dataId} (exceptionRate {settings.ExceptionRate}); DELETE /chaos ends it.");
        }

        if (roll < settings.ExceptionRate + settings.ErrorRate)
        {
            telemetry.DataRequests.Add(1, new KeyValuePair<string, object?>("outcome", DataOutcome.ChaosError));
            server?.SetStatus(ActivityStatusCode.Error, $"chaos: injected error (errorRate {settings.ErrorRate})");
            LogInjectedError(dataId, settings.ErrorRate);
            return ChaosFault.Error;
        }

        return ChaosFault.None;
    }

    [LoggerMessage(Level = LogLevel.Warning,
        Message = "Data {DataId} failed: chaos injected an error (errorRate {ErrorRate}); DELETE /chaos ends it")]
    private partial void LogInjectedError(int dataId, double errorRate);
}
