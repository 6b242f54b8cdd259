namespace ObsStack.Api.Chaos;

/// <summary>
/// The chaos knobs of this process (each api instance has its own). Every setting has an expiry and switches itself
/// off: a forgotten drill does not stay an incident.
/// </summary>
public sealed partial class ChaosState(TimeProvider time, ILogger<ChaosState> logger)
{
    private ChaosSettings _settings = ChaosSettings.Off;

    public ChaosSettings Current
    {
        get
        {
            var settings = Volatile.Read(ref _settings);
            if (settings.ExpiresAt is { } expiresAt && time.GetUtcNow() >= expiresAt)
            {
                // Only the reader that makes the swap logs it.
                if (ReferenceEquals(Interlocked.CompareExchange(ref _settings, ChaosSettings.Off, settings), settings))
                {
                    LogExpired(expiresAt);
                }

                return ChaosSettings.Off;
            }

            return settings;
        }
    }

    public ChaosSettings Set(int latencyMs, double errorRate, double exceptionRate, TimeSpan duration)
    {
        var settings = new ChaosSettings(latencyMs, errorRate, exceptionRate, time.GetUtcNow() + duration);
        Volatile.Write(ref _settings, settings);
        if (settings.IsActive)
        {
            LogSet(latencyMs, errorRate, exceptionRate, settings.ExpiresAt!.Value.ToString("O"));
        }
        else
        {
            LogReset();
        }

        return settings;
    }

    public ChaosSettings Reset()
    {
        Volatile.Write(ref _settings, ChaosSettings.Off);
        LogReset();
        return ChaosSettings.Off;
    }

    [LoggerMessage(Level = LogLevel.Warning,
        Message = "Chaos knobs set: +{LatencyMs} ms latency, error rate {ErrorRate}, exception rate {ExceptionRate} on GET /data/{{id}}, until {Until}")]
    private partial void LogSet(int latencyMs, double errorRate, double exceptionRate, string until);

    [LoggerMessage(Level = LogLevel.Information, Message = "Chaos knobs reset: GET /data/{{id}} runs normally")]
    private partial void LogReset();

    [LoggerMessage(Level = LogLevel.Information, Message = "Chaos knobs expired at {ExpiresAt}: GET /data/{{id}} runs normally")]
    private partial void LogExpired(DateTimeOffset expiresAt);
}
