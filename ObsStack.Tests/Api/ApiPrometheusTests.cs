using ObsStack.Tests.Infrastructure;

namespace ObsStack.Tests.Api;

/// <summary>A real Prometheus scrapes the api while the worker's load generator drives it, as in a running stack.</summary>
public sealed class ApiPrometheusTests
{
    [SkippableFact]
    public async Task Prometheus_scraping_the_api_finds_the_route_labelled_request_histogram_and_the_apis_own_metrics()
    {
        PrometheusServer.SkipIfUnavailable();
        await using var api = new ApiApp().Start();
        await using var worker = new WorkerApp(new Dictionary<string, string?>
        {
            ["services:api:http:0"] = api.Address.ToString(),
            ["LoadGenerator:Enabled"] = "true",
            ["LoadGenerator:RatePerSecond"] = "20",
        }).Start();
        await using var prometheus = await PrometheusServer.StartAsync(new Dictionary<string, Uri>
        {
            ["api"] = api.Address,
            ["worker"] = worker.Address,
        });

        var buckets = await prometheus.WaitForDataAsync(
            "http_server_request_duration_seconds_bucket{job=\"api\", http_route=\"/data/{id}\", http_request_method=\"GET\", http_response_status_code=\"200\"}",
            TimeSpan.FromSeconds(30));
        await prometheus.WaitForDataAsync("rate(data_requests_total{job=\"api\", outcome=\"success\"}[1m]) > 0", TimeSpan.FromSeconds(30));

        Assert.Contains(buckets, b => b.GetProperty("metric").GetProperty("le").GetString() == "+Inf" && PrometheusServer.Value(b) > 0);
        foreach (var gauge in new[] { "chaos_latency_seconds", "chaos_error_ratio", "chaos_exception_ratio" })
        {
            Assert.Equal(0, PrometheusServer.Value(Assert.Single(await prometheus.QueryAsync($"{gauge}{{job=\"api\"}}"))));
        }

        // The worker's jobs against the api succeed, seen from the worker's side of the same traffic.
        Assert.NotEmpty(await prometheus.QueryAsync("jobs_total{job=\"worker\", status=\"success\"} > 0"));
        using var client = api.Client();
        var (exitCode, output) = await Tools.PromtoolCheckMetricsAsync(await client.GetStringAsync("/metrics"));
        Assert.True(exitCode == 0, $"promtool check metrics on the api's /metrics: {output}");
    }
}
