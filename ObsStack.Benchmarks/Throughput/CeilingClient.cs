using System.Buffers;
using System.Reflection;
using System.Threading.Channels;
using ObsStack.Benchmarks.Harness;

namespace ObsStack.Benchmarks.Throughput;

/// <summary>
/// The ceiling: what a plain <see cref="HttpClient"/> loop achieves against the same target at the same concurrency —
/// the worker's fetch without the pool, queue, store, spans, metrics or logs. It runs in a child process of its own
/// (like the worker, and with Server GC like the worker), so its CPU time is measured the same way.
/// </summary>
internal static class CeilingClient
{
    public const string Role = "__ceiling-client";

    /// <summary>Child side: runs the loop; answers <c>sample</c> on stdin with its request and allocation counts.</summary>
    public static async Task<int> RunChildAsync(string[] args)
    {
        var baseUrl = args[0];
        var concurrency = int.Parse(args[1], Report.Invariant);
        using var stop = new CancellationTokenSource();

        // The same primary handler settings as the worker's "jobs" client (ObsStack.Worker AddWorkerServices).
        using var client = new HttpClient(new SocketsHttpHandler
        {
            AllowAutoRedirect = false,
            PooledConnectionLifetime = TimeSpan.FromMinutes(2),
            ConnectTimeout = TimeSpan.FromSeconds(5),
        })
        { Timeout = Timeout.InfiniteTimeSpan };

        long requests = 0;
        long failures = 0;
        var loops = Enumerable.Range(0, concurrency).Select(i => Task.Run(async () =>
        {
            var random = new Random(i);
            var buffer = ArrayPool<byte>.Shared.Rent(16 * 1024);
            while (!stop.IsCancellationRequested)
            {
                try
                {
                    using var response = await client.GetAsync($"{baseUrl}/t0/{random.Next(1, 1000)}", HttpCompletionOption.ResponseHeadersRead, stop.Token);
                    await using var body = await response.Content.ReadAsStreamAsync(stop.Token);
                    while (await body.ReadAsync(buffer, stop.Token) > 0)
                    {
                    }

                    Interlocked.Increment(ref (response.IsSuccessStatusCode ? ref requests : ref failures));
                }
                catch (OperationCanceledException) when (stop.IsCancellationRequested)
                {
                }
                catch (HttpRequestException)
                {
                    Interlocked.Increment(ref failures);
                }
            }
        })).ToArray();

        Console.WriteLine("ready");
        while (await Console.In.ReadLineAsync() is { } command && command != "stop")
        {
            if (command == "sample")
            {
                Console.WriteLine($"sample {Interlocked.Read(ref requests)} {GC.GetTotalAllocatedBytes()} {Interlocked.Read(ref failures)}");
            }
        }

        await stop.CancelAsync();
        await Task.WhenAll(loops);
        return 0;
    }

    /// <summary>Harness side: the client process and a way to sample it.</summary>
    public sealed class Child : IAsyncDisposable
    {
        private readonly ChildProcess _child;
        private readonly Channel<string> _replies = Channel.CreateUnbounded<string>();

        private Child(string baseUrl, int concurrency)
        {
            var self = Assembly.GetExecutingAssembly().Location;
            _child = ChildProcess.Start("dotnet", ["exec", self, Role, baseUrl, concurrency.ToString(Report.Invariant)],
                Path.GetDirectoryName(self)!,
                new Dictionary<string, string> { ["DOTNET_gcServer"] = "1" },
                _ => false,
                line => _replies.Writer.TryWrite(line));
        }

        public TimeSpan CpuTime => _child.CpuTime;

        public long? ContextSwitches => _child.ContextSwitches;

        public static async Task<Child> StartAsync(Uri target, int concurrency)
        {
            var process = new Child(target.GetLeftPart(UriPartial.Authority), concurrency);
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            var first = await process._replies.Reader.ReadAsync(timeout.Token);
            return first == "ready" ? process : throw new InvalidOperationException($"The ceiling client said '{first}'.");
        }

        public async Task<(long Requests, long AllocatedBytes, long Failures)> SampleAsync()
        {
            await _child.StandardInput.WriteLineAsync("sample");
            await _child.StandardInput.FlushAsync();
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            var parts = (await _replies.Reader.ReadAsync(timeout.Token)).Split(' ');
            return (long.Parse(parts[1], Report.Invariant), long.Parse(parts[2], Report.Invariant), long.Parse(parts[3], Report.Invariant));
        }

        public async ValueTask DisposeAsync()
        {
            try
            {
                await _child.StandardInput.WriteLineAsync("stop");
                await _child.StandardInput.FlushAsync();
            }
            catch (IOException)
            {
                // Already gone.
            }

            await _child.DisposeAsync();
        }
    }
}
