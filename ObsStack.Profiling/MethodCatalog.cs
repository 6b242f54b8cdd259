using System.Diagnostics.Tracing;
using Microsoft.Diagnostics.NETCore.Client;
using Microsoft.Diagnostics.Tracing;
using Microsoft.Diagnostics.Tracing.Parsers;
using Microsoft.Diagnostics.Tracing.Parsers.Clr;

namespace ObsStack.Profiling;

/// <summary>
/// Names of the process's compiled code by address, kept across sampling sessions so that a session does not need the
/// runtime's rundown (every loaded method, replayed at each session's end: most of an idle service's profiling cost,
/// docs/performance.md) to name its stacks.
/// <para>
/// It learns from a session that stays open the whole time with only the JIT and loader keywords (no stacks, no
/// sampling: a few events per method compiled, next to nothing once the service has warmed up), so code compiled while
/// no sampling session is open is known too; and from the rundown of a sampling session whenever one is needed: the
/// first, after a module was loaded (its precompiled ReadyToRun code is never announced by a JIT event), and every
/// <see cref="RundownEverySessions"/> sessions as a safety net.
/// </para>
/// </summary>
internal sealed class MethodCatalog : IDisposable
{
    /// <summary>A rundown at least this often anyway, in sessions: whatever the catalog missed is named again.</summary>
    internal const int RundownEverySessions = 40;

    /// <summary>Bound on the methods kept (about 100 bytes each); past it new ones are left to the next rundown.</summary>
    internal const int MaxMethods = 500_000;

    private readonly Lock _gate = new();
    private readonly List<(ulong Start, uint Size, string Name)> _added = [];
    private readonly Dictionary<string, Frame> _frames = new(StringComparer.Ordinal);
    private readonly Dictionary<long, string> _modules = [];
    private ulong[] _starts = [];
    private (uint Size, Frame Frame)[] _entries = [];
    private int _count;
    private int _sessionsSinceRundown = int.MaxValue;
    private bool _moduleLoaded;
    private EventPipeSession? _watch;
    private Thread? _watcher;

    /// <summary>Whether the next sampling session should ask for the rundown.</summary>
    public bool NeedsRundown
    {
        get
        {
            lock (_gate)
            {
                return _moduleLoaded || _watch is null || _sessionsSinceRundown >= RundownEverySessions;
            }
        }
    }

    /// <summary>Opens the JIT/loader session and reads it on its own thread. Failing to open it only means a rundown every session.</summary>
    public void StartWatching()
    {
        try
        {
            var client = new DiagnosticsClient(Environment.ProcessId);
            var keywords = (long)(ClrTraceEventParser.Keywords.Jit | ClrTraceEventParser.Keywords.Loader);
            _watch = client.StartEventPipeSession(new EventPipeSessionConfiguration(
                [new EventPipeProvider(ClrTraceEventParser.ProviderName, EventLevel.Verbose, keywords)],
                circularBufferSizeMB: 4, requestRundown: false, requestStackwalk: false));
        }
        catch (Exception e) when (e is ServerNotAvailableException or ServerErrorException or IOException or TimeoutException or UnauthorizedAccessException)
        {
            return;
        }

        var session = _watch;
        _watcher = new Thread(() => Watch(session)) { IsBackground = true, Name = "ObsStack profiler methods" };
        _watcher.Start();
    }

    /// <summary>Feeds the catalog from a sampling session's own JIT, loader and rundown events.</summary>
    public void Subscribe(TraceEventDispatcher source)
    {
        var rundown = new ClrRundownTraceEventParser(source);
        rundown.MethodDCStopVerbose += OnMethod;
        rundown.LoaderModuleDCStop += data => OnModule(data.ModuleID, data.ModuleILPath, announceLoad: false);
    }

    /// <summary>A sampling session ended; <paramref name="hadRundown"/> says whether it replayed every method.</summary>
    public void SessionEnded(bool hadRundown)
    {
        lock (_gate)
        {
            if (hadRundown)
            {
                _sessionsSinceRundown = 0;
                _moduleLoaded = false;
            }
            else if (_sessionsSinceRundown < int.MaxValue)
            {
                _sessionsSinceRundown++;
            }
        }
    }

    /// <summary>The method whose code holds <paramref name="address"/>, if the catalog knows it.</summary>
    public Frame? Find(ulong address)
    {
        lock (_gate)
        {
            Merge();
            var i = Array.BinarySearch(_starts, address);
            i = i >= 0 ? i : ~i - 1;
            return i >= 0 && address - _starts[i] < _entries[i].Size ? _entries[i].Frame : null;
        }
    }

    public void Dispose()
    {
        var watch = Interlocked.Exchange(ref _watch, null);
        try
        {
            watch?.Stop();
        }
        catch (Exception e) when (e is ServerNotAvailableException or ServerErrorException or IOException or TimeoutException or ObjectDisposedException)
        {
            // The runtime is going away: nothing left to stop.
        }

        _watcher?.Join(TimeSpan.FromSeconds(5));
        watch?.Dispose();
    }

    private void Watch(EventPipeSession session)
    {
        try
        {
            using var source = new EventPipeEventSource(session.EventStream);
            source.Clr.MethodLoadVerbose += OnMethod;
            source.Clr.LoaderModuleLoad += data => OnModule(data.ModuleID, data.ModuleILPath, announceLoad: true);
            source.Process();
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException or EndOfStreamException)
        {
            // Session ended under the reader.
        }
        finally
        {
            lock (_gate)
            {
                // No longer watching: every sampling session asks for the rundown again.
                _watch = null;
            }
        }
    }

    private void OnMethod(MethodLoadUnloadVerboseTraceData data)
    {
        if (data.MethodSize == 0)
        {
            return;
        }

        var name = data.MethodNamespace.Length > 0 ? $"{data.MethodNamespace}.{data.MethodName}" : data.MethodName;
        lock (_gate)
        {
            if (_count + _added.Count < MaxMethods)
            {
                _added.Add((data.MethodStartAddress, (uint)data.MethodSize, _modules.TryGetValue(data.ModuleID, out var module) ? module + "\n" + name : "\n" + name));
            }
        }
    }

    private void OnModule(long moduleId, string path, bool announceLoad)
    {
        lock (_gate)
        {
            _modules[moduleId] = Path.GetFileNameWithoutExtension(path);
            _moduleLoaded |= announceLoad;
        }
    }

    /// <summary>Folds newly learnt methods into the sorted arrays (under the lock). A method compiled again replaces nothing: both code ranges stay valid.</summary>
    private void Merge()
    {
        if (_added.Count == 0)
        {
            return;
        }

        var starts = new ulong[_count + _added.Count];
        var entries = new (uint Size, Frame Frame)[starts.Length];
        Array.Copy(_starts, starts, _count);
        Array.Copy(_entries, entries, _count);
        var n = _count;
        foreach (var (start, size, key) in _added)
        {
            if (!_frames.TryGetValue(key, out var frame))
            {
                var split = key.IndexOf('\n');
                frame = new Frame(key[(split + 1)..], key[..split]);
                _frames.Add(key, frame);
            }

            starts[n] = start;
            entries[n++] = (size, frame);
        }

        _added.Clear();
        Array.Sort(starts, entries);
        _starts = starts;
        _entries = entries;
        _count = n;
    }
}
