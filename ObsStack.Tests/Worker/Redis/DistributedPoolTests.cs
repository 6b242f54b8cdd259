using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using ObsStack.Tests.Api;
using ObsStack.Tests.Infrastructure;
using StackExchange.Redis;

namespace ObsStack.Tests.Worker.Redis;

/// <summary>
/// The distributed worker pool as a user scaling out runs it: worker and api as real processes on one real Redis
/// (append-only file on), jobs through any api, run by any worker, readable through any api — and what happens when a
/// worker is killed or stopped, when Redis goes away and comes back, and when the shared queue is full.
/// Each test uses its own key prefix, so they share the collection's Redis without seeing each other's jobs.
/// </summary>
[Collection(RedisCollection.Name)]
[Trait("Category", "Redis")]
public sealed class DistributedPoolTests(RedisServer redis) : IAsyncLifetime
{
    private static readonly TimeSpan RunTimeout = TimeSpan.FromSeconds(90);
    private readonly string _prefix = $"test-{Guid.NewGuid():N}";
    private TargetServer _target = null!;

    public async Task InitializeAsync() => _target = await TargetServer.StartAsync();

    public async Task DisposeAsync()
    {
        _target.Release();
        await _target.DisposeAsync();
    }

    [SkippableTheory]
    [InlineData(0)]
    [InlineData(8)]
    public async Task A_thousand_jobs_through_two_apis_on_two_workers_all_complete_and_each_is_readable_through_either_api(int prefetch)
    {
        RedisServer.SkipIfUnavailable();
        // With entries taken ahead too (outcomes written behind in batches): every job still runs once.
        (string, string)[] settings = [("WorkerPool__QueueCapacity", "1000"), ("WorkerPool__Workers", "8"), ("WorkerPool__Prefetch", $"{prefetch}")];
        await using var worker1 = await StartWorkerAsync(settings);
        await using var worker2 = await StartWorkerAsync(settings);
        await using var api1 = await StartApiAsync(worker1);
        await using var api2 = await StartApiAsync(worker2);
        using var client1 = api1.Client();
        using var client2 = api2.Client();

        var batches = await Task.WhenAll(Enumerable.Range(0, 10).Select(i =>
            (i % 2 == 0 ? client1 : client2).SubmitAsync([.. Enumerable.Range(0, 100).Select(j => _target.Url($"/ok?n={i * 100 + j}"))])));
        var ids = batches.SelectMany(b => b).ToList();
        Assert.Equal(1000, ids.Distinct().Count());

        await Poll.UntilAsync(async () => await SucceededAsync(worker1) + await SucceededAsync(worker2) >= 1000,
            "1,000 jobs done by the two workers", RunTimeout);

        // Both workers served: the queue is one for the deployment, not one per process; and none ran twice.
        var (done1, done2) = (await SucceededAsync(worker1), await SucceededAsync(worker2));
        Assert.True(done1 > 0 && done2 > 0, $"each worker runs jobs: {done1} and {done2}");
        Assert.Equal(1000, done1 + done2);

        // Every job reads Completed through the api it was not submitted to, as well as through the one it was.
        await Parallel.ForEachAsync(ids.Select((id, i) => (id, i)), new ParallelOptions { MaxDegreeOfParallelism = 8 }, async (item, _) =>
        {
            var other = item.i / 100 % 2 == 0 ? client2 : client1;
            // Counted a moment before its state is written: each is read until Completed.
            var job = (await other.WaitCompletedAsync([item.id], RunTimeout))[0];
            Assert.Equal("success", job.Status());
            Assert.Equal(1, job.GetProperty("attempt").GetInt32());
        });
        Assert.Equal("Completed", (await client1.GetJobAsync(ids[0])).GetProperty("state").GetString());
    }

