using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace ObsStack.Tests.Infrastructure;

/// <summary>
/// What the worker fetches in tests, on a free loopback port: <c>/ok</c> (200, 100 bytes), <c>/status/{code}</c>,
/// <c>/slow/{ms}</c>, <c>/hold</c> (waits until released). It records the highest number of requests in flight.
/// </summary>
public sealed class TargetServer : IAsyncDisposable
{
    private LoopbackServer _server = null!;
    private TaskCompletionSource _release = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _inFlight;
    private int _maxInFlight;
    private int _requests;

    public Uri BaseAddress => _server.BaseAddress;
    public int MaxInFlight => Volatile.Read(ref _maxInFlight);
    public int InFlight => Volatile.Read(ref _inFlight);
    public int Requests => Volatile.Read(ref _requests);

    public string Url(string path) => new Uri(BaseAddress, path).ToString();

    /// <summary>The worker's allow-list entry for this server (<c>127.0.0.1:port</c>): tests name their targets explicitly.</summary>
    public KeyValuePair<string, string?> AllowListEntry(int index = 0) =>
        new($"WorkerPool:AllowedTargetHosts:{index}", BaseAddress.Authority);

    /// <summary>Lets every held request (and later ones) complete.</summary>
    public void Release() => _release.TrySetResult();

    public static async Task<TargetServer> StartAsync()
    {
        var server = new TargetServer();
        server._server = await LoopbackServer.StartAsync(app =>
        {
            app.Use(async (context, next) =>
            {
                Interlocked.Increment(ref server._requests);
                var now = Interlocked.Increment(ref server._inFlight);
                int seen;
                while (now > (seen = Volatile.Read(ref server._maxInFlight)) && Interlocked.CompareExchange(ref server._maxInFlight, now, seen) != seen)
                {
                }

                try
                {
                    await next(context);
                }
                finally
                {
                    Interlocked.Decrement(ref server._inFlight);
                }
            });
            app.MapGet("/ok", () => Results.Text(new string('x', 100)));
            app.MapGet("/status/{code:int}", (int code) => Results.StatusCode(code));
            app.MapGet("/slow/{ms:int}", async (int ms, CancellationToken ct) =>
            {
                await Task.Delay(ms, ct);
                return Results.Text("slow");
            });
            app.MapGet("/hold", async (CancellationToken ct) =>
            {
                await server._release.Task.WaitAsync(ct);
                return Results.Text("released");
            });
        });
        return server;
    }

    public async ValueTask DisposeAsync()
    {
        Release();
        await _server.DisposeAsync();
    }
}
