using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Microsoft.Diagnostics.Tracing;
using Microsoft.Diagnostics.Tracing.Etlx;
using Microsoft.Diagnostics.Tracing.EventPipe;
using Microsoft.Diagnostics.Tracing.Parsers;
using Microsoft.Diagnostics.Tracing.Parsers.Clr;

namespace ObsStack.Profiling;

/// <summary>
/// What one session saw, per profile type, keyed by TraceLog's call stack index while the session runs (names are
/// resolved only after the stream has ended, when every method is known), then handed to the recorder.
/// </summary>
internal sealed class SessionAggregates(ProfilingOptions options, SpanClock? spans)
{
    /// <summary>
    /// Distinct keys aggregated per profile type during one session. Span labels multiply the CPU keys by the number
    /// of requests; past this bound CPU samples are still counted, without their span label, and the other types'
    /// new stacks are counted under one overflow stack.
    /// </summary>
    private const int MaxKeys = 50_000;

    /// <summary>A sampling round never stands for more than this (a long GC pause between two rounds is not CPU time).</summary>
    private const double MaxRoundNanos = 10 * ProfileType.CpuSamplingPeriodNanoseconds;

    private readonly Dictionary<(CallStackIndex Stack, long Span), double> _cpu = [];
    private readonly Dictionary<(CallStackIndex Stack, long Span), double> _wall = [];
    private readonly Dictionary<(CallStackIndex Stack, string Type), (long Bytes, long Objects)> _allocations = [];
    private readonly Dictionary<CallStackIndex, (long Count, double Nanoseconds)> _contentions = [];
    private readonly Dictionary<(CallStackIndex Stack, string Type), long> _exceptions = [];

    // A contention's stack comes with its start, its duration with its stop (see OnContentionStop): the waits begun
    // and not yet ended, by OS thread (a thread waits for one lock at a time).
    private readonly Dictionary<int, (CallStackIndex Stack, double StartMs)> _waiting = [];

    // The sampler's rounds (see OnThreadSample).
    private readonly HashSet<int> _roundThreads = [];
    private double _roundStartMs = double.NaN;
    private double _roundNanos = ProfileType.CpuSamplingPeriodNanoseconds;

    /// <summary>Listens to the events the switched-on profile types need.</summary>
    public void Subscribe(TraceLogEventSource source)
    {
        if (options.NeedsThreadSamples)
        {
            new SampleProfilerTraceEventParser(source).ThreadSample += OnThreadSample;
            spans?.Subscribe(source);
        }

        if (options.Allocations)
        {
            source.Clr.GCAllocationTick += OnAllocationTick;
        }

        if (options.LockContention)
        {
            source.Clr.ContentionStart += OnContentionStart;
            source.Clr.ContentionStop += OnContentionStop;
        }

        if (options.Exceptions)
        {
            source.Clr.ExceptionStart += OnExceptionThrown;
        }
    }

    /// <summary>Names every stack and hands the totals to the recorder, without the profiler's own work.</summary>
    public void PublishTo(ProfileRecorder recorder, StackResolver stacks, OwnWorkFilter filter)
    {
        foreach (var ((stack, span), nanoseconds) in _cpu)
        {
            if (filter.Keep(ProfileType.Cpu, stacks.Resolve(stack), nanoseconds) is { } frames)
            {
                recorder.AddCpu(frames, span, (long)nanoseconds);
            }
        }

        foreach (var ((stack, span), nanoseconds) in _wall)
        {
            if (filter.Keep(ProfileType.Wall, stacks.Resolve(stack), nanoseconds) is { } frames)
            {
                recorder.AddWall(frames, span, (long)nanoseconds);
            }
        }

        foreach (var ((stack, type), (bytes, objects)) in _allocations)
        {
            if (filter.Keep(ProfileType.Allocations, stacks.Resolve(stack), bytes) is { } frames)
            {
                recorder.AddAllocation(stacks.WithLeaf(frames, type), objects, bytes);
            }
        }

        foreach (var (stack, (count, nanoseconds)) in _contentions)
        {
            if (filter.Keep(ProfileType.LockContention, stacks.Resolve(stack), nanoseconds) is { } frames)
            {
                recorder.AddContention(frames, count, (long)nanoseconds);
            }
        }

        foreach (var ((stack, type), count) in _exceptions)
        {
            if (filter.Keep(ProfileType.Exceptions, stacks.Resolve(stack), count) is { } frames)
            {
                recorder.AddException(stacks.WithLeaf(frames, type), count);
            }
        }
    }

    // Runs for every event of every session: compiled optimized at once, not climbing the tiers over many cycles.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void OnThreadSample(ClrThreadSampleTraceData data)
    {
        var now = data.TimeStampRelativeMSec;
        AdvanceRound(data.ThreadID, now);

        // "External" samples are threads blocked in a wait or running native code; only "Managed" means the thread
        // was executing managed code when it was suspended: those are the on-CPU samples. Every sample, waiting or
        // not, is wall-clock time.
        var onCpu = data.Type == ClrThreadSampleType.Managed;
        if (!onCpu && !options.Wall)
        {
            return;
        }

        var stack = data.CallStackIndex();
        if (stack == CallStackIndex.Invalid)
        {
            return;
        }

        var span = spans?.SpanAt(data.ThreadID, now) ?? 0;
        if (onCpu && options.Cpu)
        {
            AddTime(_cpu, stack, span);
        }

        if (options.Wall)
        {
            AddTime(_wall, stack, span);
        }
    }

    /// <summary>
    /// The sampler reports every managed thread once per round. A round is nominally 1 ms apart, but it suspends the
    /// runtime each time, and on a busy machine rounds come further apart (1.4 ms measured with one busy thread on 2
    /// cores). Each sample therefore stands for the time since the previous round started, not for a fixed 1 ms;
    /// otherwise CPU time would be under-reported by the same factor. A thread seen again starts a new round.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void AdvanceRound(int threadId, double now)
    {
        if (double.IsNaN(_roundStartMs))
        {
            _roundStartMs = now;
        }

        if (!_roundThreads.Add(threadId))
        {
            _roundNanos = Math.Clamp((now - _roundStartMs) * 1_000_000, 0, MaxRoundNanos);
            _roundStartMs = now;
            _roundThreads.Clear();
            _roundThreads.Add(threadId);
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
}
