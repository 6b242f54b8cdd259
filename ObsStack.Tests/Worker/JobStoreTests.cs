using Microsoft.Extensions.Options;
using ObsStack.Worker.Jobs;

namespace ObsStack.Tests.Worker;

public sealed class JobStoreTests
{
    private static Job NewJob() => new() { Id = Guid.CreateVersion7(), Url = new Uri("http://localhost/x"), SubmittedAt = DateTimeOffset.UtcNow };

    private static JobStore Store(int capacity) => new(Options.Create(new WorkerPoolOptions { ResultCapacity = capacity }));

    [Fact]
    public void The_oldest_finished_jobs_are_evicted_at_capacity()
    {
        var store = Store(3);
        var jobs = Enumerable.Range(0, 5).Select(_ => NewJob()).ToList();
        foreach (var job in jobs)
        {
            store.Add(job);
            store.Complete(job, new JobResult("success", 200, 0.01, 1, null, 1));
        }

        Assert.Equal(3, store.Count);
        Assert.Null(store.Get(jobs[0].Id));
        Assert.Null(store.Get(jobs[1].Id));
        Assert.All(jobs.Skip(2), j => Assert.NotNull(store.Get(j.Id)));
    }

    [Fact]
    public void A_queued_or_running_job_is_never_evicted_even_when_it_is_the_oldest()
    {
        var store = Store(2);
        var running = NewJob();
        store.Add(running);
        store.MarkRunning(running, null);

        var later = Enumerable.Range(0, 4).Select(_ => NewJob()).ToList();
        foreach (var job in later)
        {
            store.Add(job);
            store.Complete(job, new JobResult("success", 200, 0.01, 1, null, 1));
        }

        Assert.Equal(JobState.Running, store.Get(running.Id)!.State);
        Assert.Equal(2, store.Count);
    }

    [Fact]
    public void Eviction_keeps_the_order_of_ids_as_long_as_the_store_and_no_longer()
    {
        var store = Store(3);
        for (var i = 0; i < 1_000; i++)
        {
            var job = NewJob();
            store.Add(job);
            store.Complete(job, new JobResult("success", 200, 0.01, 1, null, 1));
        }

        Assert.Equal(3, store.Count);
        Assert.Equal(3, store.OrderCount);
    }
}
