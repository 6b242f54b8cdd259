using System.Diagnostics;
using System.Diagnostics.Tracing;
using Microsoft.Diagnostics.NETCore.Client;
using Microsoft.Diagnostics.Tracing.Etlx;
using Microsoft.Diagnostics.Tracing.EventPipe;
using Microsoft.Diagnostics.Tracing.Parsers;
using Microsoft.Diagnostics.Tracing.Parsers.Clr;

namespace ObsStack.Profiling;

/// <summary>
/// One EventPipe session on this very process, read on a dedicated thread, feeding a <see cref="ProfileRecorder"/>
/// when it ends.
/// <para>
/// Stacks come with the events as raw instruction pointers; TraceEvent's <see cref="TraceLog"/> in real-time mode turns
/// them into methods. It learns methods compiled during the session from the CLR provider's JIT and loader events
/// (MethodLoadVerbose, enabled here), and every other method (compiled earlier, or ReadyToRun code) from the rundown
/// the runtime appends to the stream when the session is stopped. So samples are aggregated by TraceLog's call stack
/// index while the session runs and turned into names only after the stream has ended, when every method is known.
/// The rundown is limited to loader, JIT and ReadyToRun method events (no IL-to-native maps, which are most of a
/// default rundown and useless here).
/// </para>
/// </summary>
internal sealed class EventPipeProfileSession : IDisposable
{
    /// <summary>
    /// The runtime's buffer for this session. When the reader falls behind the runtime drops events (counted as
    /// <c>profiler.events.lost</c>) instead of growing: this is the bound on what a slow reader can cost.
    /// </summary>
    private const int BufferSizeMb = 32;

    /// <summary>Loader (0x8), Jit (0x10) and NGen (0x20, ReadyToRun code): what naming methods needs from the rundown.</summary>
    private const long RundownKeywords = 0x8 | 0x10 | 0x20;

    private readonly ProfileRecorder _recorder;
    private readonly ProfilingOptions _options;
    private readonly MethodCatalog _catalog;
    private readonly SessionAggregates _aggregates;
    private readonly TaskCompletionSource _started = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _completed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Dictionary<string, double> _excludedShare = [];

    private EventPipeSession? _session;
    private TraceLogEventSource? _source;
    private bool _stopRequested;

    private EventPipeProfileSession(ProfileRecorder recorder, ProfilingOptions options, MethodCatalog catalog)
    {
        _recorder = recorder;
        _options = options;
        _catalog = catalog;
        _aggregates = new SessionAggregates(options, options.LabelsSpans ? new SpanClock() : null);
        HadRundown = catalog.NeedsRundown;
    }

    /// <summary>Whether this session asked for the runtime's rundown (see <see cref="MethodCatalog"/>).</summary>
    public bool HadRundown { get; }

    /// <summary>When sampling began (the session was enabled).</summary>
    public DateTimeOffset StartedAt { get; private set; }

    /// <summary>
    /// What the session left out as the profiler's own work, as a share of what it recorded, per profile type key
    /// (e.g. <c>process_cpu</c> 0.3 = 30% of the CPU samples were the profiler's): the figure the profiles would have
    /// been off by.
    /// </summary>
    public IReadOnlyDictionary<string, double> ExcludedShare => _excludedShare;

    /// <summary>EventPipe events the runtime dropped in this session because the reader fell behind.</summary>
    public int EventsLost { get; private set; }

    /// <summary>
    /// Completes when the event stream has ended (after <see cref="Stop"/>, or on failure) and everything it held has
    /// been handed to the recorder.
    /// </summary>
    public Task Completion => _completed.Task;

    /// <summary>Opens the session and starts reading it on its own thread.</summary>
    public static async Task<EventPipeProfileSession> StartAsync(ProfileRecorder recorder, ProfilingOptions options, MethodCatalog catalog, TimeSpan timeout)
    {
        var session = new EventPipeProfileSession(recorder, options, catalog);
        var thread = new Thread(session.Run) { IsBackground = true, Name = "ObsStack profiler" };
        thread.Start();
        try
        {
            await session._started.Task.WaitAsync(timeout);
        }
        catch
        {
            session.Stop();
            throw;
        }

        return session;
    }