    [SkippableTheory]
    [InlineData(0)]
    [InlineData(4)]
    public async Task A_killed_worker_s_jobs_are_reclaimed_by_the_other_and_every_accepted_job_completes(int prefetch)
    {
        RedisServer.SkipIfUnavailable();
        // A 200 ms fetch must never time out here, even on a machine busy with the rest of the suite (a 2 s timeout
        // did, once in CI); the visibility timeout stays short so the reclaim comes within seconds (with entries taken
        // ahead, beyond twice the job timeout). Killed with entries ahead and outcomes not yet written, too.
        (string, string)[] settings =
        [
            ("WorkerPool__Workers", "4"), ("WorkerPool__Prefetch", $"{prefetch}"),
            ("WorkerPool__JobTimeout", "00:00:05"), ("WorkerPool__VisibilityTimeout", prefetch == 0 ? "00:00:07" : "00:00:12"),
        ];
        var victim = await StartWorkerAsync(settings);
        await using var _ = victim;
        await using var survivor = await StartWorkerAsync(settings);
        using var client = survivor.Client();
        var ids = await client.SubmitAsync([.. Enumerable.Range(0, 80).Select(i => _target.Url($"/slow/200?n={i}"))]);

        // Killed mid-run: it has finished some jobs and holds others.
        await Poll.UntilAsync(async () => await SucceededAsync(victim) >= 4, "the victim to be mid-run", RunTimeout);
        await victim.KillAsync();

        var jobs = await client.WaitCompletedAsync(ids, RunTimeout);
        Assert.All(jobs, job => Assert.Equal("success", job.Status()));
        Assert.All(jobs, job => Assert.InRange(job.GetProperty("attempt").GetInt32(), 1, 3));
        // A duplicate is visible: a second attempt on the job, the reclaim counted and logged by the worker that took it.
        Assert.Contains(jobs, job => job.GetProperty("attempt").GetInt32() == 2);
        var reclaimed = WorkerClient.Sample(await client.MetricsAsync(), "jobs_reclaimed_total");
        Assert.True(reclaimed >= 1, $"jobs_reclaimed_total on the survivor: {reclaimed}");
        Assert.True(survivor.Logged("reclaimed (entry"), "the survivor logs each job it reclaims");
    }

    [SkippableFact]
    public async Task A_job_whose_runs_all_end_without_an_outcome_is_canceled_after_max_attempts()
    {
        RedisServer.SkipIfUnavailable();
        (string, string)[] settings =
        [
            ("WorkerPool__Workers", "1"), ("WorkerPool__MaxAttempts", "1"),
            ("WorkerPool__JobTimeout", "00:00:05"), ("WorkerPool__VisibilityTimeout", "00:00:07"),
        ];
        Guid id;
        await using (var victim = await StartWorkerAsync(settings))
        {
            using var submit = victim.Client();
            id = (await submit.SubmitAsync(_target.Url("/hold")))[0];
            await Poll.UntilAsync(() => _target.InFlight == 1, $"the job to be running:\n{string.Join('\n', victim.Lines.TakeLast(20))}", RunTimeout);
            await victim.KillAsync();
        }

        await using var next = await StartWorkerAsync(settings);
        using var client = next.Client();
        var job = (await client.WaitCompletedAsync([id], RunTimeout))[0];

        Assert.Equal("canceled", job.Status());
        Assert.Contains("MaxAttempts", job.GetProperty("result").GetProperty("error").GetString());
        Assert.True(next.Logged($"Job {id} given up"), "the give-up is logged once");
    }

    [SkippableTheory]
    [InlineData(0)]
    [InlineData(4)]
    public async Task A_stopped_worker_finishes_its_job_leaves_the_queued_ones_queued_and_another_worker_runs_them(int prefetch)
    {
        RedisServer.SkipIfUnavailable();
        // With entries taken ahead: those go back to the queue, and the running job's outcome is written before the exit.
        var stopping = await StartWorkerAsync(("WorkerPool__Workers", "1"), ("WorkerPool__Prefetch", $"{prefetch}"));
        await using var _ = stopping;
        using var submit = stopping.Client();
        var ids = await submit.SubmitAsync([.. Enumerable.Range(0, 20).Select(i => _target.Url($"/slow/100?n={i}"))]);
        await Poll.UntilAsync(() => _target.InFlight == 1, "a job in flight", RunTimeout);

        await stopping.TerminateAsync(TimeSpan.FromSeconds(30));
        Assert.True(stopping.Logged("none canceled"), "the pool's stop line says nothing was canceled");

        // Nothing was canceled because one process stopped: each job is done or still waiting, in Redis.
        var states = await Task.WhenAll(ids.Select(id => redis.Db.HashGetAsync($"{_prefix}:job:{id}", "state")));
        Assert.All(states, state => Assert.Contains((string?)state, new[] { "Queued", "Completed" }));
        Assert.Contains(states, state => state == "Queued");

        await using var other = await StartWorkerAsync(("WorkerPool__Workers", "4"));
        using var client = other.Client();
        var jobs = await client.WaitCompletedAsync(ids, RunTimeout);
        Assert.All(jobs, job => Assert.Equal("success", job.Status()));
    }

