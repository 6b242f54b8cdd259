using ObsStack.Tests.Infrastructure;

namespace ObsStack.Tests.Stack;

/// <summary>
/// A real Prometheus scrapes the running worker, and the Go original's queries (docs/architecture.md) return data
/// through its HTTP API, verbatim.
/// </summary>
public sealed class PrometheusScrapeTests
{
    public static TheoryData<string> ReferenceQueries =>
    [
        "jobs_total",
        "rate(jobs_total{status=\"success\"}[1m])",
        "workers_active",
        "jobs_queue_depth",
        "histogram_quantile(0.95, rate(job_duration_seconds_bucket[1m]))",
    ];

    [SkippableFact]
    public async Task The_reference_queries_return_data_from_a_real_Prometheus_scraping_the_worker()
    {
        PrometheusServer.SkipIfUnavailable();
        // The worker alone, as `dotnet run --project ObsStack.Worker` starts it: the load generator on its own target.
        await using var worker = new WorkerApp(new Dictionary<string, string?>
        {
            ["LoadGenerator:Enabled"] = "true",
            ["LoadGenerator:RatePerSecond"] = "20",
        });
        worker.Start();
        await using var prometheus = await PrometheusServer.StartAsync(new Dictionary<string, Uri> { ["worker"] = worker.Address });

        // rate() needs two samples of a series: wait for the success counter to have moved between scrapes.
        await prometheus.WaitForDataAsync("rate(jobs_total{status=\"success\"}[1m]) > 0", TimeSpan.FromSeconds(40));

        foreach (var query in ReferenceQueries)
        {
            var result = await prometheus.QueryAsync(query);
            Assert.True(result.Length > 0, $"no data for: {query}");
        }

        var up = await prometheus.QueryAsync("up{job=\"worker\"}");
        Assert.Equal(1, PrometheusServer.Value(Assert.Single(up)));
        var p95 = PrometheusServer.Value((await prometheus.QueryAsync("histogram_quantile(0.95, sum by (le) (rate(job_duration_seconds_bucket[1m])))"))[0]);
        // The demo target answers in 5–600 ms; the bound leaves room for a suite that shares two cores (seen: 2.35 s).
        Assert.InRange(p95, 0.001, 5.0);
        Assert.Equal(4, PrometheusServer.Value(Assert.Single(await prometheus.QueryAsync("workers_pool_size{job=\"worker\"}"))));
    }
}
