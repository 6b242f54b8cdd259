using ObsStack.Tests.Infrastructure;

namespace ObsStack.Tests.AppHost;

/// <summary>
/// What a developer gets from the AppHost with a Redis: two worker replicas under DCP share one queue, and each runs
/// jobs (each replica's load generator feeds the shared queue; either replica may take any job).
/// </summary>
[Collection(AppHostRedisRunCollection.Name)]
[Trait("Category", "AppHost")]
public sealed class AppHostRedisRunTests(AppHostRedisRunFixture fixture)
{
    private static readonly TimeSpan SignalTimeout = TimeSpan.FromSeconds(90);

    [SkippableFact]
    public async Task Two_worker_replicas_on_redis_each_run_jobs_their_per_instance_jobs_total_both_rising()
    {
        RedisServer.SkipIfUnavailable();

        Dictionary<string, double> first = [];
        await fixture.Receiver.WaitForAsync(r =>
        {
            var now = JobsByInstance(r);
            foreach (var (instance, value) in now)
            {
                first.TryAdd(instance, value);
            }

            return now.Count(pair => pair.Value > first[pair.Key]) >= 2;
        }, "jobs_total of two worker instances, each rising", SignalTimeout);

        Assert.Equal(2, JobsByInstance(fixture.Receiver).Count);
    }

    [SkippableFact]
    public void The_console_says_once_that_the_given_redis_is_the_job_engine_without_repeating_its_address()
    {
        RedisServer.SkipIfUnavailable();

        var said = fixture.AppHostLog.Logs.Where(l => l.Category == "ObsStack.AppHost" && l.Message.StartsWith("Job engine:", StringComparison.Ordinal)).ToList();

        var line = Assert.Single(said).Message;
        Assert.Contains("ConnectionStrings:redis", line);
        Assert.DoesNotContain(fixture.RedisConnectionString, line);
        Assert.DoesNotContain(fixture.AppHostLog.Logs, l => l.Message.StartsWith("No Redis", StringComparison.Ordinal));
    }

    /// <summary>The worker's cumulative jobs counter, summed over statuses, by <c>service.instance.id</c> (latest export each).</summary>
    private static Dictionary<string, double> JobsByInstance(OtlpReceiver receiver)
    {
        var totals = new Dictionary<string, double>();
        foreach (var resource in receiver.ResourceMetrics.Where(m => Otel.ServiceName(m.Resource) == "worker"))
        {
            var instance = Otel.Attribute(resource.Resource.Attributes, "service.instance.id") ?? "";
            foreach (var metric in resource.ScopeMetrics.SelectMany(s => s.Metrics).Where(m => m.Name == "jobs"))
            {
                var total = metric.Sum.DataPoints.Sum(p => p.HasAsInt ? p.AsInt : p.AsDouble);
                totals[instance] = Math.Max(totals.GetValueOrDefault(instance), total);
            }
        }

        return totals;
    }
}