    [SkippableFact]
    public async Task With_prefetch_a_worker_holds_entries_ahead_of_its_busy_workers_and_they_leave_the_waiting_count()
    {
        RedisServer.SkipIfUnavailable();
        await using var worker = await StartWorkerAsync(("WorkerPool__Workers", "1"), ("WorkerPool__Prefetch", "2"));
        using var client = worker.Client();

        var ids = await client.SubmitAsync([_target.Url("/hold"), .. Enumerable.Range(0, 5).Select(i => _target.Url($"/ok?n={i}"))]);
        await Poll.UntilAsync(() => _target.InFlight == 1, "the held job running", RunTimeout);

        // One running and two ahead, taken by this process; the other three still waiting for any worker.
        await Poll.UntilAsync(async () => (await redis.Db.StreamPendingAsync($"{_prefix}:queue", "workers")).PendingMessageCount == 3,
            "three entries taken (one running, two ahead)", RunTimeout);
        await Poll.UntilAsync(async () => WorkerClient.Sample(await client.MetricsAsync(), "jobs_queue_depth") == 3,
            "jobs_queue_depth 3", RunTimeout);
        Assert.Equal(1, _target.InFlight);

        _target.Release();
        var jobs = await client.WaitCompletedAsync(ids, RunTimeout);
        Assert.All(jobs, job => Assert.Equal("success", job.Status()));
        Assert.All(jobs, job => Assert.Equal(1, job.GetProperty("attempt").GetInt32()));
    }

    [SkippableFact]
    public async Task While_redis_is_down_intake_is_503_with_retry_after_readiness_fails_and_after_its_restart_every_accepted_job_completes()
    {
        RedisServer.SkipIfUnavailable();
        var own = new RedisServer();
        await own.InitializeAsync();
        try
        {
            await using var worker = await StartWorkerAsync(own, ("WorkerPool__Workers", "2"));
            await using var api = await StartApiAsync(worker);
            using var client = api.Client();
            using var workerClient = worker.Client();
            var ids = await client.SubmitAsync([.. Enumerable.Range(0, 30).Select(i => _target.Url($"/slow/100?n={i}"))]);

            await own.StopAsync();

            var stopwatch = Stopwatch.StartNew();
            using var refused = await client.PostAsJsonAsync("/jobs", new { urls = new[] { _target.Url("/ok") } });
            stopwatch.Stop();
            Assert.True(refused.StatusCode == HttpStatusCode.ServiceUnavailable, $"expected 503, got {(int)refused.StatusCode}\n{worker.Complaints()}");
            var problem = await ApiTest.ProblemAsync(refused, 503);
            Assert.Equal("Job engine unavailable", problem.GetProperty("title").GetString());
            Assert.NotNull(refused.Headers.RetryAfter);
            Assert.True(stopwatch.Elapsed < TimeSpan.FromSeconds(5), $"answered within Api:WorkerTimeout: {stopwatch.Elapsed}");
            await Poll.UntilAsync(async () =>
            {
                using var health = await workerClient.GetAsync("/health");
                return health.StatusCode == HttpStatusCode.ServiceUnavailable;
            }, "/health to report Redis down", RunTimeout);
            using (var alive = await workerClient.GetAsync("/alive"))
            {
                Assert.Equal(HttpStatusCode.OK, alive.StatusCode);
            }

            await own.StartAsync();

            var jobs = await client.WaitCompletedAsync(ids, RunTimeout);
            Assert.All(jobs, job => Assert.Equal("success", job.Status()));
            Assert.Single(await client.SubmitAsync(_target.Url("/ok")));
            Assert.True(worker.Logged("Job engine available again"), "the end of the outage is logged");
        }
        finally
        {
            await own.DisposeAsync();
        }
    }

