using System.Collections.Concurrent;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using ObsStack.Tests.Infrastructure;

namespace ObsStack.Tests.Profiling;

/// <summary>
/// A stand-in for Pyroscope's push endpoint on a free loopback port: it answers
/// <c>POST /push.v1.PusherService/Push</c> like a Connect unary handler (200, empty <c>application/proto</c> body) and
/// keeps every decoded request so tests can assert on what was really sent.
/// </summary>
internal sealed class PyroscopeReceiver : IAsyncDisposable
{
    public const string PushPath = "/push.v1.PusherService/Push";

    private readonly ConcurrentQueue<ReceivedPush> _received = new();
    private LoopbackServer _server = null!;

    /// <summary>The base URL as a user configures it, without a trailing slash (<c>http://127.0.0.1:41234</c>).</summary>
    public string BaseAddress => _server.BaseAddress.GetLeftPart(UriPartial.Authority);

    public IReadOnlyCollection<ReceivedPush> Received => _received;

    public IEnumerable<PushedSeries> Series => _received.SelectMany(r => r.Series);

    public static async Task<PyroscopeReceiver> StartAsync()
    {
        var receiver = new PyroscopeReceiver();
        receiver._server = await LoopbackServer.StartAsync(app => app.MapPost(PushPath, receiver.HandleAsync));
        return receiver;
    }

    /// <summary>Polls the received series until one satisfies <paramref name="predicate"/>, or fails after <paramref name="timeout"/>.</summary>
    public async Task<PushedSeries> WaitForAsync(Func<PushedSeries, bool> predicate, TimeSpan timeout, string what)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < deadline)
        {
            if (Series.FirstOrDefault(predicate) is { } match)
            {
                return match;
            }

            await Task.Delay(100);
        }

        var seen = string.Join(", ", Series.Select(s => s.Name));
        throw new TimeoutException($"No pushed series with {what} within {timeout.TotalSeconds} s (received: [{seen}]).");
    }

    /// <summary>When set, every push is answered with this status (a Connect error) and not recorded.</summary>
    public int? FailWith { get; set; }

    private async Task<IResult> HandleAsync(HttpRequest request)
    {
        using var body = new MemoryStream();
        await request.Body.CopyToAsync(body);
        if (FailWith is { } status)
        {
            return Results.Json(new { code = "unavailable", message = "test says no" }, statusCode: status);
        }

        _received.Enqueue(new ReceivedPush(request.ContentType, request.Headers["Connect-Protocol-Version"].ToString(), PushWire.DecodePushRequest(body.ToArray())));
        return Results.Bytes([], "application/proto");
    }

    public ValueTask DisposeAsync() => _server.DisposeAsync();
}

internal sealed record ReceivedPush(string? ContentType, string ConnectProtocolVersion, IReadOnlyList<PushedSeries> Series);
