using System.Net;
using System.Net.Http.Json;
using ObsStack.Tests.Infrastructure;
using ObsStack.Worker.Jobs;

namespace ObsStack.Tests.Worker;

// Measures the process's managed heap, so it runs alone: no other test allocates while it measures.
[Collection(RunAloneCollection.Name)]
public sealed class RefusedFloodTests : IAsyncLifetime
{
    private const int Batches = 3_000;
    private const int BatchSize = 100;

    private TargetServer _target = null!;

    public async Task InitializeAsync() => _target = await TargetServer.StartAsync();

    public async Task DisposeAsync() => await _target.DisposeAsync();

    [Fact]
    public async Task A_flood_of_refused_batches_leaves_nothing_behind_and_memory_returns_to_its_baseline()
    {
        await using var worker = new WorkerApp(new Dictionary<string, string?>
        {
            ["WorkerPool:Workers"] = "1",
            ["WorkerPool:QueueCapacity"] = "1",
            // ResultCapacity stays at its default (10,000): eviction never runs, so nothing but intake can keep the store small.
            ["WorkerPool:MaxBatchSize"] = BatchSize.ToString(),
            [_target.AllowListEntry().Key] = _target.AllowListEntry().Value,
        }).Start();
        using var client = worker.Client();
        var store = worker.Get<JobStore>();
        // One job running, one queued: every later batch is refused.
        await client.SubmitAsync(_target.Url("/hold"));
        await Poll.UntilAsync(() => _target.InFlight == 1, "the first job running", TimeSpan.FromSeconds(10));
        await client.SubmitAsync(_target.Url("/hold"));
        var batch = new { urls = Enumerable.Range(0, BatchSize).Select(i => _target.Url($"/ok?{i}")).ToArray() };
        await FloodAsync(client, batch, 50); // warm-up: JIT, pools, first-use allocations
        var baseline = GC.GetTotalMemory(forceFullCollection: true);

        var refused = await FloodAsync(client, batch, Batches);

        var after = GC.GetTotalMemory(forceFullCollection: true);
        Assert.Equal(Batches, refused);
        // Before the fix the 300,000 refused ids stayed in the store's order queue: +12.4 MB measured here. Now the heap is back
        // within a few MB of where it started.
        Assert.True(after - baseline < 3 * 1024 * 1024,
            $"managed heap grew {(after - baseline) / 1024.0 / 1024:0.00} MB over {Batches * BatchSize:N0} refused jobs (baseline {baseline / 1024.0 / 1024:0.0} MB)");
        Assert.Equal(2, store.Count);
        Assert.Equal(2, store.OrderCount);
        Assert.Equal((Batches + 50) * BatchSize, WorkerClient.Sample(await client.MetricsAsync(), "jobs_rejected_total{reason=\"queue_full\"}"));
        _target.Release();
    }

    /// <summary>Sends <paramref name="count"/> batches, four at a time; returns how many were refused with 429.</summary>
    private static async Task<int> FloodAsync(HttpClient client, object batch, int count)
    {
        var refused = 0;
        var next = -1;
        await Task.WhenAll(Enumerable.Range(0, 4).Select(async _ =>
        {
            while (Interlocked.Increment(ref next) < count)
            {
                using var response = await client.PostAsJsonAsync("/jobs", batch);
                if (response.StatusCode == HttpStatusCode.TooManyRequests)
                {
                    Interlocked.Increment(ref refused);
                }
            }
        }));
        return refused;
    }
}
