using ObsStack.Tests.Infrastructure;

namespace ObsStack.Tests.Worker;

public sealed class MetricsEndpointTests : IAsyncLifetime
{
    private TargetServer _target = null!;

    public async Task InitializeAsync() => _target = await TargetServer.StartAsync();

    public async Task DisposeAsync() => await _target.DisposeAsync();

    [SkippableFact]
    public async Task Metrics_show_exact_values_after_a_known_set_of_jobs_and_pass_promtool()
    {
        Skip.If(Tools.Find("promtool") is null && !Tools.IsCi, "promtool is not installed (apt-get install prometheus); CI runs this test.");
        await using var worker = new WorkerApp(new Dictionary<string, string?> { ["WorkerPool:Workers"] = "2", [_target.AllowListEntry().Key] = _target.AllowListEntry().Value }).Start();
        using var client = worker.Client();

        await client.WaitCompletedAsync(await client.SubmitAsync(_target.Url("/ok"), _target.Url("/ok"), _target.Url("/ok"), _target.Url("/status/404")));
        using var response = await client.GetAsync("/metrics");
        var text = await response.Content.ReadAsStringAsync();

        Assert.Equal("text/plain; version=0.0.4; charset=utf-8", response.Content.Headers.ContentType?.ToString());
        Assert.Equal(3, WorkerClient.Sample(text, "jobs_total{status=\"success\"}"));
        Assert.Equal(1, WorkerClient.Sample(text, "jobs_total{status=\"failed\"}"));
        Assert.Equal(3, WorkerClient.Sample(text, "job_duration_seconds_count{status=\"success\"}"));
        Assert.Equal(3, WorkerClient.Sample(text, "job_duration_seconds_bucket{status=\"success\",le=\"+Inf\"}"));
        Assert.Equal(0, WorkerClient.Sample(text, "workers_active"));
        Assert.Equal(2, WorkerClient.Sample(text, "workers_pool_size"));
        Assert.Equal(0, WorkerClient.Sample(text, "jobs_queue_depth"));
        // The runtime's meters are there too, under the names Prometheus' OTLP receiver would give them.
        Assert.Contains("\ndotnet_gc_heap_allocated_bytes_total ", text);
        Assert.Contains("\nprocess_uptime_seconds ", text);
        Assert.Contains("http_server_request_duration_seconds_bucket{", text);
        Assert.Contains("http_client_request_duration_seconds_bucket{", text);

        var (exitCode, output) = await Tools.PromtoolCheckMetricsAsync(text);
        Assert.True(exitCode == 0, $"promtool check metrics failed ({exitCode}):\n{output}");
    }

    [Fact]
    public async Task A_dead_backend_never_breaks_the_service_drops_are_counted_and_logged_once()
    {
        await using var worker = new WorkerApp(new Dictionary<string, string?>
        {
            // Port 1 on loopback: connection refused at once.
            ["Telemetry:Traces:OtlpEndpoint"] = "http://127.0.0.1:1/v1/traces",
            ["Telemetry:Logs:OtlpEndpoint"] = "http://127.0.0.1:1/otlp/v1/logs",
            ["Telemetry:Metrics:OtlpEndpoint"] = "http://127.0.0.1:1/api/v1/otlp/v1/metrics",
            ["Telemetry:Metrics:ExportInterval"] = "00:00:01",
            ["Telemetry:Export:ScheduledDelay"] = "00:00:00.100",
            ["Telemetry:Export:MaxQueueSize"] = "64",
            ["WorkerPool:AllowedTargetHosts:0"] = _target.BaseAddress.Authority,
        }).Start();
        using var client = worker.Client();

        for (var round = 0; round < 3; round++)
        {
            var ids = await client.SubmitAsync([.. Enumerable.Repeat(_target.Url("/ok"), 20)]);
            var results = await client.WaitCompletedAsync(ids);
            Assert.All(results, r => Assert.Equal("success", r.Status()));
        }

        double Dropped(string text, string signal) =>
            WorkerClient.Sample(text, $"telemetry_export_dropped_total{{destination=\"backend\",signal=\"{signal}\"}}") ?? 0;
        await Poll.UntilAsync(async () =>
        {
            var text = await client.MetricsAsync();
            return Dropped(text, "traces") > 0 && Dropped(text, "logs") > 0 && Dropped(text, "metrics") > 0;
        }, "drops counted for traces, logs and metrics", TimeSpan.FromSeconds(20));

        // One warning per failing exporter, however many items it dropped; it says what to check.
        var warnings = worker.Logs.Logs.Where(l => l.Category == "ObsStack.Telemetry" && l.Level == Microsoft.Extensions.Logging.LogLevel.Warning).ToList();
        Assert.Equal(3, warnings.Count);
        Assert.All(warnings, w => Assert.Contains("Check that the backend is up", w.Message));
        Assert.Single(warnings, w => w.Message.StartsWith("traces export to backend (http://127.0.0.1:1/v1/traces)", StringComparison.Ordinal));
    }
}
