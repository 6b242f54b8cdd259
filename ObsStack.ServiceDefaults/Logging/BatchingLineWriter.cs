namespace ObsStack.ServiceDefaults.Logging;

/// <summary>
/// Complete lines from any thread, written to one stream by one thread, in batches. A caller copies its line into the
/// pending buffer under a lock held only for that copy, so lines never interleave and each thread's lines keep their
/// order. The writer thread swaps the pending buffer for its own and writes all of it with one call. A line that finds
/// the writer idle wakes it and goes out at once; after each write the writer lets lines gather for
/// <see cref="GatherTime"/> before it looks again, so under load it wakes at most a few hundred times a second however
/// many lines there are, and no logging thread pays for waking it (the reach benchmark: the writer woken per line was
/// a tenth of the worker's CPU, most of it in futex).
/// </summary>
/// <remarks>
/// A failing stream never throws into a caller: the batch is lost and counted (<see cref="LinesLost"/>) and the first
/// failure is reported once, to <c>errors</c>; later batches are tried again. Note that standard output from
/// <see cref="Console.OpenStandardOutput()"/> never fails on a closed pipe: the runtime treats EPIPE as written.
/// The stream is not disposed: standard output outlives the logger.
/// </remarks>
internal sealed class BatchingLineWriter : IDisposable
{
    /// <summary>How long <see cref="Dispose"/> waits for pending lines to be written (Microsoft's console logger: 1.5 s).</summary>
    public static readonly TimeSpan FlushTimeout = TimeSpan.FromSeconds(2);

    /// <summary>How long the writer lets lines gather after a write: the most a line waits behind a busy console.</summary>
    public static readonly TimeSpan GatherTime = TimeSpan.FromMilliseconds(2);

    /// <summary>Each buffer starts this small and doubles up to the bound: a quiet service keeps 2 × 16 KiB.</summary>
    private const int InitialBufferBytes = 16 * 1024;

    private readonly Stream _output;
    private readonly TextWriter _errors;
    private readonly int _maxPendingBytes;
    private readonly object _gate = new();
    private readonly Thread _writer;

    // Guarded by _gate.
    private byte[] _pending = new byte[InitialBufferBytes];
    private int _pendingBytes;
    private int _pendingLines;
    private int _waitingForRoom;
    private bool _closing;
    private bool _writerIdle;
    private bool _writerStopped;

    // The writer thread's own, swapped with _pending under _gate.
    private byte[] _writing = new byte[InitialBufferBytes];

    private long _linesLost;
    private int _failureReported;