    [SkippableFact]
    public async Task The_queue_is_shared_a_batch_past_its_capacity_is_429_and_leaves_nothing_in_redis()
    {
        RedisServer.SkipIfUnavailable();
        (string, string)[] settings = [("WorkerPool__Workers", "1"), ("WorkerPool__QueueCapacity", "5"), ("WorkerPool__ResultCapacity", "10")];
        await using var worker1 = await StartWorkerAsync(settings);
        await using var worker2 = await StartWorkerAsync(settings);
        using var client1 = worker1.Client();
        using var client2 = worker2.Client();

        // Both workers busy, then five jobs waiting: the deployment's queue is full, whichever worker is asked.
        await client1.SubmitAsync(_target.Url("/hold"), _target.Url("/hold"));
        await Poll.UntilAsync(() => _target.InFlight == 2, "both workers busy", RunTimeout);
        var waiting = await client1.SubmitAsync([.. Enumerable.Range(0, 5).Select(i => _target.Url($"/ok?n={i}"))]);
        var keysBefore = await KeysAsync();

        using var refused = await client2.PostAsJsonAsync("/jobs", new { urls = new[] { _target.Url("/ok?late") } });
        var problem = await ApiTest.ProblemAsync(refused, 429);
        Assert.Equal("Queue full", problem.GetProperty("title").GetString());
        Assert.NotNull(refused.Headers.RetryAfter);
        Assert.Equal(keysBefore, await KeysAsync());
        Assert.Equal(5, (long)await redis.Db.StreamLengthAsync($"{_prefix}:queue") - 2);

        _target.Release();
        var jobs = await client2.WaitCompletedAsync(waiting, RunTimeout);
        Assert.All(jobs, job => Assert.Equal("success", job.Status()));
    }

    [SkippableFact]
    public async Task Finished_states_are_bounded_in_redis_for_the_deployment_within_a_hundredth_of_the_capacity()
    {
        RedisServer.SkipIfUnavailable();
        (string, string)[] settings = [("WorkerPool__Workers", "4"), ("WorkerPool__ResultCapacity", "200")];
        await using var worker1 = await StartWorkerAsync(settings);
        await using var worker2 = await StartWorkerAsync(settings);
        using var client1 = worker1.Client();
        using var client2 = worker2.Client();

        // 240 jobs run by the two workers, each outcome indexed by the process that ran it.
        var ids = new List<Guid>();
        for (var batch = 0; batch < 3; batch++)
        {
            ids.AddRange(await (batch % 2 == 0 ? client1 : client2).SubmitAsync([.. Enumerable.Range(0, 80).Select(i => _target.Url($"/ok?n={batch * 80 + i}"))]));
            await Poll.UntilAsync(async () => await SucceededAsync(worker1) + await SucceededAsync(worker2) >= ids.Count, $"{ids.Count} jobs done", RunTimeout);
        }

        // Trimmed in steps of 2 (a hundredth of 200): 200 or 201 states kept, each one the index names, each with its TTL.
        var indexed = (await redis.Db.SortedSetRangeByRankAsync($"{_prefix}:done")).Select(k => (string)k!).ToHashSet();
        Assert.InRange(indexed.Count, 200, 201);
        var states = await KeysAsync($"{_prefix}:job:*");
        Assert.Equal(indexed.Order(StringComparer.Ordinal), states);
        foreach (var key in states)
        {
            Assert.InRange((await redis.Db.KeyTimeToLiveAsync(key))!.Value, TimeSpan.FromMinutes(59), TimeSpan.FromHours(1));
        }

        // Through either worker: the kept jobs read Completed, the evicted ones (the oldest) are gone.
        var readable = 0;
        foreach (var (id, i) in ids.Select((id, i) => (id, i)))
        {
            using var response = await (i % 2 == 0 ? client1 : client2).GetAsync($"/jobs/{id}");
            Assert.True(response.StatusCode is HttpStatusCode.OK or HttpStatusCode.NotFound, $"GET /jobs/{id}: {(int)response.StatusCode}");
            readable += response.StatusCode == HttpStatusCode.OK ? 1 : 0;
        }

        Assert.Equal(indexed.Count, readable);
        Assert.DoesNotContain($"{_prefix}:job:{ids[0]:D}", indexed);
        Assert.Contains($"{_prefix}:job:{ids[^1]:D}", indexed);
    }

