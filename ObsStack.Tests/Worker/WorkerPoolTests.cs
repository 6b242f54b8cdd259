using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using ObsStack.Tests.Infrastructure;
using ObsStack.Worker.Jobs;

namespace ObsStack.Tests.Worker;

public sealed class WorkerPoolTests : IAsyncLifetime
{
    private TargetServer _target = null!;

    public async Task InitializeAsync() => _target = await TargetServer.StartAsync();

    public async Task DisposeAsync() => await _target.DisposeAsync();

    [Fact]
    public async Task Pool_never_runs_more_than_N_jobs_at_once_and_the_gauges_show_it()
    {
        await using var worker = new WorkerApp(new Dictionary<string, string?> { ["WorkerPool:Workers"] = "3", [_target.AllowListEntry().Key] = _target.AllowListEntry().Value }).Start();
        using var client = worker.Client();

        var ids = await client.SubmitAsync([.. Enumerable.Repeat(_target.Url("/hold"), 10)]);

        await Poll.UntilAsync(() => _target.InFlight == 3, "3 jobs in flight", TimeSpan.FromSeconds(10));
        var metrics = await client.MetricsAsync();
        Assert.Equal(3, WorkerClient.Sample(metrics, "workers_active"));
        Assert.Equal(7, WorkerClient.Sample(metrics, "jobs_queue_depth"));
        Assert.Equal(3, WorkerClient.Sample(metrics, "workers_pool_size"));

        _target.Release();
        var results = await client.WaitCompletedAsync(ids);

        Assert.All(results, r => Assert.Equal("success", r.Status()));
        Assert.Equal(3, _target.MaxInFlight);
        // A job's outcome is readable a moment before its worker counts itself idle (the outcome is recorded first).
        await Poll.UntilAsync(async () => WorkerClient.Sample(await client.MetricsAsync(), "workers_active") == 0, "workers_active back to 0", TimeSpan.FromSeconds(10));
    }

    [Fact]
    public async Task Queue_full_returns_429_with_retry_after_and_queues_nothing_of_that_batch()
    {
        await using var worker = new WorkerApp(new Dictionary<string, string?>
        {
            ["WorkerPool:Workers"] = "1",
            ["WorkerPool:QueueCapacity"] = "2",
            ["WorkerPool:AllowedTargetHosts:0"] = _target.BaseAddress.Authority,
        }).Start();
        using var client = worker.Client();

        var running = await client.SubmitAsync(_target.Url("/hold"));
        await Poll.UntilAsync(() => _target.InFlight == 1, "first job running", TimeSpan.FromSeconds(10));
        var queued = await client.SubmitAsync(_target.Url("/ok"));

        // Room for one more, but the batch has two: refused whole.
        using var refused = await client.PostAsJsonAsync("/jobs", new { urls = new[] { _target.Url("/ok"), _target.Url("/ok") } });

        Assert.Equal(HttpStatusCode.TooManyRequests, refused.StatusCode);
        Assert.Equal("application/problem+json", refused.Content.Headers.ContentType?.MediaType);
        Assert.Equal(TimeSpan.FromSeconds(1), refused.Headers.RetryAfter?.Delta);
        Assert.Equal(1, worker.Get<JobQueue>().Count);
        Assert.Equal(2, WorkerClient.Sample(await client.MetricsAsync(), "jobs_rejected_total{reason=\"queue_full\"}"));

        _target.Release();
        var results = await client.WaitCompletedAsync([.. running, .. queued]);
        Assert.All(results, r => Assert.Equal("success", r.Status()));
    }

    [Fact]
    public async Task Timeouts_and_failures_are_counted_under_their_status_and_results_agree()
    {
        await using var worker = new WorkerApp(new Dictionary<string, string?>
        {
            ["WorkerPool:Workers"] = "4",
            ["WorkerPool:JobTimeout"] = "00:00:00.300",
            ["WorkerPool:AllowedTargetHosts:0"] = _target.BaseAddress.Authority,
            ["WorkerPool:AllowedTargetHosts:1"] = "127.0.0.1:1",
        }).Start();
        using var client = worker.Client();

        var ids = await client.SubmitAsync(
            _target.Url("/ok"),
            _target.Url("/status/500"),
            _target.Url("/slow/5000"),
            "http://127.0.0.1:1/refused");
        var results = await client.WaitCompletedAsync(ids);

        Assert.Equal(["success", "failed", "timeout", "failed"], results.Select(r => r.Status()));
        Assert.Equal(200, results[0].GetProperty("result").GetProperty("httpStatusCode").GetInt32());
        Assert.Equal(100, results[0].GetProperty("result").GetProperty("bytes").GetInt64());
        Assert.Equal(500, results[1].GetProperty("result").GetProperty("httpStatusCode").GetInt32());
        Assert.Contains("JobTimeout", results[2].GetProperty("result").GetProperty("error").GetString());
        Assert.Contains("ConnectionError", results[3].GetProperty("result").GetProperty("error").GetString());

        var metrics = await client.MetricsAsync();
        Assert.Equal(1, WorkerClient.Sample(metrics, "jobs_total{status=\"success\"}"));
        Assert.Equal(2, WorkerClient.Sample(metrics, "jobs_total{status=\"failed\"}"));
        Assert.Equal(1, WorkerClient.Sample(metrics, "jobs_total{status=\"timeout\"}"));
        Assert.Equal(1, WorkerClient.Sample(metrics, "job_duration_seconds_count{status=\"timeout\"}"));
        // The timed-out job took at least its timeout and well under the target's 5 s.
        var timeoutSeconds = WorkerClient.Sample(metrics, "job_duration_seconds_sum{status=\"timeout\"}")!.Value;
        Assert.InRange(timeoutSeconds, 0.28, 2.0); // timers may fire a hair early
    }

