using System.Net;
using System.Net.Http.Json;
using ObsStack.Tests.Infrastructure;
using ObsStack.Tests.Worker;

namespace ObsStack.Tests.Api;

public sealed class RecoveryTests : IAsyncLifetime
{
    private OtlpReceiver _otlp = null!;

    public async Task InitializeAsync() => _otlp = await OtlpReceiver.StartAsync();

    public async Task DisposeAsync() => await _otlp.DisposeAsync();

    [Fact]
    public async Task Exception_in_a_handler_is_a_500_problem_with_trace_id_an_error_span_one_error_log_and_the_next_request_is_served()
    {
        await using var api = new ApiApp(ApiTest.ExportingTo(_otlp)).Start();
        using var client = api.ChaosClient();
        using (var set = await client.PutAsJsonAsync("/chaos", new { exceptionRate = 1.0 }))
        {
            Assert.Equal(HttpStatusCode.OK, set.StatusCode);
        }

        using var crashed = await client.GetAsync("/data/5");

        var problem = await ApiTest.ProblemAsync(crashed, 500);
        var traceId = crashed.Header("X-Trace-Id");
        Assert.Matches("^[0-9a-f]{32}$", traceId);
        Assert.Equal(traceId, problem.GetProperty("traceId").GetString());
        Assert.Contains(traceId, problem.GetProperty("detail").GetString());
        Assert.DoesNotContain("Chaos", problem.GetRawText()); // no exception details to the client

        ReceivedSpan? server = null;
        await _otlp.WaitForTraceAsync(traceId, r => (server = r.ServerSpan(traceId, api, "/data/{id}")) is not null, "the failed request's server span");
        Assert.Equal(2, server!.Span.Status.Code);
        Assert.Equal("ObsStack.Api.Chaos.ChaosException", server.Attribute("error.type"));
        var exception = Assert.Single(server.Span.Events, e => e.Name == "exception");
        Assert.Equal("ObsStack.Api.Chaos.ChaosException", Otel.Attribute(exception.Attributes, "exception.type"));
        Assert.Contains("ChaosInjector.InjectAsync", Otel.Attribute(exception.Attributes, "exception.stacktrace"));

        await _otlp.WaitForAsync(r => r.Logs.Any(l => l.TraceId == traceId && l.Record.SeverityNumber >= 17), "the error log line");
        var errorLine = Assert.Single(_otlp.Logs, l => l.TraceId == traceId && l.Record.SeverityNumber >= 17);
        Assert.Equal("api", errorLine.Service);
        Assert.Equal(traceId, errorLine.Attribute("trace_id"));
        Assert.Equal("ChaosException", errorLine.Attribute("exception.type")); // the SDK's log exporter writes the short name
        Assert.Contains("Chaos injected an exception into GET /data/5", errorLine.Attribute("exception.message"));
        Assert.Contains("ChaosInjector.InjectAsync", errorLine.Attribute("exception.stacktrace"));

        // The process keeps serving: the next request is answered normally.
        using (var reset = await client.DeleteAsync("/chaos"))
        {
            Assert.Equal(HttpStatusCode.OK, reset.StatusCode);
        }

        using var next = await client.GetAsync("/data/6");
        Assert.Equal(HttpStatusCode.OK, next.StatusCode);

        // The recovered 500 is measured by the runtime's request metric, with its route and the exception type.
        var metrics = await client.MetricsAsync();
        Assert.Contains(metrics.Split('\n'), line => line.StartsWith("http_server_request_duration_seconds_count{", StringComparison.Ordinal)
            && line.Contains("error_type=\"ObsStack.Api.Chaos.ChaosException\"") && line.Contains("http_response_status_code=\"500\"")
            && line.Contains("http_route=\"/data/{id}\"") && line.EndsWith(" 1", StringComparison.Ordinal));
        Assert.Equal(1, WorkerClient.Sample(metrics, "data_requests_total{outcome=\"chaos_exception\"}"));
    }
}
