using System.Diagnostics;
using System.Globalization;
using System.Text;

namespace ObsStack.Benchmarks.Harness;

/// <summary>
/// A process the harness started: its output is drained (counted, never kept, except the first warnings and errors),
/// its CPU time and working set are read from the OS, and it is always stopped — gracefully first, then killed.
/// </summary>
internal sealed class ChildProcess : IAsyncDisposable
{
    private const int KeptLines = 20;

    // Every child of this harness, so Ctrl+C or a crash of the harness never leaves one running.
    private static readonly List<Process> Running = [];

    private readonly Process _process;
    private readonly List<string> _notable = [];
    private readonly Task _stdout;
    private readonly Task _stderr;
    private long _lines;

    static ChildProcess()
    {
        Console.CancelKeyPress += (_, _) => KillAll();
        AppDomain.CurrentDomain.ProcessExit += (_, _) => KillAll();
    }

    private ChildProcess(Process process, Func<string, bool> isNotable, Action<string>? onLine)
    {
        _process = process;
        _stdout = onLine is null
            ? DrainLinesAsBytesAsync(process.StandardOutput.BaseStream, isNotable)
            : DrainAsync(process.StandardOutput, isNotable, onLine);
        _stderr = DrainAsync(process.StandardError, _ => true, null);
    }

    public int Id => _process.Id;

    public bool HasExited => _process.HasExited;

    /// <summary>Lines written to stdout and stderr so far (the worker writes one JSON log line per job).</summary>
    public long Lines => Interlocked.Read(ref _lines);

    /// <summary>The first warning/error lines (stdout) and all stderr lines, up to <see cref="KeptLines"/>.</summary>
    public IReadOnlyList<string> NotableLines
    {
        get
        {
            lock (_notable)
            {
                return [.. _notable];
            }
        }
    }

    public StreamWriter StandardInput => _process.StandardInput;

    public static ChildProcess Start(string fileName, IEnumerable<string> arguments, string workingDirectory,
        IReadOnlyDictionary<string, string> environment, Func<string, bool> isNotable, Action<string>? onLine = null)
    {
        var info = new ProcessStartInfo(fileName)
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        foreach (var argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }

        // A clean slate: whatever configures telemetry or the worker in the harness' own environment must not leak in.
        foreach (var key in info.Environment.Keys.ToList())
        {
            if (key.StartsWith("OTEL_", StringComparison.OrdinalIgnoreCase)
                || key.StartsWith("Telemetry__", StringComparison.OrdinalIgnoreCase)
                || key.StartsWith("WorkerPool__", StringComparison.OrdinalIgnoreCase)
                || key.StartsWith("LoadGenerator__", StringComparison.OrdinalIgnoreCase)
                || key.StartsWith("Logging__", StringComparison.OrdinalIgnoreCase)
                || key.StartsWith("services__", StringComparison.OrdinalIgnoreCase)
                || key.StartsWith("ASPNETCORE_", StringComparison.OrdinalIgnoreCase)
                || key.StartsWith("DOTNET_gc", StringComparison.OrdinalIgnoreCase))
            {
                info.Environment.Remove(key);
            }
        }

        foreach (var (key, value) in environment)
        {
            info.Environment[key] = value;
        }

        var process = Process.Start(info) ?? throw new InvalidOperationException($"Could not start {fileName}.");
        lock (Running)
        {
            Running.Add(process);
        }

        return new ChildProcess(process, isNotable, onLine);
    }

    /// <summary>User + kernel CPU time of the process so far.</summary>
    public TimeSpan CpuTime
    {
        get
        {
            _process.Refresh();
            return _process.TotalProcessorTime;
        }
    }

    /// <summary>
    /// Voluntary plus involuntary context switches of the process' live threads so far (<c>/proc/&lt;pid&gt;/task/*/status</c>;
    /// a thread that has exited takes its count with it), or null where /proc is not there.
    /// </summary>
    public long? ContextSwitches
    {
        get
        {
            var tasks = $"/proc/{_process.Id}/task";
            if (!Directory.Exists(tasks))
            {
                return null;
            }

            long total = 0;
            foreach (var task in Directory.EnumerateDirectories(tasks))
            {
                try
                {
                    foreach (var line in File.ReadLines(Path.Combine(task, "status")))
                    {
                        if (line.StartsWith("voluntary_ctxt_switches:", StringComparison.Ordinal)
                            || line.StartsWith("nonvoluntary_ctxt_switches:", StringComparison.Ordinal))
                        {
                            total += long.Parse(line.AsSpan(line.IndexOf(':') + 1).Trim(), CultureInfo.InvariantCulture);
                        }
                    }
                }
                catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
                {
                    // The thread exited between the listing and the read.
                }
            }

            return total;
        }
    }

