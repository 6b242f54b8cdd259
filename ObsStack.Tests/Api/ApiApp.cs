using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using ObsStack.Tests.Infrastructure;

namespace ObsStack.Tests.Api;

/// <summary>
/// The api with quiet, fast defaults for tests: service name "api", /data takes 1-5 ms and never fails on its own
/// (only chaos makes it fail), and no worker unless the test wires one. The chaos knobs need <see cref="ChaosKey"/>,
/// as under the AppHost: <see cref="ChaosClient"/> sends it.
/// </summary>
public sealed class ApiApp(IDictionary<string, string?>? settings = null, int port = 0)
    : ServiceApp<ObsStack.Api.ApiTelemetry>(Merge(settings), port)
{
    public const string ChaosKey = "test-chaos-key-0123456789abcdef";

    private static Dictionary<string, string?> Merge(IDictionary<string, string?>? settings)
    {
        var merged = new Dictionary<string, string?>
        {
            ["OTEL_SERVICE_NAME"] = "api",
            ["Data:MinLatencyMs"] = "1",
            ["Data:MaxLatencyMs"] = "5",
            ["Data:SlowRequestRatio"] = "0",
            ["Data:ErrorRate"] = "0",
            ["Api:ChaosKey"] = ChaosKey,
            ["Logging:LogLevel:Default"] = "Warning",
            ["Logging:LogLevel:ObsStack"] = "Information",
        };
        foreach (var (key, value) in settings ?? new Dictionary<string, string?>())
        {
            merged[key] = value;
        }

        return merged;
    }
}

/// <summary>Settings and lookups shared by the api tests.</summary>
public static class ApiTest
{
    /// <summary>A client that sends the chaos key (<see cref="ApiApp.ChaosKey"/>), as a drill user does.</summary>
    public static HttpClient ChaosClient(this ServiceApp<ObsStack.Api.ApiTelemetry> api)
    {
        var client = api.Client();
        client.DefaultRequestHeaders.Add(ObsStack.Api.Chaos.ChaosGuard.KeyHeader, ApiApp.ChaosKey);
        return client;
    }

    /// <summary>Sends traces and logs to <paramref name="otlp"/>, exported every 100 ms so tests wait little.</summary>
    public static Dictionary<string, string?> ExportingTo(OtlpReceiver otlp, IDictionary<string, string?>? more = null)
    {
        var settings = new Dictionary<string, string?>
        {
            ["Telemetry:Traces:OtlpEndpoint"] = otlp.TracesEndpoint.ToString(),
            ["Telemetry:Logs:OtlpEndpoint"] = otlp.LogsEndpoint.ToString(),
            ["Telemetry:Export:ScheduledDelay"] = "00:00:00.100",
        };
        foreach (var (key, value) in more ?? new Dictionary<string, string?>())
        {
            settings[key] = value;
        }

        return settings;
    }

    // Both hosts run in this process and activity listeners are process-wide, so each host's tracer provider also
    // exports the other host's spans under its own service.name: every span arrives twice. The lookups below therefore
    // identify a span by what it is (scope, kind, route, the port of the host that served it, its parent), not by the
    // service label of a copy, and ExportedBy checks that the service that made it did export it.

    /// <summary>The spans of one trace, one copy per span id.</summary>
    public static IReadOnlyList<ReceivedSpan> Trace(this OtlpReceiver otlp, string traceId) =>
        [.. otlp.Spans.Where(s => s.TraceId == traceId).DistinctBy(s => s.SpanId)];

    /// <summary>The server span of <paramref name="route"/> served by <paramref name="host"/>.</summary>
    public static ReceivedSpan? ServerSpan<T>(this OtlpReceiver otlp, string traceId, ServiceApp<T> host, string route, string? parentSpanId = null)
        where T : class =>
        otlp.Trace(traceId).FirstOrDefault(s => s.Span.Kind == 2 && s.Attribute("http.route") == route
            && s.Attribute("server.port") == host.Address.Port.ToString(System.Globalization.CultureInfo.InvariantCulture)
            && (parentSpanId is null || s.ParentSpanId == parentSpanId));

    /// <summary>The HTTP client span (System.Net.Http) whose parent is <paramref name="parentSpanId"/>.</summary>
    public static ReceivedSpan? ClientSpan(this OtlpReceiver otlp, string traceId, string parentSpanId) =>
        otlp.Trace(traceId).FirstOrDefault(s => s.Span.Kind == 3 && s.Scope == "System.Net.Http" && s.ParentSpanId == parentSpanId);

    /// <summary>The span <paramref name="name"/> of the activity source <paramref name="scope"/>.</summary>
    public static ReceivedSpan? Span(this OtlpReceiver otlp, string traceId, string scope, string name, string? parentSpanId = null) =>
        otlp.Trace(traceId).FirstOrDefault(s => s.Scope == scope && s.Name == name && (parentSpanId is null || s.ParentSpanId == parentSpanId));

    /// <summary>Whether <paramref name="service"/> exported the span (with service.name = <paramref name="service"/>).</summary>
    public static bool ExportedBy(this OtlpReceiver otlp, ReceivedSpan span, string service) =>
        otlp.Spans.Any(s => s.SpanId == span.SpanId && s.TraceId == span.TraceId && s.Service == service);

    /// <summary>Waits for <paramref name="condition"/>; on timeout the failure lists every span received for the trace.</summary>
    public static async Task WaitForTraceAsync(this OtlpReceiver otlp, string traceId, Func<OtlpReceiver, bool> condition, string what)
    {
        try
        {
            await otlp.WaitForAsync(condition, what);
        }
        catch (TimeoutException ex)
        {
            var spans = otlp.Spans.Where(s => s.TraceId == traceId)
                .Select(s => $"  {s.Service} [{s.Scope}] '{s.Name}' kind={s.Span.Kind} span={s.SpanId} parent={s.ParentSpanId} route={s.Attribute("http.route")} port={s.Attribute("server.port")} status={s.Span.Status?.Code}");
            throw new TimeoutException($"{ex.Message}\nSpans of trace {traceId}:\n{string.Join("\n", spans)}", ex);
        }
    }

    public static string Events(this ReceivedSpan span) => string.Join(", ", span.Span.Events.Select(e => e.Name));

    /// <summary>The body and the headers of a problem response, after checking it is one.</summary>
    public static async Task<JsonElement> ProblemAsync(HttpResponseMessage response, int status)
    {
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(status == (int)response.StatusCode, $"expected {status}, got {(int)response.StatusCode}: {text}");
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        using var json = JsonDocument.Parse(text);
        Assert.Equal(status, json.RootElement.GetProperty("status").GetInt32());
        return json.RootElement.Clone();
    }

    public static string Header(this HttpResponseMessage response, string name) =>
        response.Headers.TryGetValues(name, out var values) ? string.Join(",", values) : "";

    /// <summary>A loopback port nothing listens on: connections to it are refused at once.</summary>
    public static int ClosedPort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
