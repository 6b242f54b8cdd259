using ObsStack.Tests.Infrastructure;
using ObsStack.Worker.Jobs;
using ObsStack.Worker.Jobs.Redis;

namespace ObsStack.Tests.Worker.Redis;

/// <summary>The engine is chosen by ConnectionStrings:redis alone, and the Redis-only rules apply only with it.</summary>
public sealed class RedisEngineSettingsTests
{
    [Fact]
    public async Task With_redis_a_visibility_timeout_not_above_the_job_timeout_stops_the_worker_at_start_naming_the_key()
    {
        var worker = new WorkerApp(new Dictionary<string, string?>
        {
            ["ConnectionStrings:redis"] = "127.0.0.1:1",
            ["WorkerPool:JobTimeout"] = "00:00:30",
            ["WorkerPool:VisibilityTimeout"] = "00:00:30",
        });
        await using var _ = worker;

        var error = Assert.ThrowsAny<Exception>(() => worker.Start());

        Assert.Contains("WorkerPool:VisibilityTimeout must exceed JobTimeout", error.ToString());
    }

    [Fact]
    public async Task With_entries_taken_ahead_a_visibility_timeout_not_above_twice_the_job_timeout_stops_the_worker_at_start()
    {
        var worker = new WorkerApp(new Dictionary<string, string?>
        {
            ["ConnectionStrings:redis"] = "127.0.0.1:1",
            ["WorkerPool:JobTimeout"] = "00:00:10",
            ["WorkerPool:VisibilityTimeout"] = "00:00:20",
            ["WorkerPool:Prefetch"] = "4",
        });
        await using var _ = worker;

        var error = Assert.ThrowsAny<Exception>(() => worker.Start());

        Assert.Contains("WorkerPool:VisibilityTimeout must exceed twice JobTimeout", error.ToString());
    }

    [Fact]
    public async Task Without_redis_the_in_process_engine_runs_and_redis_only_settings_do_not_apply()
    {
        await using var worker = new WorkerApp(new Dictionary<string, string?>
        {
            ["WorkerPool:JobTimeout"] = "00:05:00",
        }).Start();

        Assert.IsType<InProcessJobEngine>(worker.Get<IJobEngine>());
        Assert.IsType<JobStore>(worker.Get<IJobStateSink>());
    }

    [Fact]
    public async Task With_redis_the_redis_engine_is_the_engine_and_records_states()
    {
        // Nothing listens on port 1: the client keeps reconnecting in the background; the choice is made at registration.
        await using var worker = new WorkerApp(new Dictionary<string, string?> { ["ConnectionStrings:redis"] = "127.0.0.1:1" }).Start();

        Assert.IsType<RedisJobEngine>(worker.Get<IJobEngine>());
        Assert.Same(worker.Get<IJobEngine>(), worker.Get<IJobStateSink>());
    }
}
