using System.Collections.Concurrent;
using System.IO.Compression;
using Google.Protobuf;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using ObsStack.Tests.Infrastructure.Otlp;

namespace ObsStack.Tests.Infrastructure;

/// <summary>
/// An OTLP/HTTP (protobuf) endpoint on a free loopback port that decodes what exporters really send:
/// <c>POST /v1/traces</c>, <c>/v1/logs</c>, <c>/v1/metrics</c>. Can be told to fail, to play a dead backend.
/// </summary>
public sealed class OtlpReceiver : IAsyncDisposable
{
    private readonly ConcurrentQueue<ResourceSpans> _spans = new();
    private readonly ConcurrentQueue<ResourceLogs> _logs = new();
    private readonly ConcurrentQueue<ResourceMetrics> _metrics = new();
    private int _requests;
    private readonly ConcurrentDictionary<string, string> _lastHeaders = new(StringComparer.OrdinalIgnoreCase);

    private LoopbackServer _server = null!;

    public Uri BaseAddress => _server.BaseAddress;

    public Uri TracesEndpoint => new(BaseAddress, "/v1/traces");
    public Uri LogsEndpoint => new(BaseAddress, "/v1/logs");
    public Uri MetricsEndpoint => new(BaseAddress, "/v1/metrics");

    /// <summary>When set, every export waits this long before it is answered: a backend that hangs.</summary>
    public TimeSpan? Stall { get; set; }

    /// <summary>When set, every export is answered with this status (e.g. 503) and nothing is kept.</summary>
    public int? FailWith { get; set; }

    public int Requests => Volatile.Read(ref _requests);

    public static async Task<OtlpReceiver> StartAsync()
    {
        var receiver = new OtlpReceiver();
        receiver._server = await LoopbackServer.StartAsync(app =>
        {
            app.MapPost("/v1/traces", (HttpRequest r) => receiver.Receive(r, ExportTraceServiceRequest.Parser, m => receiver.Add(receiver._spans, m.ResourceSpans)));
            app.MapPost("/v1/logs", (HttpRequest r) => receiver.Receive(r, ExportLogsServiceRequest.Parser, m => receiver.Add(receiver._logs, m.ResourceLogs)));
            app.MapPost("/v1/metrics", (HttpRequest r) => receiver.Receive(r, ExportMetricsServiceRequest.Parser, m => receiver.Add(receiver._metrics, m.ResourceMetrics)));
        });
        return receiver;
    }

    public IReadOnlyList<ResourceSpans> ResourceSpans => [.. _spans];
    public IReadOnlyList<ResourceLogs> ResourceLogs => [.. _logs];
    public IReadOnlyList<ResourceMetrics> ResourceMetrics => [.. _metrics];

    /// <summary>A header of the most recent export request that had it, or null if none had it.</summary>
    public string? LastHeader(string name) => _lastHeaders.TryGetValue(name, out var value) ? value : null;

    /// <summary>Every span received, with the service.name of its resource.</summary>
    public IReadOnlyList<ReceivedSpan> Spans =>
        [.. _spans.SelectMany(rs => rs.ScopeSpans.SelectMany(ss => ss.Spans.Select(s => new ReceivedSpan(Otel.ServiceName(rs.Resource), ss.Scope?.Name ?? "", s))))];

    /// <summary>Every log record received, with the service.name of its resource.</summary>
    public IReadOnlyList<ReceivedLog> Logs =>
        [.. _logs.SelectMany(rl => rl.ScopeLogs.SelectMany(sl => sl.LogRecords.Select(l => new ReceivedLog(Otel.ServiceName(rl.Resource), l))))];

    /// <summary>Polls until <paramref name="condition"/> holds on what was received, or fails with <paramref name="what"/>.</summary>
    public Task WaitForAsync(Func<OtlpReceiver, bool> condition, string what, TimeSpan? timeout = null) =>
        Poll.UntilAsync(() => condition(this), what, timeout ?? TimeSpan.FromSeconds(20));

    private async Task<IResult> Receive<T>(HttpRequest request, MessageParser<T> parser, Action<T> store) where T : IMessage<T>
    {
        Interlocked.Increment(ref _requests);
        foreach (var (name, value) in request.Headers)
        {
            _lastHeaders[name] = value.ToString();
        }

        if (Stall is { } stall)
        {
            await Task.Delay(stall);
        }

        if (FailWith is { } status)
        {
            return Results.StatusCode(status);
        }

        using var buffer = new MemoryStream();
        var body = request.Headers.ContentEncoding.ToString().Contains("gzip", StringComparison.OrdinalIgnoreCase)
            ? new GZipStream(request.Body, CompressionMode.Decompress)
            : request.Body;
        await body.CopyToAsync(buffer);
        if (request.ContentType?.StartsWith("application/x-protobuf", StringComparison.Ordinal) != true)
        {
            return Results.StatusCode(StatusCodes.Status415UnsupportedMediaType);
        }

        store(parser.ParseFrom(buffer.ToArray()));
        return Results.Bytes([], "application/x-protobuf");
    }

    private void Add<T>(ConcurrentQueue<T> queue, IEnumerable<T> items)
    {
        foreach (var item in items)
        {
            queue.Enqueue(item);
        }
    }

    public ValueTask DisposeAsync() => _server.DisposeAsync();
}

public sealed record ReceivedSpan(string Service, string Scope, Span Span)
{
    public string Name => Span.Name;
    public string TraceId => Convert.ToHexStringLower(Span.TraceId.Span);
    public string SpanId => Convert.ToHexStringLower(Span.SpanId.Span);
    public string ParentSpanId => Span.ParentSpanId.IsEmpty ? "" : Convert.ToHexStringLower(Span.ParentSpanId.Span);
    public string? Attribute(string key) => Otel.Attribute(Span.Attributes, key);
}

public sealed record ReceivedLog(string Service, LogRecord Record)
{
    public string TraceId => Record.TraceId.IsEmpty ? "" : Convert.ToHexStringLower(Record.TraceId.Span);
    public string SpanId => Record.SpanId.IsEmpty ? "" : Convert.ToHexStringLower(Record.SpanId.Span);
    public string Body => Record.Body?.StringValue ?? "";
    public string? Attribute(string key) => Otel.Attribute(Record.Attributes, key);
}

public static class Otel
{
    public static string ServiceName(Resource? resource) => Attribute(resource?.Attributes, "service.name") ?? "";

    public static string? Attribute(IEnumerable<KeyValue>? attributes, string key)
    {
        var value = attributes?.FirstOrDefault(a => a.Key == key)?.Value;
        return value?.ValueCase switch
        {
            null or AnyValue.ValueOneofCase.None => null,
            AnyValue.ValueOneofCase.StringValue => value.StringValue,
            AnyValue.ValueOneofCase.IntValue => value.IntValue.ToString(System.Globalization.CultureInfo.InvariantCulture),
            AnyValue.ValueOneofCase.BoolValue => value.BoolValue ? "true" : "false",
            AnyValue.ValueOneofCase.DoubleValue => value.DoubleValue.ToString(System.Globalization.CultureInfo.InvariantCulture),
            _ => value.ToString(),
        };
    }
}