    /// <param name="output">Where the lines go, one <see cref="Stream.Write(byte[], int, int)"/> per batch.</param>
    /// <param name="errors">Where a failing <paramref name="output"/> is reported, once.</param>
    /// <param name="maxPendingBytes">The most bytes waiting for the writer; a single longer line is let in alone.</param>
    public BatchingLineWriter(Stream output, TextWriter errors, int maxPendingBytes)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxPendingBytes);
        _output = output;
        _errors = errors;
        _maxPendingBytes = maxPendingBytes;
        _writer = new Thread(WriteLoop) { IsBackground = true, Name = "Console log writer" };
        _writer.Start();
    }

    public static BatchingLineWriter ForStandardOutput(int maxPendingBytes) =>
        new(Console.OpenStandardOutput(), Console.Error, maxPendingBytes);

    /// <summary>Lines the stream failed to take, and lines refused at shutdown for want of room.</summary>
    public long LinesLost => Interlocked.Read(ref _linesLost);

    /// <summary>Callers waiting for room in a full buffer right now.</summary>
    internal int CallersWaiting
    {
        get
        {
            lock (_gate)
            {
                return _waitingForRoom;
            }
        }
    }

    internal int PendingBytes
    {
        get
        {
            lock (_gate)
            {
                return _pendingBytes;
            }
        }
    }

    /// <summary>Queues one complete line, its newline included. Never throws for the stream's sake.</summary>
    public void WriteLine(ReadOnlySpan<byte> line)
    {
        lock (_gate)
        {
            // Full: the caller waits for the writer, as Microsoft's console logger does by default (QueueFullMode.Wait),
            // rather than dropping. The buffer fills only while the console takes lines more slowly than the service
            // makes them; waiting then paces the logging threads to the console and loses nothing, where dropping would
            // cut the console log in exactly the bursts someone reads it for. A console that never drains stalls logging
            // threads with either logger. Tested: Callers_wait_on_a_blocked_output_with_memory_bounded_and_resume_….
            while (!_closing && !HasRoomFor(line.Length))
            {
                _waitingForRoom++;
                Monitor.Wait(_gate);
                _waitingForRoom--;
            }

            if (_writerStopped)
            {
                // After Dispose: written by the caller, still under the gate, so even late lines never interleave.
                WriteNow(line);
            }
            else if (!HasRoomFor(line.Length))
            {
                // Closing, and the writer is not making room: waiting could outlast Dispose's bound.
                Lose(1, failure: null);
            }
            else
            {
                Append(line);
                if (_writerIdle)
                {
                    // The writer waits for a signal only on an empty buffer, and this is the first line since.
                    _writerIdle = false;
                    Monitor.PulseAll(_gate);
                }
            }
        }
    }

    /// <summary>Writes what is pending (bounded by <see cref="FlushTimeout"/>) and stops the writer thread.</summary>
    public void Dispose()
    {
        lock (_gate)
        {
            if (_closing)
            {
                return;
            }

            _closing = true;
            // The writer, to drain and stop; callers waiting for room, to stop waiting.
            Monitor.PulseAll(_gate);
        }

        if (!_writer.Join(FlushTimeout))
        {
            int lines;
            lock (_gate)
            {
                lines = _pendingLines;
            }

            Report($"the console took no more lines within {FlushTimeout.TotalSeconds:0} s of shutdown; {lines} line(s) not written.");
        }
    }

    private bool HasRoomFor(int length) => _pendingBytes == 0 || _pendingBytes + length <= _maxPendingBytes;

    private void Append(ReadOnlySpan<byte> line)
    {
        if (_pending.Length - _pendingBytes < line.Length)
        {
            Array.Resize(ref _pending, Math.Max(_pendingBytes + line.Length, Math.Min(_pending.Length * 2, _maxPendingBytes)));
        }

        line.CopyTo(_pending.AsSpan(_pendingBytes));
        _pendingBytes += line.Length;
        _pendingLines++;
    }

    private void WriteLoop()
    {
        while (TakePending(out var bytes, out var lines))
        {
            try
            {
                _output.Write(_writing, 0, bytes);
                _output.Flush();
            }
            catch (Exception ex)
            {
                // Whatever the stream throws, this thread lives on: callers wait for it when the buffer is full.
                Lose(lines, ex);
            }

            if (_writing.Length > _maxPendingBytes)
            {
                // It held one line longer than the bound: not kept.
                _writing = new byte[InitialBufferBytes];
            }

            if (!Volatile.Read(ref _closing) && Volatile.Read(ref _waitingForRoom) == 0)
            {
                Thread.Sleep(GatherTime);
            }
        }
    }

    /// <summary>Everything pending, moved into <see cref="_writing"/>; false when closing and nothing is left.</summary>
    private bool TakePending(out int bytes, out int lines)
    {
        lock (_gate)
        {
            while (_pendingBytes == 0)
            {
                if (_closing)
                {
                    _writerStopped = true;
                    bytes = lines = 0;
                    return false;
                }

                _writerIdle = true;
                Monitor.Wait(_gate);
            }

            _writerIdle = false;

            (_pending, _writing) = (_writing, _pending);
            (bytes, lines) = (_pendingBytes, _pendingLines);
            (_pendingBytes, _pendingLines) = (0, 0);
            if (_waitingForRoom > 0)
            {
                Monitor.PulseAll(_gate);
            }

            return true;
        }
    }

    private void WriteNow(ReadOnlySpan<byte> line)
    {
        try
        {
            _output.Write(line);
            _output.Flush();
        }
        catch (Exception ex)
        {
            Lose(1, ex);
        }
    }

    private void Lose(int lines, Exception? failure)
    {
        Interlocked.Add(ref _linesLost, lines);
        if (failure is not null && Interlocked.Exchange(ref _failureReported, 1) == 0)
        {
            Report($"writing to the console failed ({failure.GetType().Name}: {failure.Message}); console log lines are " +
                "lost while it fails (this is said once). Logs sent by OTLP are not affected.");
        }
    }

    private void Report(string message)
    {
        try
        {
            _errors.WriteLine($"ObsStack console log: {message}");
        }
        catch (Exception)
        {
            // Standard error is gone as well: there is no one left to tell.
        }
    }
}
