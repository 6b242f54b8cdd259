using System.Diagnostics;
using System.Diagnostics.Tracing;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Microsoft.Diagnostics.NETCore.Client;
using Microsoft.Diagnostics.Tracing;
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

    /// <summary>
    /// Distinct keys aggregated per profile type during one session. Span labels multiply the CPU keys by the number
    /// of requests; past this bound CPU samples are still counted, without their span label, and the other types'
    /// new stacks are counted under one overflow stack.
    /// </summary>
    private const int MaxKeys = 50_000;

    /// <summary>A sampling round never stands for more than this (a long GC pause between two rounds is not CPU time).</summary>
    private const double MaxRoundNanos = 10 * ProfileType.CpuSamplingPeriodNanoseconds;

    private const string PollGcPrefix = "System.Threading.Thread.<PollGC>";

    private static readonly Guid s_profilingProvider = ProfilingEventSource.Log.Guid;
    private static readonly Frame[] s_overflowStack = [new Frame("[too many distinct stacks]", "")];

    private readonly ProfileRecorder _recorder;
    private readonly ProfilingOptions _options;
    private readonly MethodCatalog _catalog;
    private readonly TaskCompletionSource _started = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _completed = new(TaskCreationOptions.RunContinuationsAsynchronously);

    // Aggregated while the session runs, by TraceLog call stack index (names are resolved at the end).
    private readonly Dictionary<(CallStackIndex Stack, long Span), double> _cpu = [];
    private readonly Dictionary<(CallStackIndex Stack, string Type), (long Bytes, long Objects)> _allocations = [];
    private readonly Dictionary<CallStackIndex, (long Count, double Nanoseconds)> _contentions = [];
    private readonly Dictionary<(CallStackIndex Stack, long Span), double> _wall = [];
    private readonly Dictionary<(CallStackIndex Stack, string Type), long> _exceptions = [];

    // A contention's stack comes with its start, its duration with its stop (see OnContentionStop): the waits begun
    // and not yet ended, by OS thread (a thread waits for one lock at a time).
    private readonly Dictionary<int, (CallStackIndex Stack, double StartMs)> _waiting = [];

    // Span attribution (see SpanProfileLink): OS thread id -> that thread's timeline, and the clock pairing.
    private readonly Dictionary<int, ThreadTimeline?> _timelines = [];
    private readonly double _ticksPerMs = Stopwatch.Frequency / 1000.0;
    private double _clockOffsetTicks = double.NaN;
    private readonly HashSet<int> _roundThreads = [];
    private double _roundStartMs = double.NaN;
    private double _roundNanos = ProfileType.CpuSamplingPeriodNanoseconds;

    // Name resolution, after the stream has ended.
    private readonly Dictionary<CallStackIndex, Frame[]> _resolved = [];
    private readonly Dictionary<Frame[], Frame[]> _stacks = new(FramesComparer.Instance);
    private readonly Dictionary<string, Frame> _frames = new(StringComparer.Ordinal);
    private readonly Dictionary<Frame[], bool> _profilerOwn = new(ReferenceEqualityComparer.Instance);

    private EventPipeSession? _session;
    private TraceLogEventSource? _source;
    private bool _stopRequested;

    private EventPipeProfileSession(ProfileRecorder recorder, ProfilingOptions options, MethodCatalog catalog)
    {
        _recorder = recorder;
        _options = options;
        _catalog = catalog;
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

    private readonly Dictionary<string, double> _excludedShare = [];

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
            var client = new DiagnosticsClient(Environment.ProcessId);
            ThreadTimeline.NewSession();
            StartedAt = DateTimeOffset.UtcNow;
            session = client.StartEventPipeSession(new EventPipeSessionConfiguration(
                Providers(_options), BufferSizeMb, HadRundown ? RundownKeywords : 0, requestStackwalk: true));
            _session = session;
            _source = TraceLog.CreateFromEventPipeSession(session, TraceLog.EventPipeRundownConfiguration.None());
            Subscribe(_source);
            _catalog.Subscribe(_source);
            if (Volatile.Read(ref _stopRequested))
            {
                Stop();
            }

            _started.TrySetResult();
            // Pairs Stopwatch ticks with event timestamps; repeated so one lost event does not cost the session its labels.
            using (new Timer(_ => ProfilingEventSource.Log.Clock(Stopwatch.GetTimestamp()), null, TimeSpan.Zero, TimeSpan.FromSeconds(1)))
            {
                _source.Process();
            }

            EventsLost = _source.EventsLost;
            Publish();
            ThreadTimeline.Prune();
            _completed.TrySetResult();
        }
        catch (Exception e)
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
        finally
        {
            session?.Dispose();
        }
    }

    private void Subscribe(TraceLogEventSource source)
    {
        if (_options.NeedsThreadSamples)
        {
            new SampleProfilerTraceEventParser(source).ThreadSample += OnThreadSample;
            if (_options.LabelsSpans)
            {
                source.AllEvents += OnAnyEvent;
            }
        }

        if (_options.Allocations)
        {
            source.Clr.GCAllocationTick += OnAllocationTick;
        }

        if (_options.LockContention)
        {
            source.Clr.ContentionStart += OnContentionStart;
            source.Clr.ContentionStop += OnContentionStop;
        }

        if (_options.Exceptions)
        {
            source.Clr.ExceptionStart += OnExceptionThrown;
        }
    }

    // Runs for every event of every session: compiled optimized at once, not climbing the tiers over many cycles.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void OnThreadSample(ClrThreadSampleTraceData data)
    {
        // The sampler reports every managed thread once per round. A round is nominally 1 ms apart, but it suspends
        // the runtime each time, and on a busy machine rounds come further apart (1.4 ms measured with one busy
        // thread on 2 cores). Each sample therefore stands for the time since the previous round started, not for a
        // fixed 1 ms; otherwise CPU time would be under-reported by the same factor. A thread seen again starts a
        // new round.
        var now = data.TimeStampRelativeMSec;
        if (double.IsNaN(_roundStartMs))
        {
            _roundStartMs = now;
        }

        if (!_roundThreads.Add(data.ThreadID))
        {
            _roundNanos = Math.Clamp((now - _roundStartMs) * 1_000_000, 0, MaxRoundNanos);
            _roundStartMs = now;
            _roundThreads.Clear();
            _roundThreads.Add(data.ThreadID);
        }

        // "External" samples are threads blocked in a wait or running native code; only "Managed" means the thread
        // was executing managed code when it was suspended: those are the on-CPU samples. Every sample, waiting or
        // not, is wall-clock time.
        var onCpu = data.Type == ClrThreadSampleType.Managed;
        if (!onCpu && !_options.Wall)
        {
            return;
        }

        var stack = data.CallStackIndex();
        if (stack == CallStackIndex.Invalid)
        {
            return;
        }

        var span = _options.LabelsSpans ? SpanAt(data.ThreadID, now) : 0;
        if (onCpu && _options.Cpu)
        {
            AddTime(_cpu, stack, span);
        }

        if (_options.Wall)
        {
            AddTime(_wall, stack, span);
        }
    }

    // Runs for every event of every session: compiled optimized at once, not climbing the tiers over many cycles.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void AddTime(Dictionary<(CallStackIndex Stack, long Span), double> table, CallStackIndex stack, long span)
    {
        if (span != 0 && table.Count >= MaxKeys && !table.ContainsKey((stack, span)))
        {
            span = 0;
        }

        ref var nanoseconds = ref CollectionsMarshal.GetValueRefOrAddDefault(table, (stack, span), out _);
        nanoseconds += _roundNanos;
    }

    // Runs for every event of every session: compiled optimized at once, not climbing the tiers over many cycles.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void OnAllocationTick(GCAllocationTickTraceData data)
    {
        var stack = data.CallStackIndex();
        if (stack == CallStackIndex.Invalid)
        {
            return;
        }

        var bytes = data.AllocationAmount64 > 0 ? data.AllocationAmount64 : data.AllocationAmount;
        // The tick stands for ~100 KiB allocated since the previous one; the object that crossed the threshold is the
        // sample. Estimating the object count as bytes / that object's size is the usual reading of this sample.
        var objects = data.ObjectSize > 0 ? Math.Max(1, bytes / data.ObjectSize) : 1;
        var key = (stack, data.TypeName ?? "");
        if (_allocations.Count >= MaxKeys && !_allocations.ContainsKey(key))
        {
            key = (CallStackIndex.Invalid, "");
        }

        var (sumBytes, sumObjects) = _allocations.GetValueOrDefault(key);
        _allocations[key] = (sumBytes + bytes, sumObjects + objects);
    }

    private void OnContentionStart(ContentionStartTraceData data)
    {
        var stack = data.CallStackIndex();
        if (stack != CallStackIndex.Invalid)
        {
            _waiting[data.ThreadID] = (stack, data.TimeStampRelativeMSec);
        }
    }

    /// <summary>
    /// On .NET 10 with TraceEvent 4.0 ContentionStop events come without a stack (measured: all of them) while
    /// ContentionStart events carry the waiting thread's stack, so a contention is the pair: stack from the start,
    /// duration from the stop (its DurationNs, or the time between the two events when the runtime gives none). A stop
    /// whose start came before the session opened is not counted: its stack is unknown.
    /// </summary>
    private void OnContentionStop(ContentionStopTraceData data)
    {
        CallStackIndex stack;
        double nanoseconds;
        if (_waiting.Remove(data.ThreadID, out var start))
        {
            stack = start.Stack;
            nanoseconds = data.DurationNs > 0 ? data.DurationNs : (data.TimeStampRelativeMSec - start.StartMs) * 1_000_000;
        }
        else if ((stack = data.CallStackIndex()) != CallStackIndex.Invalid)
        {
            nanoseconds = data.DurationNs;
        }
        else
        {
            return;
        }

        if (_contentions.Count >= MaxKeys && !_contentions.ContainsKey(stack))
        {
            stack = CallStackIndex.Invalid;
        }

        var (count, sum) = _contentions.GetValueOrDefault(stack);
        _contentions[stack] = (count + 1, sum + Math.Max(0, nanoseconds));
    }

    private void OnExceptionThrown(ExceptionTraceData data)
    {
        var stack = data.CallStackIndex();
        if (stack == CallStackIndex.Invalid)
        {
            return;
        }

        var key = (stack, data.ExceptionType ?? "");
        if (_exceptions.Count >= MaxKeys && !_exceptions.ContainsKey(key))
        {
            key = (CallStackIndex.Invalid, "");
        }

        _exceptions[key] = _exceptions.GetValueOrDefault(key) + 1;
    }

    private void OnAnyEvent(TraceEvent data)
    {
        if (data.ProviderGuid != s_profilingProvider)
        {
            return;
        }

        // TraceLog's real-time source has no template for a self-describing EventSource event, so the payload (one
        // integer, written in this process's byte order) is read directly.
        switch ((int)data.ID)
        {
            case ProfilingEventSource.TimelineId when data.EventDataLength >= sizeof(int):
                _timelines[data.ThreadID] = ThreadTimeline.Find(Marshal.ReadInt32(data.DataStart));
                break;
            case ProfilingEventSource.ClockId when data.EventDataLength >= sizeof(long):
                _clockOffsetTicks = Marshal.ReadInt64(data.DataStart) - data.TimeStampRelativeMSec * _ticksPerMs;
                break;
        }
    }

    /// <summary>The local root span thread <paramref name="threadId"/> worked for at that instant; 0 when none or unknown.</summary>
    private long SpanAt(int threadId, double timestampMs)
    {
        if (double.IsNaN(_clockOffsetTicks)
            || !_timelines.TryGetValue(threadId, out var timeline)
            || timeline is not { IsLive: true })
        {
            return 0;
        }

        return timeline.SpanAt((long)(_clockOffsetTicks + timestampMs * _ticksPerMs)) ?? 0;
    }

    /// <summary>The stream has ended and the rundown is in: name every stack and hand the session's totals over.</summary>
    /// <remarks>
    /// The profiler's own work is left out of every profile (see <see cref="IsProfilerOwn"/>): it reads the session
    /// only while the session samples, so in a duty-cycled profile scaled to the whole interval it would be counted
    /// many times over what it costs (the issue that led here measured 34% of CPU and 87% of allocated bytes in a
    /// loaded worker's profiles). Its real cost is measured from outside, by the benchmark suites. What was left out is
    /// reported as <see cref="ExcludedShare"/>.
    /// </remarks>
    private void Publish()
    {
        var excluded = new Excluded();
        foreach (var ((stack, span), nanoseconds) in _cpu)
        {
            if (excluded.Keep(ProfileType.Cpu, Resolve(stack), nanoseconds, this) is { } frames)
            {
                _recorder.AddCpu(frames, span, (long)nanoseconds);
            }
        }

        foreach (var ((stack, span), nanoseconds) in _wall)
        {
            if (excluded.Keep(ProfileType.Wall, Resolve(stack), nanoseconds, this) is { } frames)
            {
                _recorder.AddWall(frames, span, (long)nanoseconds);
            }
        }

        foreach (var ((stack, type), (bytes, objects)) in _allocations)
        {
            if (excluded.Keep(ProfileType.Allocations, Resolve(stack), bytes, this) is { } frames)
            {
                _recorder.AddAllocation(WithLeaf(frames, type), bytes, objects);
            }
        }

        foreach (var (stack, (count, nanoseconds)) in _contentions)
        {
            if (excluded.Keep(ProfileType.LockContention, Resolve(stack), nanoseconds, this) is { } frames)
            {
                _recorder.AddContention(frames, count, (long)nanoseconds);
            }
        }

        foreach (var ((stack, type), count) in _exceptions)
        {
            if (excluded.Keep(ProfileType.Exceptions, Resolve(stack), count, this) is { } frames)
            {
                _recorder.AddException(WithLeaf(frames, type), count);
            }
        }

        excluded.ReportTo(_excludedShare);
    }

    /// <summary>
    /// A stack of the profiler's own threads: the session reader (TraceEvent), the profiler loop that encodes, the
    /// uploader, the clock timer. Frames of <see cref="ThreadTimeline"/> and <see cref="SpanProfileLink"/> stay: they
    /// run on the service's own threads when a span starts, a cost the service really pays, small and labelled by name.
    /// </summary>
    private bool IsProfilerOwn(Frame[] stack)
    {
        if (_profilerOwn.TryGetValue(stack, out var own))
        {
            return own;
        }

        foreach (var frame in stack)
        {
            var name = frame.Function;
            if (name.StartsWith("Microsoft.Diagnostics.", StringComparison.Ordinal)
                || (name.StartsWith(OwnNamespace, StringComparison.Ordinal)
                    && !name.StartsWith(OwnNamespace + nameof(ThreadTimeline), StringComparison.Ordinal)
                    && !name.StartsWith(OwnNamespace + nameof(SpanProfileLink), StringComparison.Ordinal)))
            {
                own = true;
                break;
            }
        }

        _profilerOwn[stack] = own;
        return own;
    }

    // Named from the code, so a rename of the namespace cannot silently stop the filtering.
    private static readonly string OwnNamespace = typeof(EventPipeProfileSession).Namespace + ".";

    /// <summary>Totals kept and left out, per profile type.</summary>
    private sealed class Excluded
    {
        private readonly Dictionary<string, (double Kept, double Left)> _totals = [];

        public Frame[]? Keep(ProfileType type, Frame[] stack, double value, EventPipeProfileSession session)
        {
            var own = session.IsProfilerOwn(stack);
            var (kept, left) = _totals.GetValueOrDefault(type.Key);
            _totals[type.Key] = own ? (kept, left + value) : (kept + value, left);
            return own ? null : stack;
        }

        public void ReportTo(Dictionary<string, double> shares)
        {
            foreach (var (key, (kept, left)) in _totals)
            {
                shares[key] = kept + left > 0 ? left / (kept + left) : 0;
            }
        }
    }

    /// <summary>A call stack as interned frames, leaf first.</summary>
    private Frame[] Resolve(CallStackIndex index)
    {
        if (index == CallStackIndex.Invalid)
        {
            return s_overflowStack;
        }

        if (_resolved.TryGetValue(index, out var resolved))
        {
            return resolved;
        }

        var log = _source!.TraceLog;
        var frames = new List<Frame>(32);
        for (var i = index; i != CallStackIndex.Invalid; i = log.CallStacks.Caller(i))
        {
            var address = log.CallStacks.CodeAddressIndex(i);
            var method = log.CodeAddresses.MethodIndex(address);
            // Without a rundown this session only knows what was compiled while it ran; the catalog knows the rest.
            var frame = method != MethodIndex.Invalid
                ? FrameFor(log.CodeAddresses.Methods.FullMethodName(method), log.CodeAddresses.ModuleFile(address)?.Name ?? "")
                : _catalog.Find(log.CodeAddresses.Address(address)) ?? Frame.Unknown;

            // A thread in a loop without calls is stopped for the sample at a GC poll: the poll is how it was
            // caught, not where its time goes, so the caller becomes the leaf.
            if (frames.Count == 0 && frame.Function.StartsWith(PollGcPrefix, StringComparison.Ordinal))
            {
                continue;
            }

            // Consecutive unresolved addresses (a native helper calling another) say nothing more as one frame.
            if (frame == Frame.Unknown && frames.Count > 0 && frames[^1] == Frame.Unknown)
            {
                continue;
            }

            frames.Add(frame);
        }

        resolved = Intern(frames.Count > 0 ? [.. frames] : [Frame.Unknown]);
        _resolved[index] = resolved;
        return resolved;
    }

    /// <summary>The allocated type as the leaf frame: "which objects" reads directly off the flame graph.</summary>
    private Frame[] WithLeaf(Frame[] stack, string type) =>
        type.Length == 0 ? stack : Intern([FrameFor(type, ""), .. stack]);

    private Frame[] Intern(Frame[] stack)
    {
        if (!_stacks.TryGetValue(stack, out var interned))
        {
            interned = stack;
            _stacks.Add(stack, stack);
        }

        return interned;
    }

    private Frame FrameFor(string fullName, string module)
    {
        if (!_frames.TryGetValue(fullName, out var frame))
        {
            // "Namespace.Type.Method(int32,class System.String)" -> "Namespace.Type.Method": flame graphs read better
            // without signatures, and overloads of one method are usually the same cost center.
            var paren = fullName.IndexOf('(');
            frame = new Frame(paren > 0 ? fullName[..paren] : fullName, module);
            _frames.Add(fullName, frame);
        }

        return frame;
    }

    private sealed class FramesComparer : IEqualityComparer<Frame[]>
    {
        public static readonly FramesComparer Instance = new();

        public bool Equals(Frame[]? x, Frame[]? y) => x.AsSpan().SequenceEqual(y);

        public int GetHashCode(Frame[] frames)
        {
            var hash = new HashCode();
            foreach (var frame in frames)
            {
                hash.Add(frame);
            }

            return hash.ToHashCode();
        }
    }
}
