using System.Diagnostics.Metrics;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using ObsStack.Worker;
using ObsStack.Worker.Jobs;

namespace ObsStack.Tests.Worker;

/// <summary>Intake, queue and store together, in memory: what an accepted and a refused batch leave behind.</summary>
public sealed class JobIntakeTests : IDisposable
{
    private const string Url = "http://target.test:8080/x";

    private readonly ServiceProvider _metrics = new ServiceCollection().AddMetrics().BuildServiceProvider();
    private readonly JobQueue _queue;
    private readonly JobStore _store;
    private readonly JobIntake _intake;

    public JobIntakeTests()
    {
        var options = Options.Create(new WorkerPoolOptions { QueueCapacity = 2, AllowedTargetHosts = ["target.test:8080"] });
        _queue = new JobQueue(options);
        _store = new JobStore(options);
        var engine = new InProcessJobEngine(_queue, _store, TimeProvider.System);
        var telemetry = new WorkerTelemetry(_metrics.GetRequiredService<IMeterFactory>(), engine, options);
        _intake = new JobIntake(engine, new TargetAllowList(options, new ConfigurationBuilder().Build()), telemetry, options);
    }

    [Fact]
    public async Task A_batch_refused_for_a_full_queue_leaves_nothing_in_the_store()
    {
        var accepted = Assert.IsType<IntakeResult.Accepted>(await _intake.SubmitAsync([Url, Url]));

        var refused = Assert.IsType<IntakeResult.Refused>(await _intake.SubmitAsync([Url]));

        Assert.Equal(EnqueueOutcome.QueueFull, refused.Reason);
        Assert.Equal(2, _queue.Count);
        Assert.Equal(2, _store.Count);
        Assert.All(accepted.Jobs, job => Assert.NotNull(_store.Get(job.Id)));
    }

    [Fact]
    public async Task A_batch_refused_while_shutting_down_leaves_nothing_in_the_store()
    {
        _queue.Close();

        var refused = Assert.IsType<IntakeResult.Refused>(await _intake.SubmitAsync([Url]));

        Assert.Equal(EnqueueOutcome.ShuttingDown, refused.Reason);
        Assert.Equal(0, _queue.Count);
        Assert.Equal(0, _store.Count);
    }

    [Fact]
    public async Task An_invalid_batch_leaves_nothing_in_the_queue_or_the_store()
    {
        Assert.IsType<IntakeResult.Invalid>(await _intake.SubmitAsync([Url, "http://elsewhere.test/"]));

        Assert.Equal(0, _queue.Count);
        Assert.Equal(0, _store.Count);
    }

    public void Dispose() => _metrics.Dispose();
}
