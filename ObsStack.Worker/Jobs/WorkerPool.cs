using Microsoft.Extensions.Options;

namespace ObsStack.Worker.Jobs;

/// <summary>
/// A fixed pool of N workers reading the bounded queue. On shutdown: intake closes, no worker starts another job,
/// in-flight jobs get <see cref="WorkerPoolOptions.ShutdownGracePeriod"/> to finish and are canceled after it, and
/// jobs still queued are recorded as canceled — every accepted job ends with a recorded outcome.
/// The drain runs while the web server still answers (<see cref="DrainingPool"/>).
/// </summary>
public sealed partial class WorkerPool(
    JobQueue queue,
    JobRunner runner,
    IOptions<WorkerPoolOptions> options,
    ILogger<WorkerPool> logger) : DrainingPool
{
    private int _notStarted;

    protected override Task ExecuteAsync(CancellationToken stoppingToken)
    {
        LogStarted(options.Value.Workers, queue.Capacity);
        var workers = Enumerable.Range(1, options.Value.Workers).Select(id => RunWorkerAsync(id, stoppingToken));
        return Task.WhenAll(workers);
    }

    private async Task RunWorkerAsync(int workerId, CancellationToken stoppingToken)
    {
        // Leave the host's startup path at once; the loop runs on the thread pool.
        await Task.Yield();
        using var deadline = runner.CreateDeadline(InFlightAborted);
        try
        {
            await foreach (var job in queue.Reader.ReadAllAsync(stoppingToken))
            {
                if (stoppingToken.IsCancellationRequested)
                {
                    // ReadAllAsync keeps yielding buffered items after cancellation; shutdown starts no new job.
                    RecordNotStarted(job);
                    continue;
                }

                await runner.RunAsync(job, workerId, deadline);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Normal shutdown: the wait for the next job was canceled.
        }
    }

    protected override async Task DrainAsync(CancellationToken cancellationToken)
    {
        queue.Close();
        var grace = options.Value.ShutdownGracePeriod;
        LogDraining(queue.Count, grace.TotalSeconds);

        await StopWorkersWithinAsync(grace, () => LogGraceElapsed(grace.TotalSeconds), cancellationToken, cancellationToken);

        while (queue.Reader.TryRead(out var job))
        {
            RecordNotStarted(job);
        }

        LogStopped(Volatile.Read(ref _notStarted));
    }

    private void RecordNotStarted(Job job)
    {
        // In memory: the store and the metrics are written synchronously, so the task is already complete.
        runner.RecordNotStartedAsync(job, "Canceled: the worker shut down before the job started.").GetAwaiter().GetResult();
        Interlocked.Increment(ref _notStarted);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Worker pool started: {Workers} workers, queue capacity {QueueCapacity}")]
    private partial void LogStarted(int workers, int queueCapacity);

    [LoggerMessage(Level = LogLevel.Information, Message = "Worker pool draining: new jobs get 503, {Queued} queued jobs will be canceled, in-flight jobs get {GraceSeconds} s")]
    private partial void LogDraining(int queued, double graceSeconds);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Shutdown grace period of {GraceSeconds} s elapsed; canceling in-flight jobs")]
    private partial void LogGraceElapsed(double graceSeconds);

    [LoggerMessage(Level = LogLevel.Information, Message = "Worker pool stopped; {NotStarted} queued jobs were canceled before they started")]
    private partial void LogStopped(int notStarted);
}