    public long WorkingSetBytes
    {
        get
        {
            _process.Refresh();
            return _process.WorkingSet64;
        }
    }

    /// <summary>
    /// Asks the process to stop as a container runtime would (SIGTERM: graceful host shutdown, telemetry flushed),
    /// and kills it if it has not exited within <paramref name="grace"/>.
    /// </summary>
    public async Task StopAsync(TimeSpan grace)
    {
        if (!_process.HasExited)
        {
            if (OperatingSystem.IsWindows())
            {
                _process.Kill(entireProcessTree: true);
            }
            else
            {
                using var kill = Process.Start(new ProcessStartInfo("kill", ["-TERM", _process.Id.ToString()]) { UseShellExecute = false });
                kill?.WaitForExit();
            }
        }

        using var timeout = new CancellationTokenSource(grace);
        try
        {
            await _process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }

        await Task.WhenAll(_stdout, _stderr).WaitAsync(TimeSpan.FromSeconds(5)).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync(TimeSpan.FromSeconds(20));
        lock (Running)
        {
            Running.Remove(_process);
        }

        _process.Dispose();
    }

    private async Task DrainAsync(StreamReader reader, Func<string, bool> isNotable, Action<string>? onLine)
    {
        while (await reader.ReadLineAsync() is { } line)
        {
            Interlocked.Increment(ref _lines);
            onLine?.Invoke(line);
            if (isNotable(line))
            {
                lock (_notable)
                {
                    if (_notable.Count < KeptLines)
                    {
                        _notable.Add(line);
                    }
                }
            }
        }
    }

    /// <summary>
    /// Standard output counted as bytes: a loaded worker writes a JSON line per job (30k+ a second), and a string per
    /// line here was harness CPU on the two cores the worker is measured on. Only lines that are not info lines are
    /// decoded and offered to <paramref name="isNotable"/>.
    /// </summary>
    private async Task DrainLinesAsBytesAsync(Stream stream, Func<string, bool> isNotable)
    {
        var buffer = new byte[64 * 1024];
        var filled = 0;
        int read;
        while ((read = await stream.ReadAsync(buffer.AsMemory(filled))) > 0)
        {
            filled += read;
            var start = CountLines(buffer.AsSpan(0, filled), isNotable);
            buffer.AsSpan(start, filled - start).CopyTo(buffer);
            filled -= start;
            if (filled == buffer.Length)
            {
                // One line longer than the buffer: room for it.
                Array.Resize(ref buffer, buffer.Length * 2);
            }
        }

        if (filled > 0)
        {
            // The last line, without its newline.
            CountLines([.. buffer.AsSpan(0, filled), (byte)'\n'], isNotable);
        }
    }

    /// <summary>Counts and filters the complete lines in <paramref name="text"/>; returns where the incomplete rest starts.</summary>
    private int CountLines(ReadOnlySpan<byte> text, Func<string, bool> isNotable)
    {
        var start = 0;
        var count = 0;
        int newline;
        while ((newline = text[start..].IndexOf((byte)'\n')) >= 0)
        {
            var line = text.Slice(start, newline);
            start += newline + 1;
            count++;
            if (line.IndexOf("\"level\":\"info\""u8) < 0)
            {
                var decoded = Encoding.UTF8.GetString(line).TrimEnd('\r');
                if (isNotable(decoded))
                {
                    lock (_notable)
                    {
                        if (_notable.Count < KeptLines)
                        {
                            _notable.Add(decoded);
                        }
                    }
                }
            }
        }

        Interlocked.Add(ref _lines, count);
        return start;
    }

    private static void KillAll()
    {
        lock (Running)
        {
            foreach (var process in Running)
            {
                try
                {
                    if (!process.HasExited)
                    {
                        process.Kill(entireProcessTree: true);
                    }
                }
                catch (InvalidOperationException)
                {
                    // Already gone.
                }
            }
        }
    }
}
