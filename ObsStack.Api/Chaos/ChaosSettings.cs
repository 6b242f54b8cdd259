namespace ObsStack.Api.Chaos;

/// <summary>
/// The incident knobs in force: extra latency on every <c>GET /data/{id}</c>, and the shares of those requests that
/// fail with 500 or throw an unhandled exception. Immutable; <see cref="ChaosState"/> swaps whole instances.
/// </summary>
public sealed record ChaosSettings(int LatencyMs, double ErrorRate, double ExceptionRate, DateTimeOffset? ExpiresAt)
{
    public const int MaxLatencyMs = 60_000;
    public const int MaxDurationSeconds = 24 * 60 * 60;

    public static readonly ChaosSettings Off = new(0, 0, 0, null);

    public bool IsActive => LatencyMs > 0 || ErrorRate > 0 || ExceptionRate > 0;
}

/// <summary>Thrown by the chaos knobs inside <c>GET /data/{id}</c>: the unhandled exception the recovery middleware must turn into a 500.</summary>
public sealed class ChaosException(string message) : Exception(message);
