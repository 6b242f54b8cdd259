namespace ObsStack.Worker.Jobs;

/// <summary>
/// One worker's deadline, reused job after job: its token is canceled when the current job has run for
/// <see cref="WorkerPoolOptions.JobTimeout"/> or when the pool aborts in-flight jobs at shutdown. A linked source and
/// a timer created per job cost an allocation and two timer-queue updates each time (the reach benchmark's job runner
/// share); this one re-arms its timer, and is replaced only after it fired.
/// </summary>
public sealed class JobDeadline(CancellationToken abort, TimeSpan timeout) : IDisposable
{
    private CancellationTokenSource _source = CancellationTokenSource.CreateLinkedTokenSource(abort);

    /// <summary>Shutdown's grace period elapsed: the job is canceled, not timed out.</summary>
    public bool Aborted => abort.IsCancellationRequested;

    /// <summary>Arms the deadline for a job starting now; the token is valid until <see cref="Finish"/>.</summary>
    public CancellationToken Start()
    {
        _source.CancelAfter(timeout);
        return _source.Token;
    }

    /// <summary>Disarms it for the next job; a source that fired (timeout or abort) is replaced, never reused.</summary>
    public void Finish()
    {
        if (!_source.TryReset())
        {
            _source.Dispose();
            _source = CancellationTokenSource.CreateLinkedTokenSource(abort);
        }
    }

    public void Dispose() => _source.Dispose();
}