    /// <summary>
    /// Asks the runtime to end the session; it then writes the rundown, the reader drains the stream, resolves names,
    /// and <see cref="Completion"/> completes. Safe to call more than once and from any thread.
    /// </summary>
    public void Stop()
    {
        // Also covers a stop requested while the reader thread is still opening the session (Run checks the flag).
        Volatile.Write(ref _stopRequested, true);
        try
        {
            Interlocked.Exchange(ref _session, null)?.Stop();
        }
        catch (Exception e) when (e is ServerNotAvailableException or ServerErrorException or IOException or TimeoutException or ObjectDisposedException)
        {
            // The runtime is going away or the session already ended: either way nothing is left to stop.
        }
    }

    public void Dispose()
    {
        Stop();
        _source?.Dispose();
    }

    internal static IReadOnlyList<EventPipeProvider> Providers(ProfilingOptions options)
    {
        // Jit + Loader at Verbose give MethodLoadVerbose for every method compiled during the session. The rundown
        // at the end would name most of them too, but not code replaced meanwhile (tier-0 code once its tier-1
        // version is installed), which the rundown no longer lists although samples may point into it.
        var clrKeywords = ClrTraceEventParser.Keywords.Jit | ClrTraceEventParser.Keywords.Loader;
        if (options.Allocations)
        {
            clrKeywords |= ClrTraceEventParser.Keywords.GC; // GCAllocationTick_V4 is a Verbose GC event.
        }

        if (options.LockContention)
        {
            clrKeywords |= ClrTraceEventParser.Keywords.Contention;
        }

        if (options.Exceptions)
        {
            clrKeywords |= ClrTraceEventParser.Keywords.Exception;
        }

        var providers = new List<EventPipeProvider>
        {
            new(ClrTraceEventParser.ProviderName, EventLevel.Verbose, (long)clrKeywords),
        };
        if (options.NeedsThreadSamples)
        {
            providers.Add(new EventPipeProvider(SampleProfilerTraceEventParser.ProviderName, EventLevel.Informational));
            if (options.LabelsSpans)
            {
                providers.Add(new EventPipeProvider(ProfilingEventSource.ProviderName, EventLevel.Informational));
            }
        }

        return providers;
    }

    private void Run()
    {
        EventPipeSession? session = null;
        try
        {
            session = StartSession();
            Listen(session);
            _started.TrySetResult();
            // Pairs Stopwatch ticks with event timestamps; repeated so one lost event does not cost the session its labels.
            using (new Timer(_ => ProfilingEventSource.Log.Clock(Stopwatch.GetTimestamp()), null, TimeSpan.Zero, TimeSpan.FromSeconds(1)))
            {
                _source!.Process();
            }

            EventsLost = _source.EventsLost;
            Publish();
            ThreadTimeline.Prune();
            _completed.TrySetResult();
        }
        catch (Exception e)
        {
            Fail(e, session);
        }
        finally
        {
            session?.Dispose();
        }
    }

    /// <summary>Starts the runtime's session on this process.</summary>
    private EventPipeSession StartSession()
    {
        var client = new DiagnosticsClient(Environment.ProcessId);
        ThreadTimeline.NewSession();
        StartedAt = DateTimeOffset.UtcNow;
        return client.StartEventPipeSession(new EventPipeSessionConfiguration(
            Providers(_options), BufferSizeMb, HadRundown ? RundownKeywords : 0, requestStackwalk: true));
    }

    /// <summary>Subscribes to what the session will send; a stop asked for meanwhile is carried out now.</summary>
    private void Listen(EventPipeSession session)
    {
        _session = session;
        _source = TraceLog.CreateFromEventPipeSession(session, TraceLog.EventPipeRundownConfiguration.None());
        _aggregates.Subscribe(_source);
        _catalog.Subscribe(_source);
        if (Volatile.Read(ref _stopRequested))
        {
            Stop();
        }
    }

    private void Fail(Exception e, EventPipeSession? session)
    {
        // Before start: the caller sees why (e.g. diagnostics disabled with DOTNET_EnableDiagnostics=0) and
        // never looks at Completion. After start: the stream broke; the profiler logs it and carries on.
        if (_started.TrySetException(e))
        {
            _completed.TrySetResult();
        }
        else
        {
            _completed.TrySetException(e);
        }

        try
        {
            session?.Stop();
        }
        catch (Exception stopError) when (stopError is ServerNotAvailableException or ServerErrorException or IOException or TimeoutException)
        {
            // Nothing more to release.
        }
    }

    /// <summary>The stream has ended and the rundown is in: name every stack and hand the session's totals over.</summary>
    private void Publish()
    {
        var filter = new OwnWorkFilter();
        _aggregates.PublishTo(_recorder, new StackResolver(_source!.TraceLog, _catalog), filter);
        filter.ReportTo(_excludedShare);
    }
}
