using System.Collections.Concurrent;
using Google.Protobuf;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using ObsStack.Tests.Infrastructure;
using ObsStack.Tests.Infrastructure.Otlp;

namespace ObsStack.Tests.Deploy;

/// <summary>
/// An OTLP/HTTP endpoint that counts what arrives per signal: request bodies in bytes as sent (the exporters do not
/// compress), and the spans, log records and metric data points decoded from them.
/// </summary>
public sealed class TelemetrySink : IAsyncDisposable
{
    private readonly ConcurrentDictionary<string, SignalTotals> _totals = new();
    private LoopbackServer _server = null!;

    public Uri BaseAddress => _server.BaseAddress;

    /// <summary>The last metrics export: every series of the instance (cumulative temporality), and its size.</summary>
    public (ExportMetricsServiceRequest Request, long Bytes)? LastMetrics { get; private set; }

    /// <summary>
    /// Spans received by name: how many, and their bytes on the wire, each span's own encoding plus an equal share of
    /// its request's envelope (resource, scope, framing). Tests host several servers in one process, and its tracer
    /// sees them all, so a measurement picks its service's spans by name.
    /// </summary>
    public IReadOnlyDictionary<string, (long Count, double Bytes)> Spans => _spans;

    private readonly ConcurrentDictionary<string, (long Count, double Bytes)> _spans = new();

    public SignalTotals Totals(string signal) => _totals.GetOrAdd(signal, _ => new SignalTotals());

    public static async Task<TelemetrySink> StartAsync()
    {
        var sink = new TelemetrySink();
        sink._server = await LoopbackServer.StartAsync(app =>
        {
            app.MapPost("/v1/traces", (HttpRequest r) => sink.ReceiveAsync(r, "traces", body =>
            {
                var spans = ExportTraceServiceRequest.Parser.ParseFrom(body).ResourceSpans
                    .SelectMany(s => s.ScopeSpans).SelectMany(s => s.Spans).ToList();
                var sizes = spans.Select(span => span.CalculateSize() + CodedOutputStream.ComputeLengthSize(span.CalculateSize()) + 1).ToList();
                var envelope = (double)(body.Length - sizes.Sum()) / Math.Max(1, spans.Count);
                foreach (var (span, size) in spans.Zip(sizes))
                {
                    sink._spans.AddOrUpdate(span.Name, (1, size + envelope), (_, total) => (total.Count + 1, total.Bytes + size + envelope));
                }

                return spans.Count;
            }));
            app.MapPost("/v1/logs", (HttpRequest r) => sink.ReceiveAsync(r, "logs", body =>
                ExportLogsServiceRequest.Parser.ParseFrom(body).ResourceLogs.SelectMany(l => l.ScopeLogs).Sum(l => l.LogRecords.Count)));
            app.MapPost("/v1/metrics", (HttpRequest r) => sink.ReceiveAsync(r, "metrics", body =>
            {
                var request = ExportMetricsServiceRequest.Parser.ParseFrom(body);
                sink.LastMetrics = (request, body.Length);
                return request.ResourceMetrics.SelectMany(m => m.ScopeMetrics).SelectMany(s => s.Metrics).Sum(DataPoints);
            }));
        });
        return sink;
    }

    /// <summary>
    /// The series Prometheus stores for an OTLP metrics export: one per number data point, and per histogram data
    /// point one per bucket (+Inf included) plus _sum and _count; plus target_info per resource.
    /// </summary>
    public static int PrometheusSeries(ExportMetricsServiceRequest request) =>
        request.ResourceMetrics.Count
        + request.ResourceMetrics.SelectMany(m => m.ScopeMetrics).SelectMany(s => s.Metrics).Sum(metric => metric.DataCase switch
        {
            Metric.DataOneofCase.Histogram => metric.Histogram.DataPoints.Sum(p => p.ExplicitBounds.Count + 1 + 2),
            _ => DataPoints(metric),
        });

    private static int DataPoints(Metric metric) => metric.DataCase switch
    {
        Metric.DataOneofCase.Gauge => metric.Gauge.DataPoints.Count,
        Metric.DataOneofCase.Sum => metric.Sum.DataPoints.Count,
        Metric.DataOneofCase.Histogram => metric.Histogram.DataPoints.Count,
        _ => 0,
    };

    private async Task<IResult> ReceiveAsync(HttpRequest request, string signal, Func<byte[], int> items)
    {
        using var buffer = new MemoryStream();
        await request.Body.CopyToAsync(buffer);
        var body = buffer.ToArray();
        Totals(signal).Add(body.Length, items(body));
        return Results.Bytes([], "application/x-protobuf");
    }

    public ValueTask DisposeAsync() => _server.DisposeAsync();

    public sealed class SignalTotals
    {
        private long _bytes;
        private long _items;
        private long _requests;

        public long Bytes => Interlocked.Read(ref _bytes);
        public long Items => Interlocked.Read(ref _items);
        public long Requests => Interlocked.Read(ref _requests);

        public void Add(long bytes, long items)
        {
            Interlocked.Add(ref _bytes, bytes);
            Interlocked.Add(ref _items, items);
            Interlocked.Increment(ref _requests);
        }
    }
}
