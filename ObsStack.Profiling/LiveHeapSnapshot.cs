using System.Diagnostics.Tracing;
using Microsoft.Diagnostics.NETCore.Client;
using Microsoft.Diagnostics.Tracing;
using Microsoft.Diagnostics.Tracing.Parsers;
using Microsoft.Diagnostics.Tracing.Parsers.Clr;

namespace ObsStack.Profiling;

/// <summary>
/// What is alive on the managed heap right now, by type: the same heap walk <c>dotnet-gcdump</c> takes, through a short
/// EventPipe session on this process. Enabling the runtime provider's GCHeapCollect keyword makes the runtime run one
/// induced, blocking, full GC and, during it, report every reachable object (GCBulkNode: address, size, type id) and
/// the types' names (BulkType). Only reachable objects are reported, so garbage, however much was allocated, is not
/// in it: what remains is what a leak would grow.
/// <para>
/// By type, not by allocation stack: the runtime's events could give stacks only for sampled allocations, and only
/// with a session open all the time to follow the objects through every GC that moves them (PerfView's "GC Heap Net
/// Mem" does this from a continuous trace); the profiler samples one second per interval, so it names types.
/// </para>
/// </summary>
internal static class LiveHeapSnapshot
{
    /// <summary>Types kept per snapshot; the rest (smallest by bytes) are summed under one frame.</summary>
    internal const int MaxTypes = 2_000;

    private const int BufferSizeMb = 64;

    /// <summary>GC | Type | GCHeapDump | GCHeapCollect | GCHeapAndTypeNames: ClrTraceEventParser.Keywords.GCHeapSnapshot.</summary>
    private const long HeapSnapshotKeywords = (long)ClrTraceEventParser.Keywords.GCHeapSnapshot;

    private static readonly Frame s_otherTypes = new("[other types]", "");

    /// <summary>One entry per type: its name as a one-frame stack, live objects, live bytes.</summary>
    public static async Task<IReadOnlyList<(Frame[] Stack, long Objects, long Bytes)>> TakeAsync(TimeSpan timeout)
    {
        var client = new DiagnosticsClient(Environment.ProcessId);
        using var session = client.StartEventPipeSession(new EventPipeSessionConfiguration(
            [new EventPipeProvider(ClrTraceEventParser.ProviderName, EventLevel.Informational, HeapSnapshotKeywords)],
            BufferSizeMb, requestRundown: false, requestStackwalk: false));

        var walk = new HeapWalk(session);
        var reading = Task.Factory.StartNew(walk.Read, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
        try
        {
            await reading.WaitAsync(timeout);
        }
        finally
        {
            walk.Stop();
            await reading.WaitAsync(timeout).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }

        return walk.ByType();
    }

    private sealed class HeapWalk(EventPipeSession session)
    {
        private readonly Dictionary<ulong, (long Objects, long Bytes)> _byTypeId = [];
        private readonly Dictionary<ulong, string> _typeNames = [];
        private int _stopped;
        private bool _sawNodes;

        public void Read()
        {
            using var source = new EventPipeEventSource(session.EventStream);
            source.Clr.GCBulkNode += OnNodes;
            source.Clr.TypeBulkType += OnTypes;
            // The walk happens inside the induced GC: once a GC that reported objects has ended, the walk is complete.
            source.Clr.GCStop += _ =>
            {
                if (_sawNodes)
                {
                    Stop();
                }
            };
            source.Process();
        }

        public void Stop()
        {
            if (Interlocked.Exchange(ref _stopped, 1) == 0)
            {
                // From another thread: Stop waits for the runtime's answer, which the reading thread must drain.
                _ = Task.Run(() =>
                {
                    try
                    {
                        session.Stop();
                    }
                    catch (Exception e) when (e is ServerNotAvailableException or ServerErrorException or IOException or TimeoutException or ObjectDisposedException)
                    {
                        // Already ended.
                    }
                });
            }
        }

        public IReadOnlyList<(Frame[] Stack, long Objects, long Bytes)> ByType()
        {
            var ordered = _byTypeId
                .Select(kv => (Name: _typeNames.GetValueOrDefault(kv.Key) ?? "[unknown type]", kv.Value.Objects, kv.Value.Bytes))
                .GroupBy(t => t.Name, StringComparer.Ordinal)
                .Select(g => (Name: g.Key, Objects: g.Sum(t => t.Objects), Bytes: g.Sum(t => t.Bytes)))
                .OrderByDescending(t => t.Bytes)
                .ToList();

            var result = ordered.Take(MaxTypes).Select(t => (new[] { new Frame(t.Name, "") }, t.Objects, t.Bytes)).ToList();
            if (ordered.Count > MaxTypes)
            {
                var rest = ordered.Skip(MaxTypes).ToList();
                result.Add(([s_otherTypes], rest.Sum(t => t.Objects), rest.Sum(t => t.Bytes)));
            }

            return result;
        }

        private void OnNodes(GCBulkNodeTraceData data)
        {
            _sawNodes = true;
            for (var i = 0; i < data.Count; i++)
            {
                var node = data.Values(i);
                ref var total = ref System.Runtime.InteropServices.CollectionsMarshal.GetValueRefOrAddDefault(_byTypeId, node.TypeID, out _);
                total = (total.Objects + 1, total.Bytes + (long)node.Size);
            }
        }

        private void OnTypes(GCBulkTypeTraceData data)
        {
            for (var i = 0; i < data.Count; i++)
            {
                var type = data.Values(i);
                _typeNames[type.TypeID] = type.TypeName;
            }
        }
    }
}