    [SkippableFact]
    public async Task Finished_states_expire_after_the_retention_and_the_next_trim_step_drops_them_from_the_index()
    {
        RedisServer.SkipIfUnavailable();
        (string, string)[] settings = [("WorkerPool__Workers", "2"), ("WorkerPool__QueueCapacity", "6"), ("WorkerPool__ResultCapacity", "10"), ("WorkerPool__ResultRetention", "00:00:05")];
        await using var worker = await StartWorkerAsync(settings);
        using var client = worker.Client();

        var old = await client.SubmitAsync([.. Enumerable.Range(0, 4).Select(i => _target.Url($"/ok?old={i}"))]);
        await client.WaitCompletedAsync(old, RunTimeout);
        await Poll.UntilAsync(async () => (await KeysAsync($"{_prefix}:job:*")).Count == 0, "the states expired (TTL 5 s)", RunTimeout);
        Assert.Equal(4, await redis.Db.SortedSetLengthAsync($"{_prefix}:done"));

        // Eleven indexed past a capacity of 10: the trim step drops the four past the retention, not the newest.
        var recent = new List<Guid>();
        foreach (var size in new[] { 4, 3 })
        {
            recent.AddRange(await client.SubmitAsync([.. Enumerable.Range(0, size).Select(i => _target.Url($"/ok?new={recent.Count + i}"))]));
            await client.WaitCompletedAsync(recent, RunTimeout);
        }

        var indexed = (await redis.Db.SortedSetRangeByRankAsync($"{_prefix}:done")).Select(k => (string)k!).ToList();
        Assert.All(old, id => Assert.DoesNotContain($"{_prefix}:job:{id:D}", indexed));
        Assert.All(indexed, key => Assert.Contains(recent, id => key == $"{_prefix}:job:{id:D}"));
        Assert.InRange(indexed.Count, 1, 7);
    }

    [SkippableFact]
    public async Task A_poisoned_queue_entry_is_dead_lettered_with_one_log_line_and_the_queue_moves_on()
    {
        RedisServer.SkipIfUnavailable();
        await using var worker = await StartWorkerAsync(("WorkerPool__Workers", "2"));
        using var client = worker.Client();

        var poisoned = await redis.Db.StreamAddAsync($"{_prefix}:queue", [new NameValueEntry("id", "not-a-job"), new NameValueEntry("url", "ftp://x")]);
        var ids = await client.SubmitAsync(_target.Url("/ok"));

        Assert.Equal("success", (await client.WaitCompletedAsync(ids, RunTimeout))[0].Status());
        await Poll.UntilAsync(() => worker.Logged($"Dead-lettered queue entry {poisoned}"), "the dead-letter log line", RunTimeout);
        Assert.Single(worker.Lines, line => line.Contains("Dead-lettered queue entry", StringComparison.Ordinal));
        var dead = await redis.Db.StreamRangeAsync($"{_prefix}:dead");
        Assert.Equal("not-a-job", (string?)Assert.Single(dead)["id"]);
        Assert.Equal(0, await redis.Db.StreamLengthAsync($"{_prefix}:queue"));
        Assert.Equal(1, WorkerClient.Sample(await client.MetricsAsync(), "jobs_dead_lettered_total"));
    }

