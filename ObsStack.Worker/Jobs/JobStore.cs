using System.Collections.Concurrent;
using Microsoft.Extensions.Options;

namespace ObsStack.Worker.Jobs;

/// <summary>What <c>GET /jobs/{id}</c> returns: a consistent snapshot of one job.</summary>
public sealed record JobView(
    Guid Id, string Url, JobState State, DateTimeOffset SubmittedAt, DateTimeOffset? StartedAt,
    DateTimeOffset? CompletedAt, string? TraceId, JobResult? Result, int Attempt = 0);

/// <summary>
/// The most recent jobs, bounded by <see cref="WorkerPoolOptions.ResultCapacity"/>. Eviction takes the oldest
/// finished job; a queued or running job is never evicted (the capacity is validated to exceed queue + workers).
/// Only accepted jobs are added (<see cref="JobIntake"/>), and every id in the eviction order is a stored job, so both
/// collections stay within the capacity whatever is refused.
/// </summary>
public sealed class JobStore(IOptions<WorkerPoolOptions> options) : IJobStateSink
{
    private readonly ConcurrentDictionary<Guid, Job> _jobs = new();
    private readonly ConcurrentQueue<Guid> _order = new();
    private readonly Lock _evictGate = new();
    private readonly int _capacity = options.Value.ResultCapacity;

    // Kept by hand: ConcurrentDictionary.Count takes every bucket lock, too costly on each job's path.
    private int _count;

    public int Count => Volatile.Read(ref _count);

    /// <summary>Ids waiting in the eviction order: equal to <see cref="Count"/> whenever no add is in progress.</summary>
    internal int OrderCount => _order.Count;

    public void Add(Job job)
    {
        if (_jobs.TryAdd(job.Id, job))
        {
            Interlocked.Increment(ref _count);
            _order.Enqueue(job.Id);
        }

        if (Volatile.Read(ref _count) > _capacity)
        {
            Evict();
        }
    }

    public JobView? Get(Guid id)
    {
        if (!_jobs.TryGetValue(id, out var job))
        {
            return null;
        }

        lock (job)
        {
            return new JobView(job.Id, job.Url.ToString(), job.State, job.SubmittedAt, job.StartedAt, job.CompletedAt, job.TraceId, job.Result,
                job.State == JobState.Queued ? 0 : 1);
        }
    }

    public void MarkRunning(Job job, string? traceId)
    {
        lock (job)
        {
            job.State = JobState.Running;
            job.StartedAt = DateTimeOffset.UtcNow;
            job.TraceId = traceId;
        }
    }

    public void Complete(Job job, JobResult result)
    {
        lock (job)
        {
            job.State = JobState.Completed;
            job.CompletedAt = DateTimeOffset.UtcNow;
            job.Result = result;
        }
    }

    ValueTask IJobStateSink.CompleteAsync(Job job, JobResult result)
    {
        Complete(job, result);
        return ValueTask.CompletedTask;
    }

    /// <summary>In one process there is no other worker to hand a job to: an aborted job ends canceled.</summary>
    bool IJobStateSink.HandsBackAborted => false;

    ValueTask IJobStateSink.HandBackAsync(Job job) => throw new NotSupportedException("The in-process store records aborted jobs as canceled.");

    private void Remove(Guid id)
    {
        if (_jobs.TryRemove(id, out _))
        {
            Interlocked.Decrement(ref _count);
        }
    }

    private void Evict()
    {
        lock (_evictGate)
        {
            // Each unfinished job met is put back at the end; the bound on attempts keeps this O(excess + unfinished).
            var attempts = _order.Count;
            while (Volatile.Read(ref _count) > _capacity && attempts-- > 0 && _order.TryDequeue(out var id))
            {
                if (!_jobs.TryGetValue(id, out var job))
                {
                    continue;
                }

                if (job.State == JobState.Completed)
                {
                    Remove(id);
                }
                else
                {
                    _order.Enqueue(id);
                }
            }
        }
    }
}
