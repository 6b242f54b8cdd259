namespace ObsStack.Worker.Jobs;

/// <summary>
/// Where accepted jobs wait and where their states are read: the in-process queue and store of one worker
/// (<see cref="InProcessJobEngine"/>, the default), or Redis shared by every worker and api (<c>ConnectionStrings:redis</c>).
/// Chosen once, at registration (<c>AddWorkerServices</c>); intake, the jobs API and the metrics see only this.
/// </summary>
public interface IJobEngine
{
    /// <summary>Queues the whole batch or none of it.</summary>
    ValueTask<EnqueueOutcome> EnqueueAsync(IReadOnlyList<Job> jobs, CancellationToken cancellationToken);

    /// <summary>A snapshot of one job, or null when it is unknown (never accepted, or evicted).</summary>
    /// <exception cref="JobEngineUnavailableException">The engine cannot answer now.</exception>
    ValueTask<JobView?> GetAsync(Guid id, CancellationToken cancellationToken);

    /// <summary>Jobs waiting for a worker (all of the deployment's, with Redis), read by <c>jobs_queue_depth</c>.</summary>
    long QueueDepth { get; }

    /// <summary>Age of the oldest waiting job in seconds, 0 when none waits, read by <c>jobs_queue_lag_seconds</c>.</summary>
    double QueueLagSeconds { get; }
}

/// <summary>The engine could not be reached within its bound; the caller answers 503 with Retry-After.</summary>
public sealed class JobEngineUnavailableException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>
/// Where a worker records a job's progress: the in-process store, or the job's state in Redis. A job that is handed
/// back (Redis: shutdown's grace period elapsed) is queued again for another worker instead of being recorded as canceled.
/// </summary>
public interface IJobStateSink
{
    void MarkRunning(Job job, string? traceId);

    ValueTask CompleteAsync(Job job, JobResult result);

    /// <summary>True when an aborted in-flight job goes back to the queue (<see cref="HandBackAsync"/>) rather than ending canceled.</summary>
    bool HandsBackAborted { get; }

    ValueTask HandBackAsync(Job job);
}