    [Fact]
    public async Task Shutdown_finishes_in_flight_jobs_cancels_the_rest_and_records_every_outcome()
    {
        var worker = new WorkerApp(new Dictionary<string, string?>
        {
            ["WorkerPool:Workers"] = "2",
            ["WorkerPool:ShutdownGracePeriod"] = "00:00:03",
            ["WorkerPool:AllowedTargetHosts:0"] = _target.BaseAddress.Authority,
        }).Start();
        await using var _ = worker;
        using var client = worker.Client();
        var store = worker.Get<JobStore>();
        var intake = worker.Get<JobIntake>();

        // Long enough that both fetches are in flight together even when the second worker starts late on a busy machine
        // (300 ms was not, once, in CI); short enough to finish inside the 3 s grace period.
        var ids = await client.SubmitAsync(_target.Url("/slow/1500"), _target.Url("/hold"), _target.Url("/ok"), _target.Url("/ok"));
        await Poll.UntilAsync(() => _target.InFlight == 2, "two jobs in flight", TimeSpan.FromSeconds(10));

        var stopwatch = Stopwatch.StartNew();
        await worker.StopAsync();
        stopwatch.Stop();

        var outcomes = ids.Select(id => store.Get(id)!).ToList();
        Assert.All(outcomes, o => Assert.Equal(JobState.Completed, o.State));
        Assert.True("success" == outcomes[0].Result!.Status, $"in-flight job within grace: {outcomes[0].Result}");
        Assert.Equal("canceled", outcomes[1].Result!.Status);         // still running when it elapsed
        Assert.Contains("grace period", outcomes[1].Result!.Error);
        Assert.Equal("canceled", outcomes[2].Result!.Status);         // queued, never started
        Assert.Equal("canceled", outcomes[3].Result!.Status);
        Assert.Null(outcomes[2].Result!.WorkerId);
        Assert.InRange(stopwatch.Elapsed, TimeSpan.FromSeconds(2.9), TimeSpan.FromSeconds(8));
        // The summary counts every queued job canceled, whether a worker's loop or the final drain recorded it.
        Assert.Contains(worker.Logs.Logs, l => l.Message == "Worker pool stopped; 2 queued jobs were canceled before they started");

        // Intake is closed once shutdown began.
        var late = await intake.SubmitAsync([_target.Url("/ok")]);
        Assert.Equal(EnqueueOutcome.ShuttingDown, Assert.IsType<IntakeResult.Refused>(late).Reason);
    }

    [Fact]
    public async Task While_draining_a_new_batch_gets_503_with_retry_after_results_stay_readable_and_every_canceled_job_is_counted()
    {
        var worker = new WorkerApp(new Dictionary<string, string?>
        {
            ["WorkerPool:Workers"] = "1",
            ["WorkerPool:ShutdownGracePeriod"] = "00:00:02",
            [_target.AllowListEntry().Key] = _target.AllowListEntry().Value,
        }).Start();
        await using var _ = worker;
        using var client = worker.Client();
        var ids = await client.SubmitAsync(_target.Url("/hold"), _target.Url("/ok"), _target.Url("/ok"));
        await Poll.UntilAsync(() => _target.InFlight == 1, "one job in flight", TimeSpan.FromSeconds(10));
        // Scraped when the host has stopped, before Program's app.Run() disposes it (ServiceApp.StopAsync).
        var exporter = worker.Get<ObsStack.ServiceDefaults.Metrics.PrometheusPullExporter>();
        var final = new TaskCompletionSource<string?>(TaskCreationOptions.RunContinuationsAsynchronously);
        worker.Get<Microsoft.Extensions.Hosting.IHostApplicationLifetime>().ApplicationStopped.Register(() => final.TrySetResult(exporter.Scrape()));

        var stopping = worker.StopAsync();
        await Poll.UntilAsync(() => worker.Logs.Logs.Any(l => l.Message.StartsWith("Worker pool draining", StringComparison.Ordinal)) || stopping.IsCompleted,
            "the drain to begin", TimeSpan.FromSeconds(5));

        // The server still answers during the grace period: new work is refused with a reason and a delay, results are readable.
        using var late = await client.PostAsJsonAsync("/jobs", new { urls = new[] { _target.Url("/ok") } });
        var problem = await Api.ApiTest.ProblemAsync(late, 503);
        Assert.Equal("Shutting down", problem.GetProperty("title").GetString());
        Assert.Equal(TimeSpan.FromSeconds(5), late.Headers.RetryAfter?.Delta);
        Assert.Equal("Running", (await client.GetJobAsync(ids[0])).GetProperty("state").GetString());
        Assert.False(stopping.IsCompleted);

        await stopping;

        // The held job was canceled at the end of the grace period, the two queued ones before they started: all three counted.
        var metrics = Assert.IsType<string>(await final.Task.WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.Equal(3, WorkerClient.Sample(metrics, "jobs_total{status=\"canceled\"}"));
        Assert.Equal(3, WorkerClient.Sample(metrics, "job_duration_seconds_count{status=\"canceled\"}"));
        Assert.Equal(1, WorkerClient.Sample(metrics, "jobs_rejected_total{reason=\"shutting_down\"}"));
        Assert.Contains(worker.Logs.Logs, l => l.Message == "Worker pool stopped; 2 queued jobs were canceled before they started");
    }
}
