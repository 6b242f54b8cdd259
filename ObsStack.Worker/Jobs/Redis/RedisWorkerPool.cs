using System.Diagnostics;
using System.Threading.Channels;
using Microsoft.Extensions.Options;

namespace ObsStack.Worker.Jobs.Redis;

/// <summary>
/// This process' workers on the shared Redis queue: <see cref="WorkerPoolOptions.Workers"/> workers fed by one taker
/// that reads as many entries as workers are free (one round trip for the batch) — plus
/// <see cref="WorkerPoolOptions.Prefetch"/> ahead of them, whose outcomes a writer then records behind the workers, a
/// batch per call — a reclaimer that takes over entries
/// another process has held past <see cref="WorkerPoolOptions.VisibilityTimeout"/> (it died), and a reader of the
/// queue's depth and lag for the gauges. Delivery is at least once: a job runs again only when its run ended without
/// an outcome, at most <see cref="WorkerPoolOptions.MaxAttempts"/> times.
/// On shutdown (in <see cref="StoppingAsync"/>, while the web server still answers, as <see cref="WorkerPool"/> does):
/// intake refuses with 503, nothing more is taken, jobs taken but not started are handed back at once, in-flight jobs
/// get the grace period and are handed back after it; jobs still queued stay queued for the other workers.
/// </summary>
public sealed partial class RedisWorkerPool(
    RedisJobEngine engine,
    JobRunner runner,
    WorkerTelemetry telemetry,
    IOptions<WorkerPoolOptions> options,
    ILogger<RedisWorkerPool> logger) : DrainingPool
{
    private static readonly TimeSpan MinPoll = TimeSpan.FromMilliseconds(2);
    // The longest an idle worker process waits before asking again: the delay a job sees on an idle deployment.
    private static readonly TimeSpan MaxPoll = TimeSpan.FromMilliseconds(50);
    private static readonly TimeSpan MaxBackoff = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan StatsInterval = TimeSpan.FromSeconds(1);

    // Outcomes per script call at most when written behind: bounds the call's size and Redis' time in one script.
    private const int MaxOutcomesPerBatch = 64;

    private readonly WorkerPoolOptions _options = options.Value;

    // Entries taken and waiting for one of this process' workers. A slot is held from the take to the job's outcome
    // being written: never more entries than Workers + Prefetch, so without Prefetch nothing taken waits behind a
    // running job.
    private readonly Channel<Job> _taken = Channel.CreateUnbounded<Job>(new UnboundedChannelOptions { SingleWriter = false });

    // Outcomes written behind (Prefetch on): never more than the slots, each holds one.
    private readonly Channel<(Job Job, string Result, ActivityContext Span)> _outcomes =
        Channel.CreateUnbounded<(Job, string, ActivityContext)>(new UnboundedChannelOptions { SingleReader = true });

    private SemaphoreSlim? _free;
    private volatile bool _stopping;
    private int _handedBack;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        _free = new SemaphoreSlim(Slots, Slots);
        LogStarted(_options.Workers, _options.QueueCapacity, engine.Consumer);
        if (_options.Prefetch > 0)
        {
            engine.WriteBehind = (job, result, span) => _outcomes.Writer.TryWrite((job, result, span));
        }

        var writer = _options.Prefetch > 0 ? WriteOutcomesAsync() : Task.CompletedTask;
        var workers = Enumerable.Range(1, _options.Workers).Select(RunWorkerAsync).ToList();
        try
        {
            await WhileAvailableAsync(engine.EnsureGroupAsync, stoppingToken);
            await Task.WhenAll(TakeAsync(stoppingToken), ReclaimAsync(stoppingToken), ReadStatsAsync(stoppingToken));
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
        finally
        {
            // Only once nothing more can be taken: the workers then finish what was taken (running it, or handing it
            // back when shutdown began before it started) and end.
            _taken.Writer.TryComplete();
        }

        // The workers are done: the outcomes still waiting are written before the drain goes on.
        await Task.WhenAll(workers);
        _outcomes.Writer.TryComplete();
        await writer;
    }

    private int Slots => _options.Workers + _options.Prefetch;

    /// <summary>
    /// Prefetch on: writes the outcomes handed over while the previous call was on its way, all in one call that also
    /// takes as many next entries — so batches grow with the load. One call at a time, in a
    /// <see cref="WorkerTelemetry.RecordOutcomesSpan"/> span under the first job's and linked to the others'.
    /// </summary>
    private async Task WriteOutcomesAsync()
    {
        await Task.Yield();
        var batch = new List<(Job Job, string Result)>(MaxOutcomesPerBatch);
        while (await _outcomes.Reader.WaitToReadAsync())
        {
            var spans = new List<ActivityContext>();
            while (batch.Count < MaxOutcomesPerBatch && _outcomes.Reader.TryRead(out var outcome))
            {
                batch.Add((outcome.Job, outcome.Result));
                if (outcome.Span != default)
                {
                    spans.Add(outcome.Span);
                }
            }

            var taken = 0;
            try
            {
                List<TakenEntry> entries;
                // None when no job of the batch has a span (telemetry off, or not sampled): no trace of its own either.
                using (spans.Count == 0 ? null : telemetry.Source.StartActivity(WorkerTelemetry.RecordOutcomesSpan, ActivityKind.Internal,
                    spans[0], links: spans.Skip(1).Select(span => new ActivityLink(span))))
                {
                    entries = await engine.CompleteAsync(batch, _stopping ? 0 : batch.Count);
                }

                taken = await AcceptAsync(entries, reclaimed: false);
            }
            catch (Exception ex)
            {
                // Given up at shutdown while Redis was unreachable (or a bug, said per job, the writer going on): the
                // entries stay taken and run again elsewhere after the visibility timeout, as a single outcome's would.
                foreach (var (job, _) in batch)
                {
                    LogNotRecorded(job.Id, ex.Message);
                }
            }
            finally
            {
                Release(batch.Count - taken);
                batch.Clear();
            }
        }
    }

    /// <summary>Takes new entries whenever workers are free, polling faster while there is work and slower while there is none.</summary>
    private async Task TakeAsync(CancellationToken stoppingToken)
    {
        await Task.Yield();
        var poll = MinPoll;
        try
        {
            while (!stoppingToken.IsCancellationRequested)
            {
                var count = await ReserveAsync(stoppingToken);
                var taken = 0;
                try
                {
                    var entries = await engine.TakeAsync(count);
                    engine.Available();
                    taken = await AcceptAsync(entries, reclaimed: false);
                    poll = entries.Count == 0 ? TimeSpan.FromTicks(Math.Min(poll.Ticks * 2, MaxPoll.Ticks)) : MinPoll;
                }
                catch (Exception ex) when (RedisJobEngine.IsUnavailable(ex))
                {
                    engine.Unavailable(ex);
                    await WhileAvailableAsync(engine.EnsureGroupAsync, stoppingToken);
                    poll = MaxPoll;
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    // A bug, not an outage: said loudly, and the taker goes on rather than leave the workers idle for good.
                    LogTakeFailed(ex);
                    poll = MaxBackoff;
                }
                finally
                {
                    Release(count - taken);
                }

                if (taken == 0)
                {
                    await Task.Delay(poll, stoppingToken);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    /// <summary>Takes over entries held past the visibility timeout by a consumer that stopped (SIGKILL, OOM, machine lost).</summary>
    private async Task ReclaimAsync(CancellationToken stoppingToken)
    {
        await Task.Yield();
        // Often enough that a dead worker's job waits at most about 1.25 visibility timeouts.
        var interval = _options.VisibilityTimeout / 4;
        var cleanup = 0;
        try
        {
            while (!stoppingToken.IsCancellationRequested)
            {
                await Task.Delay(interval, stoppingToken);
                if (!_free!.Wait(0))
                {
                    continue;
                }

                var count = ReserveMore();
                var taken = 0;
                try
                {
                    var entries = await engine.ReclaimAsync(count);
                    taken = await AcceptAsync(entries, reclaimed: true);
                    if (++cleanup % 100 == 0)
                    {
                        await engine.RemoveGoneConsumersAsync(TimeSpan.FromHours(1));
                    }
                }
                catch (Exception ex) when (RedisJobEngine.IsUnavailable(ex))
                {
                    engine.Unavailable(ex);
                }
                finally
                {
                    Release(count - taken);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    /// <summary>Reads the shared queue's depth and lag for this process' gauges.</summary>
    private async Task ReadStatsAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(StatsInterval);
        try
        {
            do
            {
                try
                {
                    await engine.RefreshStatsAsync();
                }
                catch (Exception ex) when (RedisJobEngine.IsUnavailable(ex))
                {
                    engine.Unavailable(ex);
                }
            }
            while (await timer.WaitForNextTickAsync(stoppingToken));
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    /// <summary>Gives back workers reserved for a take that brought fewer entries.</summary>
    private void Release(int unused)
    {
        if (unused > 0)
        {
            _free!.Release(unused);
        }
    }

    /// <summary>Waits for one free slot, then reserves every other free one too: the count to take in one read.</summary>
    private async Task<int> ReserveAsync(CancellationToken stoppingToken)
    {
        await _free!.WaitAsync(stoppingToken);
        return ReserveMore();
    }

    /// <summary>With one slot already held, reserves every other free one: the count held.</summary>
    private int ReserveMore()
    {
        var count = 1;
        while (count < Slots && _free!.Wait(0))
        {
            count++;
        }

        return count;
    }

    /// <summary>
    /// Hands the jobs among <paramref name="entries"/> to the workers; an entry that is not a job is dead-lettered and a
    /// job past its attempts is given up, each with one log line. Returns how many went to the workers.
    /// </summary>
    private async Task<int> AcceptAsync(List<TakenEntry> entries, bool reclaimed)
    {
        var accepted = 0;
        foreach (var entry in entries)
        {
            try
            {
                if (await AcceptAsync(entry, reclaimed))
                {
                    accepted++;
                }
            }
            catch (Exception ex) when (RedisJobEngine.IsUnavailable(ex))
            {
                // Neither dead-lettered nor given up: the entry stays taken and is reclaimed after the visibility timeout.
                engine.Unavailable(ex);
            }
        }

        return accepted;
    }

    /// <summary>True when the entry's job went to a worker.</summary>
    private async Task<bool> AcceptAsync(TakenEntry entry, bool reclaimed)
    {
        var job = RedisJobEngine.Parse(entry, out var problem);
        if (job is null || entry.Attempt == 0)
        {
            problem ??= "no job state for its id (never accepted through intake, or evicted)";
            await engine.DeadLetterAsync(entry, problem);
            telemetry.DeadLettered.Add(1);
            LogDeadLettered(entry.Id, problem);
            return false;
        }

        if (reclaimed)
        {
            telemetry.Reclaimed.Add(1);
            LogReclaimed(job.Id, entry.Id, job.Attempt);
        }

        if (job.Attempt > _options.MaxAttempts)
        {
            job.Attempt = _options.MaxAttempts;
            LogGivenUp(job.Id, _options.MaxAttempts);
            await runner.RecordNotStartedAsync(job,
                $"Canceled: {_options.MaxAttempts} runs each ended without an outcome (a worker died or stopped mid-job); {WorkerPoolOptions.SectionName}:MaxAttempts.");
            return false;
        }

        if (_taken.Writer.TryWrite(job))
        {
            return true;
        }

        // Taken just as shutdown closed the buffer: back to the queue at once rather than after the visibility timeout.
        await engine.HandBackAsync(job);
        Interlocked.Increment(ref _handedBack);
        return false;
    }

    private async Task RunWorkerAsync(int workerId)
    {
        await Task.Yield();
        using var deadline = runner.CreateDeadline(InFlightAborted);
        await foreach (var job in _taken.Reader.ReadAllAsync())
        {
            // The slot this job holds passes to the next job when recording its outcome took one (TakeNext).
            var slotPassed = false;
            try
            {
                if (_stopping)
                {
                    // Taken but not started when shutdown began: straight back to the queue for another worker.
                    await engine.HandBackAsync(job);
                    Interlocked.Increment(ref _handedBack);
                    continue;
                }

                job.TakeNext = true;
                await runner.RunAsync(job, workerId, deadline);
                // Written behind: the writer releases the slot (or passes it on) once the outcome is written.
                slotPassed = job.WrittenBehind;
                if (job.Next is { } next)
                {
                    slotPassed = await AcceptAsync([next], reclaimed: false) == 1;
                }
            }
            catch (Exception ex) when (RedisJobEngine.IsUnavailable(ex))
            {
                // Its outcome or hand-back could not be written: the entry stays taken and is reclaimed after the
                // visibility timeout, so the job runs again elsewhere.
                LogNotRecorded(job.Id, ex.Message);
            }
            finally
            {
                if (!slotPassed)
                {
                    _free!.Release();
                }
            }
        }
    }

    /// <summary>Runs <paramref name="action"/> until Redis answers it, waiting longer after each failure (up to a second).</summary>
    private async Task WhileAvailableAsync(Func<Task> action, CancellationToken stoppingToken)
    {
        var backoff = TimeSpan.FromMilliseconds(50);
        while (true)
        {
            try
            {
                await action();
                engine.Available();
                return;
            }
            catch (Exception ex) when (RedisJobEngine.IsUnavailable(ex))
            {
                engine.Unavailable(ex);
                await Task.Delay(backoff, stoppingToken);
                backoff = TimeSpan.FromTicks(Math.Min(backoff.Ticks * 2, MaxBackoff.Ticks));
            }
        }
    }

    protected override async Task DrainAsync(CancellationToken cancellationToken)
    {
        engine.Close();
        _stopping = true;
        var grace = _options.ShutdownGracePeriod;
        LogDraining(telemetry.BusyWorkers, grace.TotalSeconds);

        // The taker and the reclaimer stop at once, the workers once what they took is done; aborted jobs are handed
        // back, within a few seconds however long Redis takes to answer.
        using var handBackBound = new CancellationTokenSource(grace + TimeSpan.FromSeconds(3));
        await StopWorkersWithinAsync(grace, () => LogGraceElapsed(grace.TotalSeconds), handBackBound.Token, cancellationToken);

        engine.GiveUp();
        try
        {
            await engine.RemoveConsumerAsync();
        }
        catch (Exception ex) when (RedisJobEngine.IsUnavailable(ex))
        {
            // Left in the group; removed later by another process once it has been idle for an hour.
        }

        LogStopped(Volatile.Read(ref _handedBack));
    }
}
