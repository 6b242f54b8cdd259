using System.Net;
using System.Net.Sockets;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace ObsStack.Benchmarks.Harness;

/// <summary>
/// Everything the worker talks to during a benchmark, on one loopback port of the harness process, kept as cheap as
/// Kestrel allows (one request delegate, no routing, no logging, no telemetry listeners):
/// <list type="bullet">
/// <item><c>GET /t{lane}/{anything}</c>: the job target, 200 with a 100-byte body (what the tests' <c>/ok</c> returns),
/// counted per lane (0–3) so two workers measured side by side each know how many of their jobs were fetched;</item>
/// <item><c>POST /v1/traces|logs|metrics</c>: an OTLP/HTTP sink that reads the protobuf body and discards it;</item>
/// <item><c>POST /push.v1.PusherService/Push</c>: a Pyroscope push sink that reads the body and discards it.</item>
/// </list>
/// Each path counts its requests and bytes, so a run can prove that telemetry really left the worker.
/// </summary>
internal sealed class LoopbackPeers : IAsyncDisposable
{
    public const int Lanes = 4;
    public const string PyroscopePushPath = "/push.v1.PusherService/Push";

    private static readonly byte[] TargetBody = "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"u8.ToArray();

    private readonly WebApplication _app;
    private readonly long[] _targetRequests = new long[Lanes * 16]; // one cache line (16 longs apart) per lane

    private LoopbackPeers(WebApplication app) => _app = app;

    public Uri BaseAddress { get; private set; } = null!;

    public long TargetRequests(int lane) => Interlocked.Read(ref _targetRequests[lane * 16]);

    public SinkCounter Traces { get; } = new("traces");
    public SinkCounter Logs { get; } = new("logs");
    public SinkCounter Metrics { get; } = new("metrics");
    public SinkCounter Profiles { get; } = new("profiles");

    /// <summary>
    /// When set, the Pyroscope sink also keeps the push bodies (up to this many), for suites that look inside the
    /// profiles; otherwise it discards them like the other sinks.
    /// </summary>
    public int KeepProfiles { get; set; }

    /// <summary>The push bodies kept (see <see cref="KeepProfiles"/>), with when they arrived.</summary>
    public System.Collections.Concurrent.ConcurrentQueue<(DateTime At, byte[] Body)> KeptProfiles { get; } = new();

    public IReadOnlyList<SinkCounter> Sinks => [Traces, Logs, Metrics, Profiles];

    public Uri Otlp(string signal) => new(BaseAddress, "/v1/" + signal);

    public string TargetUrl(int lane, int id) => $"{BaseAddress.GetLeftPart(UriPartial.Authority)}/t{lane}/{id}";

    public static async Task<LoopbackPeers> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.WebHost.ConfigureKestrel(k => k.AddServerHeader = false);
        var app = builder.Build();
        var peers = new LoopbackPeers(app);
        app.Run(peers.HandleAsync);

        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single();
        peers.BaseAddress = new Uri(address);
        return peers;
    }

    /// <summary>A loopback port nothing listens on: connections are refused at once, like a backend that is down.</summary>
    public static int ClosedPort()
    {
        using var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        var port = ((IPEndPoint)probe.LocalEndpoint).Port;
        probe.Stop();
        return port;
    }

    /// <summary>A free loopback port for a child process to listen on.</summary>
    public static int FreePort() => ClosedPort();

    private Task HandleAsync(HttpContext context)
    {
        var request = context.Request;
        var path = request.Path.Value ?? "";
        if (HttpMethods.IsGet(request.Method) && path.Length > 3 && path[1] == 't' && path[2] is >= '0' and < (char)('0' + Lanes) && path[3] == '/')
        {
            Interlocked.Increment(ref _targetRequests[(path[2] - '0') * 16]);
            context.Response.ContentType = "text/plain";
            context.Response.ContentLength = TargetBody.Length;
            return context.Response.Body.WriteAsync(TargetBody).AsTask();
        }

        if (HttpMethods.IsPost(request.Method))
        {
            switch (path)
            {
                case "/v1/traces": return SinkAsync(context, Traces, "application/x-protobuf");
                case "/v1/logs": return SinkAsync(context, Logs, "application/x-protobuf");
                case "/v1/metrics": return SinkAsync(context, Metrics, "application/x-protobuf");
                // Connect unary call: an empty protobuf message is a valid (empty) PushResponse.
                case PyroscopePushPath: return KeepProfiles > KeptProfiles.Count ? KeepAsync(context) : SinkAsync(context, Profiles, "application/proto");
            }
        }

        context.Response.StatusCode = StatusCodes.Status404NotFound;
        return Task.CompletedTask;
    }

    private static async Task SinkAsync(HttpContext context, SinkCounter counter, string contentType)
    {
        var buffer = System.Buffers.ArrayPool<byte>.Shared.Rent(64 * 1024);
        try
        {
            long bytes = 0;
            int read;
            while ((read = await context.Request.Body.ReadAsync(buffer)) > 0)
            {
                bytes += read;
            }

            counter.Add(bytes);
        }
        finally
        {
            System.Buffers.ArrayPool<byte>.Shared.Return(buffer);
        }

        context.Response.ContentType = contentType;
        context.Response.ContentLength = 0;
    }

    private async Task KeepAsync(HttpContext context)
    {
        using var body = new MemoryStream();
        await context.Request.Body.CopyToAsync(body);
        Profiles.Add(body.Length);
        KeptProfiles.Enqueue((DateTime.UtcNow, body.ToArray()));
        context.Response.ContentType = "application/proto";
        context.Response.ContentLength = 0;
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}

/// <summary>Requests and body bytes one sink received.</summary>
internal sealed class SinkCounter(string name)
{
    private long _requests;
    private long _bytes;

    public string Name { get; } = name;
    public long Requests => Interlocked.Read(ref _requests);
    public long Bytes => Interlocked.Read(ref _bytes);

    public void Add(long bytes)
    {
        Interlocked.Increment(ref _requests);
        Interlocked.Add(ref _bytes, bytes);
    }

    public (long Requests, long Bytes) Snapshot() => (Requests, Bytes);
}
