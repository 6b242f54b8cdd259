using System.Net;
using System.Text;

namespace ObsStack.Benchmarks.Harness;

/// <summary>
/// Keeps the worker's queue full through its public intake (<c>POST /jobs</c>, batches of 100 URLs), without
/// overfilling it: a batch is sent only when the jobs not yet fetched (submitted − target requests) leave room for it.
/// So workers never wait for work, and the worker almost never has to answer 429 (which would cost it CPU that is not
/// job work). Bounded by construction: at most <c>queueCapacity</c> jobs outstanding.
/// </summary>
internal sealed class JobDriver : IAsyncDisposable
{
    public const int BatchSize = 100;

    private readonly HttpClient _worker;
    private readonly Func<long> _fetched;
    private readonly int _queueCapacity;
    private readonly byte[][] _bodies;
    private readonly CancellationTokenSource _stop = new();
    private Task _loop = Task.CompletedTask;
    private long _submitted;
    private long _refused;
    private long _errors;
    private string? _firstError;
    private long _baseline;

    public JobDriver(HttpClient worker, LoopbackPeers peers, int queueCapacity, int lane = 0)
    {
        _worker = worker;
        _fetched = () => peers.TargetRequests(lane);
        _queueCapacity = queueCapacity;

        // Ids vary like the load generator's (1..999) so job.url differs between spans and log lines, as in real use.
        var random = new Random(42);
        _bodies = [.. Enumerable.Range(0, 32).Select(_ =>
        {
            var urls = Enumerable.Range(0, BatchSize).Select(_ => "\"" + peers.TargetUrl(lane, random.Next(1, 1000)) + "\"");
            return Encoding.UTF8.GetBytes("{\"urls\":[" + string.Join(',', urls) + "]}");
        })];
    }

    public long Submitted => Interlocked.Read(ref _submitted);

    /// <summary>Batches the worker answered with 429 (queue full).</summary>
    public long Refused => Interlocked.Read(ref _refused);

    public long Errors => Interlocked.Read(ref _errors);

    public string? FirstError => _firstError;

    public void Start()
    {
        _baseline = _fetched();
        _loop = Task.Run(() => RunAsync(_stop.Token));
    }

    private async Task RunAsync(CancellationToken stop)
    {
        var next = 0;
        while (!stop.IsCancellationRequested)
        {
            var outstanding = Submitted - (_fetched() - _baseline);
            if (outstanding > _queueCapacity - BatchSize)
            {
                await Delay(2, stop);
                continue;
            }

            try
            {
                using var content = new ByteArrayContent(_bodies[next++ % _bodies.Length]);
                content.Headers.ContentType = new("application/json");
                using var response = await _worker.PostAsync("/jobs", content, stop);
                switch (response.StatusCode)
                {
                    case HttpStatusCode.Accepted:
                        Interlocked.Add(ref _submitted, BatchSize);
                        break;
                    case HttpStatusCode.TooManyRequests:
                        Interlocked.Increment(ref _refused);
                        await Delay(10, stop);
                        break;
                    default:
                        Failed($"POST /jobs answered {(int)response.StatusCode}: {await response.Content.ReadAsStringAsync(stop)}");
                        await Delay(100, stop);
                        break;
                }
            }
            catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException && !stop.IsCancellationRequested)
            {
                Failed($"POST /jobs failed: {ex.Message}");
                await Delay(100, stop);
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
                break;
            }
        }
    }

    private void Failed(string error)
    {
        Interlocked.Increment(ref _errors);
        Interlocked.CompareExchange(ref _firstError, error, null);
    }

    private static Task Delay(int milliseconds, CancellationToken stop) =>
        Task.Delay(milliseconds, stop).ContinueWith(_ => { }, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        await _loop.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        _stop.Dispose();
    }
}
