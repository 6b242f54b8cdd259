namespace ObsStack.Worker.Jobs.Redis;

public sealed partial class RedisJobEngine
{
    [LoggerMessage(Level = LogLevel.Warning, Message = "Job engine unavailable: Redis did not answer ({ErrorType}: {Error}); intake answers 503, workers wait and resume when it is back")]
    private partial void LogUnavailable(string errorType, string error);

    [LoggerMessage(Level = LogLevel.Information, Message = "Job engine available again: Redis answers")]
    private partial void LogAvailable();
}
