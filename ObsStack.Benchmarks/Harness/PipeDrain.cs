using System.Reflection;

namespace ObsStack.Benchmarks.Harness;

/// <summary>
/// A child process that reads a pipe to its end and keeps nothing: the other end of a service's standard output, as
/// the Aspire host or a container runtime reads it. Its CPU is its own, outside the measured process. The pipe's
/// writing end counts the lines written through it, so a benchmark can wait until every line has been written.
/// </summary>
internal sealed class PipeDrain : IAsyncDisposable
{
    public const string Role = "__pipe-drain";

    private readonly ChildProcess _child;

    private PipeDrain()
    {
        var self = Assembly.GetExecutingAssembly().Location;
        _child = ChildProcess.Start("dotnet", ["exec", self, Role], Path.GetDirectoryName(self)!,
            new Dictionary<string, string>(), _ => true);
        Input = new LineCountingStream(_child.StandardInput.BaseStream);
    }

    /// <summary>The pipe's writing end: one write system call per <see cref="Stream.Write(byte[], int, int)"/>.</summary>
    public LineCountingStream Input { get; }

    public static PipeDrain Start() => new();

    /// <summary>Child side: read standard input until the harness closes it.</summary>
    public static async Task<int> RunChildAsync()
    {
        await using var input = Console.OpenStandardInput();
        await input.CopyToAsync(Stream.Null);
        return 0;
    }

    public async ValueTask DisposeAsync()
    {
        _child.StandardInput.Close();
        await _child.DisposeAsync();
    }

    /// <summary>Passes every write straight to the pipe and counts the newlines in it.</summary>
    public sealed class LineCountingStream(Stream pipe) : Stream
    {
        private long _lines;

        public long Lines => Interlocked.Read(ref _lines);

        public override bool CanRead => false;

        public override bool CanSeek => false;

        public override bool CanWrite => true;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        /// <summary>Until <see cref="Lines"/> reaches <paramref name="lines"/>, polling without spinning (the process's CPU is measured).</summary>
        public void WaitForLines(long lines, TimeSpan timeout)
        {
            var deadline = DateTime.UtcNow + timeout;
            while (Lines < lines)
            {
                if (DateTime.UtcNow > deadline)
                {
                    throw new TimeoutException($"Only {Lines} of {lines} lines reached the pipe within {timeout.TotalSeconds:0} s.");
                }

                Thread.Sleep(1);
            }
        }

        public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

        public override void Write(ReadOnlySpan<byte> buffer)
        {
            pipe.Write(buffer);
            Interlocked.Add(ref _lines, buffer.Count((byte)'\n'));
        }

        public override void Flush() => pipe.Flush();

        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();
    }
}
