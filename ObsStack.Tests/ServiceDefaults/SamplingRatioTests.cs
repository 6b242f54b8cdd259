using System.Net.Http.Json;
using System.Text.Json;
using ObsStack.Tests.Infrastructure;

namespace ObsStack.Tests.ServiceDefaults;

/// <summary>
/// <c>Telemetry:SamplingRatio</c> as a service really applies it: the worker host with ratio 0, its traces at a loopback
/// OTLP receiver and its console captured. A request without a parent is not recorded and what it logs says
/// <c>trace_sampled: false</c>; a request whose caller sampled its trace still is, because sampling is parent-based.
/// </summary>
// Alone: every tracer provider in the process listens to ASP.NET Core's source, and any listener that records a span
// makes it recorded for all of them; another test's host at ratio 1 would record this one's requests.
[Collection(RunAloneCollection.Name)]
public sealed class SamplingRatioTests : IAsyncLifetime
{
    private readonly ConsoleCapture _console = new();
    private TargetServer _target = null!;
    private OtlpReceiver _backend = null!;
    private WorkerApp _worker = null!;

    public async Task InitializeAsync()
    {
        _target = await TargetServer.StartAsync();
        _backend = await OtlpReceiver.StartAsync();
        _worker = new WorkerApp(new Dictionary<string, string?>
        {
            ["Telemetry:SamplingRatio"] = "0",
            ["Logging:LogLevel:ObsStack.ServiceDefaults"] = "Debug",
            ["Telemetry:Traces:OtlpEndpoint"] = _backend.TracesEndpoint.ToString(),
            ["Telemetry:Export:ScheduledDelay"] = "00:00:00.100",
            ["WorkerPool:AllowedTargetHosts:0"] = _target.BaseAddress.Authority,
        }) { ConsoleOutput = _console };
        _worker.Start();
    }

    public async Task DisposeAsync()
    {
        await _worker.DisposeAsync();
        await _backend.DisposeAsync();
        await _target.DisposeAsync();
        _console.Dispose();
    }

    [Fact]
    public async Task Ratio_0_records_no_unparented_request_but_keeps_a_sampled_parents_trace()
    {
        using var client = _worker.Client();
        const string sampledTrace = "4bf92f3577b34da6a3ce929d0e0e4736";

        var (unparented, unparentedTrace) = await SubmitAsync(client, traceparent: null);
        var refusedTrace = await SubmitMalformedAsync(client);
        var (sampled, _) = await SubmitAsync(client, traceparent: $"00-{sampledTrace}-00f067aa0ba902b7-01");

        // The sampled request's server span arrives; one exporter sends in order, so the spans of the requests before
        // it, ended earlier, would have arrived by now had they been recorded.
        await _backend.WaitForAsync(r => r.Spans.Any(s => s.TraceId == sampledTrace && s.Name == "POST /jobs"), "the sampled request's server span");
        Assert.All(_backend.Spans, span => Assert.Equal(sampledTrace, span.TraceId));
        Assert.NotEqual(sampledTrace, unparentedTrace);

        // What the request logged names its trace and says it was not recorded: nobody looks for it in Tempo.
        var refusedLines = _console.JsonLines().Where(l => l.TryGetProperty("trace_id", out var id) && id.GetString() == refusedTrace).ToList();
        Assert.NotEmpty(refusedLines);
        Assert.All(refusedLines, line => Assert.False(line.GetProperty("trace_sampled").GetBoolean()));
        // A root kept at ratio 0 would have said trace_sampled true on its job's line.
        Assert.False(JobLine(unparented).TryGetProperty("trace_sampled", out var rootSampled) && rootSampled.GetBoolean());
        Assert.Equal(sampledTrace, JobLine(sampled).GetProperty("trace_id").GetString());
        Assert.True(JobLine(sampled).GetProperty("trace_sampled").GetBoolean());
    }

    private async Task<(Guid Job, string TraceId)> SubmitAsync(HttpClient client, string? traceparent)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/jobs") { Content = JsonContent.Create(new { urls = new[] { _target.Url("/ok") } }) };
        if (traceparent is not null)
        {
            request.Headers.Add("traceparent", traceparent);
        }

        using var response = await client.SendAsync(request);
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == System.Net.HttpStatusCode.Accepted, body);
        using var json = JsonDocument.Parse(body);
        var job = json.RootElement.GetProperty("jobs")[0].GetProperty("id").GetGuid();

        await ObsStack.Tests.Worker.WorkerClient.WaitCompletedAsync(client, [job]);
        await Poll.UntilAsync(() => _console.JsonLines().Any(l => IsJobLine(l, job)), $"job {job}'s console line", TimeSpan.FromSeconds(20));
        return (job, Assert.Single(response.Headers.GetValues("X-Trace-Id")));
    }

    /// <summary>A body the worker refuses, which it logs (at debug, switched on here) inside the request.</summary>
    private async Task<string> SubmitMalformedAsync(HttpClient client)
    {
        using var content = new StringContent("{\"urls\": [", System.Text.Encoding.UTF8, "application/json");
        using var response = await client.PostAsync("/jobs", content);
        Assert.Equal(System.Net.HttpStatusCode.BadRequest, response.StatusCode);
        var traceId = Assert.Single(response.Headers.GetValues("X-Trace-Id"));
        await Poll.UntilAsync(() => _console.JsonLines().Any(l => l.TryGetProperty("trace_id", out var id) && id.GetString() == traceId),
            "a console line of the refused request", TimeSpan.FromSeconds(20));
        return traceId;
    }

    private JsonElement JobLine(Guid job) => Assert.Single(_console.JsonLines(), l => IsJobLine(l, job));

    private static bool IsJobLine(JsonElement line, Guid job) =>
        line.TryGetProperty("JobId", out var id) && id.GetString() == job.ToString() && line.GetProperty("level").GetString() == "info";
}
