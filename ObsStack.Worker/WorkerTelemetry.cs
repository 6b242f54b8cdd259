using System.Diagnostics;
using System.Diagnostics.Metrics;
using ObsStack.Worker.Jobs;
using Microsoft.Extensions.Options;

namespace ObsStack.Worker;

/// <summary>
/// The worker's activity source and instruments. Names are dotted with a unit, so Prometheus' standard translation
/// gives exactly the names of docs/architecture.md: <c>jobs_total</c>, <c>job_duration_seconds</c>, <c>workers_active</c>,
/// <c>jobs_queue_depth</c>, <c>workers_pool_size</c>, <c>jobs_rejected_total</c>; and <c>jobs_queue_lag_seconds</c>,
/// <c>jobs_reclaimed_total</c>, <c>jobs_dead_lettered_total</c>.
/// </summary>
public sealed class WorkerTelemetry : IDisposable
{
    public const string ActivitySourceName = "ObsStack.Worker";
    public const string MeterName = "ObsStack.Worker";
    public const string ProcessJobSpan = "process_job";

    /// <summary>
    /// Redis with Prefetch: one write of outcomes recorded behind their jobs, under the first job's span and linked to
    /// the others'. The jobs' spans have ended by then, and a Redis span under an ended span can be lost.
    /// </summary>
    public const string RecordOutcomesSpan = "record_outcomes";

    // Seconds buckets spanning a fast loopback fetch (5 ms) to the default job timeout (10 s).
    private static readonly double[] DurationBuckets = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

    private int _busyWorkers;

    public WorkerTelemetry(IMeterFactory meterFactory, IJobEngine engine, IOptions<WorkerPoolOptions> options)
    {
        var meter = meterFactory.Create(MeterName);
        var poolSize = options.Value.Workers;

        Jobs = meter.CreateCounter<long>("jobs", "{job}", "Jobs finished, by status (success, failed, timeout, canceled).");
        Duration = meter.CreateHistogram("job.duration", "s", "Time from a worker taking a job to its outcome.",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = DurationBuckets });
        Rejected = meter.CreateCounter<long>("jobs.rejected", "{job}", "Jobs refused at intake, by reason (queue_full, shutting_down, unavailable).");
        Reclaimed = meter.CreateCounter<long>("jobs.reclaimed", "{job}",
            "Jobs taken over from a worker that held them past WorkerPool:VisibilityTimeout (it died or stalled): each runs again.");
        DeadLettered = meter.CreateCounter<long>("jobs.dead_lettered", "{entry}",
            "Queue entries that could not be read as a job, moved to the dead-letter stream instead of being retried.");
        meter.CreateObservableGauge("workers.active", () => Volatile.Read(ref _busyWorkers), "{worker}", "Workers running a job now.");
        meter.CreateObservableGauge("workers.pool.size", () => poolSize, "{worker}", "Configured number of workers.");
        // Read from the engine when Prometheus collects (the channel, or Redis' last reading): never a hand-kept count
        // that could drift. With Redis every worker reports the same shared queue: aggregate with max, not sum.
        meter.CreateObservableGauge("jobs.queue.depth", () => engine.QueueDepth, "{job}", "Jobs waiting for a worker.");
        meter.CreateObservableGauge("jobs.queue.lag", () => engine.QueueLagSeconds, "s", "Age of the oldest job waiting for a worker.");
    }

    public ActivitySource Source { get; } = new(ActivitySourceName);

    public Counter<long> Jobs { get; }

    public Histogram<double> Duration { get; }

    public Counter<long> Rejected { get; }

    public Counter<long> Reclaimed { get; }

    public Counter<long> DeadLettered { get; }

    public int BusyWorkers => Volatile.Read(ref _busyWorkers);

    public void WorkerBusy() => Interlocked.Increment(ref _busyWorkers);

    public void WorkerIdle() => Interlocked.Decrement(ref _busyWorkers);

    public void Dispose() => Source.Dispose();
}
