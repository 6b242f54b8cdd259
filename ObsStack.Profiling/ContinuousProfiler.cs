using System.Diagnostics;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace ObsStack.Profiling;

/// <summary>
/// Profiles this process and pushes one profile per type to Pyroscope every <see cref="ProfilingOptions.UploadInterval"/>.
/// <para>
/// Each interval is one EventPipe session that samples for <see cref="ProfilingOptions.SamplingDuration"/> and is
/// then stopped; its rundown names the methods, and the totals, scaled to the whole interval, become the profiles.
/// Everything runs off the request path: the session is read on its own thread, profiles are built here, and the
/// upload runs on the uploader's loop. No request thread ever waits on any of it; what requests pay is the runtime's
/// sampling while a session is open (measured in docs/performance.md).
/// </para>
/// </summary>
internal sealed partial class ContinuousProfiler(
    IOptions<ProfilingOptions> options,
    ProfiledService service,
    ProfilingTelemetry telemetry,
    ILogger<ContinuousProfiler> logger) : BackgroundService
{
    /// <summary>Opening a session is one IPC round trip to the runtime; this only bounds a runtime that never answers.</summary>
    private static readonly TimeSpan s_startTimeout = TimeSpan.FromSeconds(30);

    /// <summary>Stopping includes the rundown of every loaded method and naming the stacks: well under a second.</summary>
    private static readonly TimeSpan s_stopTimeout = TimeSpan.FromSeconds(10);

    private static readonly TimeSpan s_flushTimeout = TimeSpan.FromSeconds(5);

    // One profiler per process: a second host in the same process (tests, or two services hosted together) would
    // sample the very same threads again and double every count.
    private static int s_activeInProcess;

    private readonly ProfilingOptions _options = options.Value;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!_options.IsActive)
        {
            LogInactive(logger, _options.Enabled, _options.PyroscopeEndpoint);
            return;
        }

        if (Interlocked.CompareExchange(ref s_activeInProcess, 1, 0) != 0)
        {
            LogAlreadyProfiling(logger);
            return;
        }

        // Leave StartAsync at once: host start-up must not wait for the profiler.
        await Task.Yield();

        var recorder = new ProfileRecorder(_options);
        await using var uploader = new PyroscopeUploader(_options, recorder.Types, service, telemetry, logger);
        using var spans = _options.LabelsSpans ? new SpanProfileLink() : null;
        using var catalog = new MethodCatalog();
        catalog.StartWatching();
        try
        {
            LogStarted(logger, _options.PushUri!, string.Join(", ", recorder.Types.SelectMany(t => t.Ids)),
                _options.IsContinuous ? "continuously" : $"{_options.EffectiveSamplingDuration.TotalSeconds:0.#} s of every {_options.UploadInterval.TotalSeconds:0.#} s");

            while (!stoppingToken.IsCancellationRequested)
            {
                await RunCycleAsync(recorder, uploader, catalog, stoppingToken);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Host shutdown; the finally below still flushes.
        }
        catch (Exception e)
        {
            // Diagnostics switched off (DOTNET_EnableDiagnostics=0), not allowed here, or a broken event stream: the
            // service must run on unchanged. Rethrowing would stop the host (BackgroundServiceExceptionBehavior.StopHost).
            LogUnavailable(logger, e.GetBaseException().Message);
        }
        finally
        {
            await uploader.FlushAsync(s_flushTimeout);
            Volatile.Write(ref s_activeInProcess, 0);
        }
    }

    /// <summary>One interval: sample, stop, publish, then wait for the next interval to begin.</summary>
    private async Task RunCycleAsync(ProfileRecorder recorder, PyroscopeUploader uploader, MethodCatalog catalog, CancellationToken stoppingToken)
    {
        var interval = _options.UploadInterval;
        var cycleStart = DateTimeOffset.UtcNow;
        using var session = await EventPipeProfileSession.StartAsync(recorder, _options, catalog, s_startTimeout);

        // Shutdown ends the sampling early; what was sampled up to then is still published (see below).
        var delay = session.StartedAt + _options.EffectiveSamplingDuration - DateTimeOffset.UtcNow;
        if (delay > TimeSpan.Zero)
        {
            await Task.WhenAny(session.Completion, Task.Delay(delay, stoppingToken));
        }

        var sampled = DateTimeOffset.UtcNow - session.StartedAt;
        await Task.Run(session.Stop).WaitAsync(s_stopTimeout).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        await session.Completion.WaitAsync(s_stopTimeout).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        if (!session.Completion.IsCompletedSuccessfully)
        {
            LogSessionFailed(logger, session.Completion.Exception?.GetBaseException().Message ?? $"no end of stream within {s_stopTimeout.TotalSeconds:0} s");
            // Whatever the broken session recorded is dropped with it; do not spin on a session that keeps breaking.
            recorder.TakeSnapshots(cycleStart, TimeSpan.Zero);
            await Task.Delay(interval, stoppingToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            return;
        }

        catalog.SessionEnded(session.HadRundown);
        telemetry.EventsLost(session.EventsLost);
        var partial = stoppingToken.IsCancellationRequested;
        var heapMs = _options.LiveHeap && !partial ? await TakeLiveHeapAsync(recorder) : 0;
        LogCycle(logger, sampled.TotalSeconds, session.HadRundown ? "with" : "without", (DateTimeOffset.UtcNow - session.StartedAt - sampled).TotalMilliseconds - heapMs, heapMs, session.EventsLost,
            string.Join(", ", session.ExcludedShare.Select(kv => $"{kv.Key} {kv.Value:P1}")));

        // The session saw `sampled` of the interval: scale so the values estimate the whole interval. At shutdown the
        // last, partial interval is reported as what it is.
        var scale = partial || sampled >= interval ? 1.0 : interval / sampled;
        foreach (var snapshot in recorder.TakeSnapshots(cycleStart, partial ? DateTimeOffset.UtcNow - cycleStart : interval, scale))
        {
            // An empty profile carries nothing Pyroscope would keep (it drops zero-value samples on ingest).
            if (snapshot.Samples.Count > 0)
            {
                uploader.Offer(new EncodedProfile(snapshot.Type, PprofEncoder.EncodeGzipped(snapshot)));
            }
        }

        var untilNext = cycleStart + interval - DateTimeOffset.UtcNow;
        if (untilNext > TimeSpan.Zero)
        {
            await Task.Delay(untilNext, stoppingToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "Continuous profiling is off (Telemetry:Profiles:Enabled={Enabled}, Telemetry:Profiles:PyroscopeEndpoint='{Endpoint}').")]
    private static partial void LogInactive(ILogger logger, bool enabled, string? endpoint);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Another host in this process already runs the continuous profiler; this one does not start a second one.")]
    private static partial void LogAlreadyProfiling(ILogger logger);

    [LoggerMessage(Level = LogLevel.Information, Message = "Continuous profiling to {Endpoint}: {ProfileTypes}; sampling {Schedule}.")]
    private static partial void LogStarted(ILogger logger, Uri endpoint, string profileTypes, string schedule);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Continuous profiling is unavailable in this process: {Reason}")]
    private static partial void LogUnavailable(ILogger logger, string reason);

    /// <summary>The live-heap walk, after the sampling session: its own short session and one induced full GC.</summary>
    private async Task<double> TakeLiveHeapAsync(ProfileRecorder recorder)
    {
        var started = Stopwatch.GetTimestamp();
        try
        {
            foreach (var (stack, objects, bytes) in await LiveHeapSnapshot.TakeAsync(s_stopTimeout))
            {
                recorder.AddLiveHeap(stack, objects, bytes);
            }
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            LogSessionFailed(logger, $"live heap: {e.GetBaseException().Message}");
        }

        return Stopwatch.GetElapsedTime(started).TotalMilliseconds;
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "Profiler session sampled {Sampled:0.00} s; stopping ({Rundown} rundown) and naming took {StopMs:0} ms, the live heap {HeapMs:0} ms; {Lost} events lost; the profiler's own samples left out: {Excluded}.")]
    private static partial void LogCycle(ILogger logger, double sampled, string rundown, double stopMs, double heapMs, int lost, string excluded);

    [LoggerMessage(Level = LogLevel.Warning, Message = "A profiler EventPipe session failed ({Reason}); its samples are dropped and the next interval starts a new one.")]
    private static partial void LogSessionFailed(ILogger logger, string reason);
}
