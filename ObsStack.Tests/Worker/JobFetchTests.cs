using Microsoft.Extensions.DependencyInjection;
using ObsStack.Tests.Infrastructure;
using ObsStack.Worker.Jobs;

namespace ObsStack.Tests.Worker;

/// <summary>How a job fetches its URL: the handler chain it goes through, and the deadline each worker reuses.</summary>
public sealed class JobFetchTests : IAsyncLifetime
{
    private TargetServer _target = null!;

    public async Task InitializeAsync() => _target = await TargetServer.StartAsync();

    public async Task DisposeAsync() => await _target.DisposeAsync();

    [Fact]
    public async Task The_fetch_goes_straight_to_the_primary_handler_without_service_discovery_or_logging_handlers()
    {
        await using var worker = new WorkerApp().Start();

        // The factory's own lifetime wrapper, then the primary handler: nothing in between.
        Assert.Equal(["LifetimeTrackingHttpMessageHandler", nameof(SocketsHttpHandler)],
            Chain(worker.Get<IHttpMessageHandlerFactory>().CreateHandler(JobRunner.HttpClientName)));

        // Other clients keep the defaults (service discovery for https+http://name URLs).
        var other = worker.Get<IHttpMessageHandlerFactory>().CreateHandler("other");
        Assert.Contains(Chain(other), name => name.Contains("Resolving", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Each_job_gets_the_whole_timeout_and_a_timed_out_job_does_not_cut_the_next_one_short()
    {
        // One worker runs all of them in turn with one reused deadline: 6 × 300 ms is well past the 1 s timeout in
        // total, so a deadline that was not re-armed per job would time out the later ones; the fired deadline of the
        // slow job must not leak into the jobs after it. (700 ms of slack per job: the suite shares two cores.)
        await using var worker = new WorkerApp(new Dictionary<string, string?>
        {
            ["WorkerPool:Workers"] = "1",
            ["WorkerPool:JobTimeout"] = "00:00:01",
            [_target.AllowListEntry().Key] = _target.AllowListEntry().Value,
        }).Start();
        using var client = worker.Client();

        var ids = await client.SubmitAsync(
            [.. Enumerable.Repeat(_target.Url("/slow/300"), 3), _target.Url("/slow/10000"), .. Enumerable.Repeat(_target.Url("/slow/300"), 3)]);
        var results = await client.WaitCompletedAsync(ids);

        Assert.Equal(["success", "success", "success", "timeout", "success", "success", "success"], results.Select(r => r.Status()));
        // The timer queue counts in coarse milliseconds, the job's clock is the Stopwatch: a few ms early is the timer's.
        var timedOut = results[3].GetProperty("result").GetProperty("durationSeconds").GetDouble();
        Assert.InRange(timedOut, 0.98, 3.0);
    }

    private static List<string> Chain(HttpMessageHandler? handler)
    {
        var names = new List<string>();
        for (; handler is not null; handler = (handler as DelegatingHandler)?.InnerHandler)
        {
            names.Add(handler.GetType().Name);
        }

        return names;
    }
}
