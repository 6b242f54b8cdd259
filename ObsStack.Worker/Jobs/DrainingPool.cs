namespace ObsStack.Worker.Jobs;

/// <summary>
/// The shutdown shape both worker pools share: the drain runs once, in <see cref="StoppingAsync"/>, before the host
/// stops any service, so the web server still answers while it lasts (a new <c>POST /jobs</c> gets 503 with
/// Retry-After, <c>GET /jobs/{id}</c> still works). The web server is the last hosted service registered, so it is
/// the first stopped: a drain in <see cref="StopAsync"/> alone would run after clients were refused connections.
/// </summary>
public abstract class DrainingPool : BackgroundService, IHostedLifecycleService
{
    private readonly Lock _stopLock = new();

    // Never disposed: it has no timer and no linked parents, so disposing frees nothing, and the host may dispose this
    // service while a second, concurrent StopAsync (Run's own, next to the caller's) still cancels it: that raced into
    // ObjectDisposedException (WorkerPoolTests.Shutdown_finishes_in_flight_jobs_cancels_the_rest_and_records_every_outcome).
    private readonly CancellationTokenSource _abortInFlight = new();
    private Task? _drain;

    /// <summary>Canceled when the grace period ends with jobs still running: each worker's jobs give up then.</summary>
    protected CancellationToken InFlightAborted => _abortInFlight.Token;

    public Task StartingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StartedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>The drain, while the web server still serves.</summary>
    public Task StoppingAsync(CancellationToken cancellationToken) => StopAsync(cancellationToken);

    public Task StoppedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>
    /// Runs the drain once, however many callers ask (the host's <c>Run</c> and an explicit <c>StopAsync</c> both
    /// do); every caller waits for that one drain, or for its own token.
    /// </summary>
    public sealed override Task StopAsync(CancellationToken cancellationToken)
    {
        Task drain;
        lock (_stopLock)
        {
            drain = _drain ??= DrainAsync(cancellationToken);
        }

        return drain.WaitAsync(cancellationToken);
    }

    /// <summary>Stops intake, lets in-flight jobs finish within the grace period, and settles the rest.</summary>
    protected abstract Task DrainAsync(CancellationToken cancellationToken);

    /// <summary>
    /// Cancels the workers' stopping token and gives their in-flight jobs <paramref name="grace"/>. Past it (when
    /// <paramref name="graceElapsed"/> is called to say so), <see cref="InFlightAborted"/> is canceled and the workers
    /// get until <paramref name="settleBy"/> to record what they held.
    /// </summary>
    protected async Task StopWorkersWithinAsync(TimeSpan grace, Action graceElapsed, CancellationToken settleBy, CancellationToken cancellationToken)
    {
        using (var graceEnds = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken))
        {
            graceEnds.CancelAfter(grace);
            await base.StopAsync(graceEnds.Token);
        }

        if (ExecuteTask is { IsCompleted: false } running)
        {
            graceElapsed();
            await _abortInFlight.CancelAsync();
            await running.WaitAsync(settleBy).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }
    }
}
