namespace ObsStack.Worker.Jobs;

/// <summary>The embedded engine: one process' bounded <see cref="JobQueue"/> and <see cref="JobStore"/>.</summary>
public sealed class InProcessJobEngine(JobQueue queue, JobStore store, TimeProvider time) : IJobEngine
{
    public ValueTask<EnqueueOutcome> EnqueueAsync(IReadOnlyList<Job> jobs, CancellationToken cancellationToken) =>
        ValueTask.FromResult(queue.TryEnqueue(jobs, store.Add));

    public ValueTask<JobView?> GetAsync(Guid id, CancellationToken cancellationToken) => ValueTask.FromResult(store.Get(id));

    public long QueueDepth => queue.Count;

    public double QueueLagSeconds =>
        queue.Reader.TryPeek(out var oldest) ? Math.Max(0, (time.GetUtcNow() - oldest.SubmittedAt).TotalSeconds) : 0;
}