    [SkippableTheory]
    [InlineData(0)]
    [InlineData(4)]
    public async Task A_job_submitted_through_the_api_is_one_trace_through_redis_into_process_job_with_redis_spans_under_it(int prefetch)
    {
        RedisServer.SkipIfUnavailable();
        await using var otlp = await OtlpReceiver.StartAsync();
        (string, string)[] exporting =
        [
            ("Telemetry__Traces__OtlpEndpoint", otlp.TracesEndpoint.ToString()),
            ("Telemetry__Export__ScheduledDelay", "00:00:00.100"),
        ];
        // With entries taken ahead the outcome is written behind, after process_job ended: its Redis span sits under a
        // record_outcomes span under process_job.
        await using var worker = await StartWorkerAsync([.. exporting, ("WorkerPool__Prefetch", $"{prefetch}")]);
        await using var api = await StartApiAsync(worker, exporting);
        using var client = api.Client();

        var id = (await client.SubmitAsync(_target.Url("/ok")))[0];
        var job = (await client.WaitCompletedAsync([id], RunTimeout))[0];
        var traceId = job.GetProperty("traceId").GetString()!;

        await otlp.WaitForAsync(r =>
        {
            var spans = r.Spans.Where(s => s.TraceId == traceId).ToList();
            var intake = spans.FirstOrDefault(s => s.Service == "worker" && s.Name == "POST /jobs");
            var run = spans.FirstOrDefault(s => s.Service == "worker" && s.Name == "process_job");
            return spans.Any(s => s.Service == "api" && s.Name == "POST /jobs")
                && intake is not null && run is not null && run.ParentSpanId == intake.SpanId
                && run.Attribute("attempt") == "1" && run.Attribute("job.id") == id.ToString()
                && spans.Any(s => s.Scope.Contains("Redis", StringComparison.Ordinal) && s.ParentSpanId == intake.SpanId)
                && spans.Any(s => s.Scope.Contains("Redis", StringComparison.Ordinal) && s.ParentSpanId == (prefetch == 0
                    ? run.SpanId
                    : spans.FirstOrDefault(r => r.Name == "record_outcomes" && r.ParentSpanId == run.SpanId)?.SpanId));
        }, $"trace {traceId}: api POST /jobs → worker POST /jobs (Redis span) → process_job ({(prefetch == 0 ? "" : "record_outcomes → ")}Redis span)", RunTimeout);
    }

    private Task<ServiceProcess> StartWorkerAsync(params (string Key, string Value)[] settings) => StartWorkerAsync(redis, settings);

    private Task<ServiceProcess> StartWorkerAsync(RedisServer server, params (string Key, string Value)[] settings)
    {
        var environment = new Dictionary<string, string>
        {
            ["ConnectionStrings__redis"] = server.ConnectionString,
            ["WorkerPool__RedisKeyPrefix"] = _prefix,
            ["WorkerPool__AllowedTargetHosts__0"] = _target.BaseAddress.Authority,
            ["Logging__LogLevel__Default"] = "Warning",
            ["Logging__LogLevel__ObsStack"] = "Information",
        };
        foreach (var (key, value) in settings)
        {
            environment[key] = value;
        }

        return ServiceProcess.StartAsync("ObsStack.Worker", "worker", environment);
    }

    private static Task<ServiceProcess> StartApiAsync(ServiceProcess worker, params (string Key, string Value)[] settings)
    {
        var environment = new Dictionary<string, string>
        {
            ["services__worker__http__0"] = worker.Address.ToString(),
            ["Api__ChaosKey"] = ApiApp.ChaosKey,
            ["Logging__LogLevel__Default"] = "Warning",
        };
        foreach (var (key, value) in settings)
        {
            environment[key] = value;
        }

        return ServiceProcess.StartAsync("ObsStack.Api", "api", environment);
    }

    private static async Task<double> SucceededAsync(ServiceProcess worker)
    {
        using var client = worker.Client();
        return WorkerClient.Sample(await client.MetricsAsync(), "jobs_total{status=\"success\"}") ?? 0;
    }

    private async Task<string> KeysAsync() => string.Join(",", await KeysAsync($"{_prefix}:*"));

    private async Task<List<string>> KeysAsync(string pattern)
    {
        var server = redis.Db.Multiplexer.GetServers().Single();
        var keys = new List<string>();
        await foreach (var key in server.KeysAsync(pattern: pattern))
        {
            keys.Add(key!);
        }

        keys.Sort(StringComparer.Ordinal);
        return keys;
    }
}
