using ObsStack.Tests.Infrastructure;
using ObsStack.Tests.Worker;

namespace ObsStack.Tests.ServiceDefaults;

/// <summary>A spike against a backend that hangs: the exporter queue stays at its bound, the rest is dropped and counted.</summary>
// Alone: a tracer provider listens process-wide, so while other tests run their spans reach both destinations too and
// the exact counts never settle at one moment; a queue bound of 16 would also be filled by them.
[Collection(RunAloneCollection.Name)]
public sealed class ExportBoundsTests : IAsyncLifetime
{
    private TargetServer _target = null!;
    private OtlpReceiver _hanging = null!;

    public async Task InitializeAsync()
    {
        _target = await TargetServer.StartAsync();
        _hanging = await OtlpReceiver.StartAsync();
        _hanging.Stall = TimeSpan.FromSeconds(3); // longer than the exporter's 1 s timeout: every export fails
    }

    public async Task DisposeAsync()
    {
        await _hanging.DisposeAsync();
        await _target.DisposeAsync();
    }

    [Fact]
    public async Task A_span_spike_to_a_hanging_backend_is_dropped_beyond_the_queue_bound_and_requests_stay_fast()
    {
        await using var worker = new WorkerApp(new Dictionary<string, string?>
        {
            ["Telemetry:Traces:OtlpEndpoint"] = _hanging.TracesEndpoint.ToString(),
            ["Telemetry:Export:MaxQueueSize"] = "32",
            ["Telemetry:Export:MaxBatchSize"] = "8",
            ["Telemetry:Export:ScheduledDelay"] = "00:00:00.050",
            ["Telemetry:Export:Timeout"] = "00:00:01",
            ["WorkerPool:Workers"] = "8",
            ["WorkerPool:QueueCapacity"] = "500",
            ["WorkerPool:MaxBatchSize"] = "100",
            ["WorkerPool:AllowedTargetHosts:0"] = _target.BaseAddress.Authority,
        });
        worker.Start();
        using var client = worker.Client();

        // 300 jobs → ~900 spans (POST /jobs, process_job, GET), against a queue of 32 and a backend that never answers in time.
        var started = DateTime.UtcNow;
        var ids = new List<Guid>();
        for (var i = 0; i < 3; i++)
        {
            ids.AddRange(await client.SubmitAsync([.. Enumerable.Repeat(_target.Url("/ok"), 100)]));
        }

        var results = await client.WaitCompletedAsync(ids, TimeSpan.FromSeconds(30));
        var elapsed = DateTime.UtcNow - started;

        Assert.All(results, r => Assert.Equal("success", r.Status()));
        var dropped = WorkerClient.Sample(await client.MetricsAsync(), "telemetry_export_dropped_total{destination=\"backend\",signal=\"traces\"}");
        Assert.NotNull(dropped);
        Assert.True(dropped > 600, $"expected most of ~900 spans dropped at a queue of 32, got {dropped}");
        Assert.True(elapsed < TimeSpan.FromSeconds(20), $"jobs took {elapsed} with a hanging backend");
        var warnings = worker.Logs.Logs.Where(l => l.Category == "ObsStack.Telemetry" && l.Message.Contains("queue is full")).ToList();
        Assert.Single(warnings);
    }

