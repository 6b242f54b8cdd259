using System.Text.Json.Nodes;
using ObsStack.Tests.Infrastructure;
using ObsStack.Tests.Stack;

namespace ObsStack.Tests.Worker.Redis;

/// <summary>
/// The worker-pool dashboard with two worker processes on one Redis, scraped by a real Prometheus as two instances of
/// job "worker": every single-value (stat) panel still shows one number for the deployment, and what is shared (the
/// queue) is not counted once per worker while what is per process (the pool size) adds up.
/// </summary>
[Collection(RedisCollection.Name)]
[Trait("Category", "Redis")]
public sealed class TwoWorkerQueriesTests(RedisServer redis) : IAsyncLifetime
{
    private TargetServer _target = null!;

    public async Task InitializeAsync() => _target = await TargetServer.StartAsync();

    public async Task DisposeAsync()
    {
        _target.Release();
        await _target.DisposeAsync();
    }

    [SkippableFact]
    public async Task With_two_workers_on_redis_every_stat_panel_is_one_series_the_shared_queue_counts_once_and_pool_size_adds_up()
    {
        RedisServer.SkipIfUnavailable();
        PrometheusServer.SkipIfUnavailable();
        var prefix = $"test-{Guid.NewGuid():N}";
        var settings = new Dictionary<string, string>
        {
            ["ConnectionStrings__redis"] = redis.ConnectionString,
            ["WorkerPool__RedisKeyPrefix"] = prefix,
            ["WorkerPool__Workers"] = "2",
            ["WorkerPool__AllowedTargetHosts__0"] = _target.BaseAddress.Authority,
            ["Logging__LogLevel__Default"] = "Warning",
        };
        await using var worker1 = await ServiceProcess.StartAsync("ObsStack.Worker", "worker", settings);
        await using var worker2 = await ServiceProcess.StartAsync("ObsStack.Worker", "worker", settings);
        await using var prometheus = await PrometheusServer.StartAsync(
            new Dictionary<string, IReadOnlyList<Uri>> { ["worker"] = [worker1.Address, worker2.Address] });

        var root = GrafanaFiles.FindRepoRoot();
        var statExprs = StatPanelExpressions(Path.Combine(root, "grafana", "dashboards", "worker-pool.json"));
        var stats = DashboardQueries.All(root, new DashboardQuerySubstitutions { RateInterval = "10s", Job = "worker" })
            .Where(q => statExprs.Contains(q.RawExpr))
            .DistinctBy(q => q.RawExpr) // the overview repeats some
            .ToList();
        Assert.Equal(statExprs.Count, stats.Count);

        // Some jobs done by both (rates have data), then every worker busy and three jobs waiting in the shared queue.
        using var client = worker1.Client();
        await client.WaitCompletedAsync(await client.SubmitAsync([.. Enumerable.Range(0, 40).Select(i => _target.Url($"/ok?n={i}"))]));
        await client.SubmitAsync(_target.Url("/hold"), _target.Url("/hold"), _target.Url("/hold"), _target.Url("/hold"));
        await Poll.UntilAsync(() => _target.InFlight == 4, "all four workers busy", TimeSpan.FromSeconds(30));
        await client.SubmitAsync(_target.Url("/ok?a"), _target.Url("/ok?b"), _target.Url("/ok?c"));

        await prometheus.WaitForDataAsync("count(up{job=\"worker\"} == 1) == 2", TimeSpan.FromSeconds(60));
        foreach (var query in stats)
        {
            var series = await prometheus.WaitForDataAsync(query.Expr, TimeSpan.FromSeconds(60));
            Assert.True(series.Length == 1, $"{query}: {series.Length} series with two workers; a stat panel shows the deployment as one number");
        }

        var poolSize = Assert.Single(await prometheus.WaitForDataAsync("sum(workers_pool_size{job=\"worker\"})", TimeSpan.FromSeconds(10)));
        Assert.Equal(4, PrometheusServer.Value(poolSize));
        // Each worker reports the one queue's three jobs; the "Queue depth" stat shows three, not six.
        await prometheus.WaitForDataAsync("count(jobs_queue_depth{job=\"worker\"} == 3) == 2", TimeSpan.FromSeconds(30));
        var depth = Assert.Single(stats, q => q.RawExpr.Contains("jobs_queue_depth", StringComparison.Ordinal));
        Assert.Equal(3, PrometheusServer.Value(Assert.Single(await prometheus.QueryAsync(depth.Expr))));
    }

    /// <summary>The expressions of the dashboard's stat panels, as written.</summary>
    private static HashSet<string> StatPanelExpressions(string dashboard)
    {
        var json = JsonNode.Parse(File.ReadAllText(dashboard))!;
        return json["panels"]!.AsArray()
            .Where(panel => (string?)panel!["type"] == "stat")
            .SelectMany(panel => panel!["targets"]!.AsArray().Select(target => (string)target!["expr"]!))
            .ToHashSet();
    }
}
