using System.Text;
using System.Text.Json;

namespace ObsStack.Tests.Infrastructure;

/// <summary>
/// A console's output for tests: keeps every byte written and counts the writes. It can be blocked (writes wait until
/// unblocked, as a console nobody drains does) or made to fail (writes throw, as a closed output does).
/// </summary>
public sealed class ConsoleCapture : Stream
{
    /// <summary>No test waits longer on a blocked write: a forgotten <see cref="Unblock"/> fails instead of hanging.</summary>
    private static readonly TimeSpan MaxBlocked = TimeSpan.FromSeconds(60);

    private readonly MemoryStream _bytes = new();
    private readonly ManualResetEventSlim _open = new(initialState: true);
    private int _writesStarted;
    private int _writes;
    private volatile bool _failing;

    /// <summary>Write calls that got as far as the stream (blocked ones included).</summary>
    public int WritesStarted => Volatile.Read(ref _writesStarted);

    /// <summary>Write calls whose bytes were kept.</summary>
    public int Writes => Volatile.Read(ref _writes);

    public override bool CanRead => false;

    public override bool CanSeek => false;

    public override bool CanWrite => true;

    public override long Length => throw new NotSupportedException();

    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    public void Block() => _open.Reset();

    public void Unblock() => _open.Set();

    /// <summary>While true, every write throws an <see cref="IOException"/> and keeps nothing.</summary>
    public bool Failing { get => _failing; set => _failing = value; }

    /// <summary>Every complete line so far, without its newline.</summary>
    public IReadOnlyList<string> Lines()
    {
        string text;
        lock (_bytes)
        {
            text = Encoding.UTF8.GetString(_bytes.GetBuffer(), 0, (int)_bytes.Length);
        }

        var lines = text.Split('\n');
        return lines[..^1];
    }

    /// <summary>Every line parsed as JSON (a line that is not one JSON object fails the test here).</summary>
    public IReadOnlyList<JsonElement> JsonLines() =>
        [.. Lines().Select(line => JsonDocument.Parse(line).RootElement.Clone())];

    public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

    public override void Write(ReadOnlySpan<byte> buffer)
    {
        Interlocked.Increment(ref _writesStarted);
        if (!_open.Wait(MaxBlocked))
        {
            throw new IOException("The test never unblocked this console.");
        }

        if (_failing)
        {
            throw new IOException("Broken pipe (test)");
        }

        lock (_bytes)
        {
            _bytes.Write(buffer);
        }

        Interlocked.Increment(ref _writes);
    }

    public override void Flush()
    {
    }

    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _open.Set();
        }

        base.Dispose(disposing);
    }
}