    [Fact]
    public async Task Every_span_and_log_record_a_failing_backend_refuses_is_counted_once_and_the_other_destination_gets_them_all()
    {
        await using var healthy = await OtlpReceiver.StartAsync();
        await using var refusing = await OtlpReceiver.StartAsync();
        refusing.FailWith = 503;
        await using var worker = new WorkerApp(new Dictionary<string, string?>
        {
            // Two destinations of one signal: the dashboard's standard variables and the backend key.
            ["OTEL_EXPORTER_OTLP_ENDPOINT"] = healthy.BaseAddress.ToString(),
            ["OTEL_EXPORTER_OTLP_PROTOCOL"] = "http/protobuf",
            ["Telemetry:Traces:OtlpEndpoint"] = refusing.TracesEndpoint.ToString(),
            ["Telemetry:Logs:OtlpEndpoint"] = refusing.LogsEndpoint.ToString(),
            ["Telemetry:Export:ScheduledDelay"] = "00:00:00.050",
            ["WorkerPool:AllowedTargetHosts:0"] = _target.BaseAddress.Authority,
        });
        worker.Start();
        using var client = worker.Client();

        var ids = await client.SubmitAsync([.. Enumerable.Repeat(_target.Url("/ok"), 20)]);
        await client.WaitCompletedAsync(ids);

        // Each job is 3 spans (POST /jobs once for the batch, then process_job and its GET per job): wait for all of
        // them at the healthy destination, then for the same number to be counted as dropped at the refusing one.
        await healthy.WaitForAsync(r => ids.All(id => r.Spans.Any(s => s.Name == "process_job" && s.Attribute("job.id") == id.ToString())),
            "the 20 process_job spans");
        var (sent, dropped) = await SettledAsync("traces");
        Assert.Equal(sent, dropped);
        await healthy.WaitForAsync(r => ids.All(id => r.Logs.Any(l => l.Body.Contains(id.ToString()))), "the 20 job log lines");
        var (sentLogs, droppedLogs) = await SettledAsync("logs");
        Assert.Equal(sentLogs, droppedLogs);
        Assert.True(refusing.Requests > 0, "the refusing backend was asked");
        Assert.Null(WorkerClient.Sample(await client.MetricsAsync(), "telemetry_export_dropped_total{destination=\"dashboard\",signal=\"traces\"}"));
        Assert.Single(worker.Logs.Logs, l => l.Category == "ObsStack.Telemetry" && l.Message.StartsWith("traces export to backend") && l.Message.Contains("the export failed"));
        Assert.Single(worker.Logs.Logs, l => l.Category == "ObsStack.Telemetry" && l.Message.StartsWith("logs export to backend") && l.Message.Contains("the export failed"));

        // What one destination received and the other counted as dropped, once both stop moving (30 s at most).
        async Task<(double Sent, double? Dropped)> SettledAsync(string signal)
        {
            var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
            while (true)
            {
                var received = signal == "traces" ? healthy.Spans.Count : healthy.Logs.Count;
                var counted = WorkerClient.Sample(await client.MetricsAsync(),
                    $"telemetry_export_dropped_total{{destination=\"backend\",signal=\"{signal}\"}}");
                if (counted == received || DateTime.UtcNow > deadline)
                {
                    return (received, counted);
                }

                await Task.Delay(100);
            }
        }
    }

    [Fact]
    public async Task After_a_spike_overflows_the_queue_the_next_span_is_exported_again()
    {
        await using var backend = await OtlpReceiver.StartAsync();
        await using var worker = new WorkerApp(new Dictionary<string, string?>
        {
            ["Telemetry:Traces:OtlpEndpoint"] = backend.TracesEndpoint.ToString(),
            ["Telemetry:Export:MaxQueueSize"] = "16",
            ["Telemetry:Export:MaxBatchSize"] = "8",
            ["Telemetry:Export:ScheduledDelay"] = "00:00:00.050",
            ["WorkerPool:Workers"] = "8",
            ["WorkerPool:QueueCapacity"] = "500",
            ["WorkerPool:AllowedTargetHosts:0"] = _target.BaseAddress.Authority,
        });
        worker.Start();
        using var client = worker.Client();

        // The spike: ~900 spans against a queue of 16, so most are dropped.
        var spike = new List<Guid>();
        for (var i = 0; i < 3; i++)
        {
            spike.AddRange(await client.SubmitAsync([.. Enumerable.Repeat(_target.Url("/ok"), 100)]));
        }

        await client.WaitCompletedAsync(spike);
        Assert.True(WorkerClient.Sample(await client.MetricsAsync(),
            "telemetry_export_dropped_total{destination=\"backend\",signal=\"traces\"}") > 0, "the spike overflowed the queue");

        // Every slot the spike held is given back: one job later, each of its spans is admitted and exported.
        var dropped = 0.0;
        await Poll.UntilAsync(async () =>
        {
            var before = WorkerClient.Sample(await client.MetricsAsync(), "telemetry_export_dropped_total{destination=\"backend\",signal=\"traces\"}");
            await Task.Delay(300);
            dropped = WorkerClient.Sample(await client.MetricsAsync(), "telemetry_export_dropped_total{destination=\"backend\",signal=\"traces\"}") ?? 0;
            return dropped == before;
        }, "the spike's exports to finish", TimeSpan.FromSeconds(20));
        var after = (await client.SubmitAsync(_target.Url("/ok")))[0];
        await client.WaitCompletedAsync([after]);

        await backend.WaitForAsync(r => r.Spans.Any(s => s.Name == "process_job" && s.Attribute("job.id") == after.ToString()),
            "the process_job span of the job after the spike");
        Assert.Equal(dropped, WorkerClient.Sample(await client.MetricsAsync(),
            "telemetry_export_dropped_total{destination=\"backend\",signal=\"traces\"}"));
    }
}
