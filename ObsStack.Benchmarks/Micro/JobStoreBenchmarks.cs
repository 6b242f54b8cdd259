using System.Collections.Concurrent;
using BenchmarkDotNet.Attributes;
using Microsoft.Extensions.Options;
using ObsStack.Worker.Jobs;

namespace ObsStack.Benchmarks.Micro;

/// <summary>
/// The worker's result store on its hot path: every accepted job is added, and once the store holds
/// <c>WorkerPool:ResultCapacity</c> jobs (default 10,000: after the first 10,000 jobs, i.e. always under load) every
/// add also evicts. A CPU profile of the worker under load once put ~15% of its time under <c>JobStore.Evict</c>,
/// which called <see cref="ConcurrentDictionary{TKey,TValue}.Count"/> (it takes every one of the dictionary's locks)
/// several times per job; the store now keeps its own count. This keeps that path measured, next to the call it avoids.
/// </summary>
[MemoryDiagnoser]
public class JobStoreBenchmarks
{
    private JobStore _store = null!;
    private ConcurrentDictionary<Guid, Job> _dictionary = null!;
    private readonly JobResult _result = new(JobStatus.Success, 200, 0.001, 100, null, 1);
    private readonly Uri _url = new("http://127.0.0.1:5000/t0/1");

    [Params(10_000)]
    public int ResultCapacity { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _store = new JobStore(Options.Create(new WorkerPoolOptions { ResultCapacity = ResultCapacity }));
        _dictionary = new ConcurrentDictionary<Guid, Job>();
        for (var i = 0; i < ResultCapacity; i++)
        {
            var job = NewJob();
            _store.Add(job);
            _store.Complete(job, _result);
            _dictionary[job.Id] = job;
        }
    }

    /// <summary>What intake and a worker do to the store for one job, at steady state (store full, so add evicts).</summary>
    [Benchmark(Description = "JobStore: Add + MarkRunning + Complete (store full)")]
    public void AddRunComplete()
    {
        var job = NewJob();
        _store.Add(job);
        _store.MarkRunning(job, null);
        _store.Complete(job, _result);
    }

    [Benchmark(Description = "ConcurrentDictionary.Count at capacity")]
    public int DictionaryCount() => _dictionary.Count;

    private Job NewJob() => new() { Id = Guid.CreateVersion7(), Url = _url, SubmittedAt = DateTimeOffset.UtcNow };
}
