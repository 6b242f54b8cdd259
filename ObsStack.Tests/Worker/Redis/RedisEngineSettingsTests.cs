using ObsStack.Tests.Infrastructure;
using ObsStack.Worker.Jobs;
using ObsStack.Worker.Jobs.Redis;

namespace ObsStack.Tests.Worker.Redis;

/// <summary>The engine is chosen by ConnectionStrings:redis alone, and the Redis-only rules apply only with it.</summary>
public sealed class RedisEngineSettingsTests
{
    [Theory]
    [InlineData("00:00:30", "00:00:30", "0", "WorkerPool:VisibilityTimeout must exceed JobTimeout")]
    // With entries taken ahead, an entry may wait for a running job before its own run.
    [InlineData("00:00:10", "00:00:20", "4", "WorkerPool:VisibilityTimeout must exceed twice JobTimeout")]
    public async Task With_redis_a_visibility_timeout_too_short_for_a_live_worker_s_jobs_stops_the_worker_at_start_naming_the_key(
        string jobTimeout, string visibilityTimeout, string prefetch, string message)
    {
        var worker = new WorkerApp(new Dictionary<string, string?>
        {
            ["ConnectionStrings:redis"] = "127.0.0.1:1",
            ["WorkerPool:JobTimeout"] = jobTimeout,
            ["WorkerPool:VisibilityTimeout"] = visibilityTimeout,
            ["WorkerPool:Prefetch"] = prefetch,
        });
        await using var _ = worker;

        var error = Assert.ThrowsAny<Exception>(() => worker.Start());

        Assert.Contains(message, error.ToString());
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
