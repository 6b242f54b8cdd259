namespace ObsStack.Api.Chaos;

/// <summary>
/// The incident knobs in force: extra latency on every <c>GET /data/{id}</c>, and the shares of those requests that
/// fail with 500 or throw an unhandled exception. Immutable; <see cref="ChaosState"/> swaps whole instances.
/// </summary>
public sealed record ChaosSettings(int LatencyMs, double ErrorRate, double ExceptionRate, DateTimeOffset? ExpiresAt)
{
    /// <summary>Far below the worker's 10 s job timeout and the api's 30 s request deadline: a slow drill, not an outage.</summary>
    public const int MaxLatencyMs = 5_000;

    /// <summary>How long a change lasts when <c>durationSeconds</c> is omitted: a forgotten drill ends by itself.</summary>
    public const int DefaultDurationSeconds = 5 * 60;

    /// <summary>The longest any change lasts.</summary>
    public const int MaxDurationSeconds = 60 * 60;

    public static readonly ChaosSettings Off = new(0, 0, 0, null);

    public bool IsActive => LatencyMs > 0 || ErrorRate > 0 || ExceptionRate > 0;
}

/// <summary>Thrown by the chaos knobs inside <c>GET /data/{id}</c>: the unhandled exception the recovery middleware must turn into a 500.</summary>
public sealed class ChaosException(string message) : Exception(message);
