namespace ObsStack.Worker.Jobs.Redis;

public sealed partial class RedisWorkerPool
{
    [LoggerMessage(Level = LogLevel.Information, Message = "Worker pool started on Redis: {Workers} workers as consumer {Consumer}, shared queue capacity {QueueCapacity}")]
    private partial void LogStarted(int workers, int queueCapacity, string consumer);

    [LoggerMessage(Level = LogLevel.Error, Message = "Taking jobs from Redis failed; retrying")]
    private partial void LogTakeFailed(Exception exception);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Dead-lettered queue entry {EntryId}: {Problem}; moved to the dead-letter stream, not retried")]
    private partial void LogDeadLettered(string entryId, string problem);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Job {JobId} reclaimed (entry {EntryId}): its worker held it past the visibility timeout; attempt {Attempt}")]
    private partial void LogReclaimed(Guid jobId, string entryId, int attempt);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Job {JobId} given up: {MaxAttempts} runs each ended without an outcome; recorded as canceled")]
    private partial void LogGivenUp(Guid jobId, int maxAttempts);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Job {JobId}: its outcome could not be written to Redis ({Error}); it runs again after the visibility timeout")]
    private partial void LogNotRecorded(Guid jobId, string error);

    [LoggerMessage(Level = LogLevel.Information, Message = "Worker pool draining: new jobs get 503, queued jobs stay queued for the other workers, {InFlight} in-flight jobs get {GraceSeconds} s")]
    private partial void LogDraining(int inFlight, double graceSeconds);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Shutdown grace period of {GraceSeconds} s elapsed; handing in-flight jobs back to the queue")]
    private partial void LogGraceElapsed(double graceSeconds);

    [LoggerMessage(Level = LogLevel.Information, Message = "Worker pool stopped; {HandedBack} taken jobs were handed back before they started, none canceled")]
    private partial void LogStopped(int handedBack);
}
