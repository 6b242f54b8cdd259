using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using ObsStack.Tests.Infrastructure;
using ObsStack.Tests.Worker;

namespace ObsStack.Tests.Api;

/// <summary>The incident drill, end to end: turn the knob, the worker's jobs fail, the signals say so and why; reset.</summary>
public sealed class ChaosTests : IAsyncLifetime
{
    private OtlpReceiver _otlp = null!;

    public async Task InitializeAsync() => _otlp = await OtlpReceiver.StartAsync();

    public async Task DisposeAsync() => await _otlp.DisposeAsync();

    [Fact]
    public async Task Error_rate_1_fails_the_workers_jobs_with_error_spans_and_logs_that_say_why_and_reset_brings_success_back()
    {
        await using var api = new ApiApp(ApiTest.ExportingTo(_otlp)).Start();
        await using var worker = new WorkerApp(ApiTest.ExportingTo(_otlp, new Dictionary<string, string?>
        {
            ["WorkerPool:AllowedTargetHosts:0"] = api.Address.Authority,
        })).Start();
        using var apiClient = api.ChaosClient();
        using var workerClient = worker.Client();
        string[] targets = [.. Enumerable.Range(1, 3).Select(i => new Uri(api.Address, $"/data/{i}").ToString())];

        using (var set = await apiClient.PutAsJsonAsync("/chaos", new { errorRate = 1.0 }))
        {
            Assert.Equal(HttpStatusCode.OK, set.StatusCode);
            var knobs = await set.Content.ReadFromJsonAsync<JsonElement>();
            Assert.True(knobs.GetProperty("active").GetBoolean());
            Assert.Equal(1.0, knobs.GetProperty("errorRate").GetDouble());
        }

        var failed = await workerClient.WaitCompletedAsync(await workerClient.SubmitAsync(targets));

        Assert.All(failed, j => Assert.Equal("failed", j.Status()));
        Assert.All(failed, j => Assert.Equal(500, j.GetProperty("result").GetProperty("httpStatusCode").GetInt32()));
        var workerMetrics = await workerClient.MetricsAsync();
        Assert.Equal(3, WorkerClient.Sample(workerMetrics, "jobs_total{status=\"failed\"}"));
        Assert.Null(WorkerClient.Sample(workerMetrics, "jobs_total{status=\"success\"}"));
        var apiMetrics = await apiClient.MetricsAsync();
        Assert.Equal(3, WorkerClient.Sample(apiMetrics, "data_requests_total{outcome=\"chaos_error\"}"));
        Assert.Equal(1, WorkerClient.Sample(apiMetrics, "chaos_error_ratio"));

        // One failed job, followed through its trace and its logs.
        var traceId = failed[0].GetProperty("traceId").GetString()!;
        var jobId = failed[0].GetProperty("id").GetString();
        ReceivedSpan? job = null, server = null;
        await _otlp.WaitForTraceAsync(traceId, r =>
            (job = r.Trace(traceId).FirstOrDefault(s => s.Name == "process_job" && s.Attribute("job.id") == jobId)) is not null
            && r.ClientSpan(traceId, job.SpanId) is { } client
            && (server = r.ServerSpan(traceId, api, "/data/{id}", client.SpanId)) is not null,
            "the failed job's trace into the api");
        Assert.Equal(2, job!.Span.Status.Code);
        Assert.Contains("HTTP 500", job.Span.Status.Message);
        Assert.Equal("failed", job.Attribute("job.status"));
        Assert.Equal(2, server!.Span.Status.Code);
        Assert.Equal("500", server.Attribute("http.response.status_code"));

        await _otlp.WaitForAsync(r =>
            r.Logs.Count(l => l.Service == "api" && l.TraceId == traceId) == 3
            && r.Logs.Count(l => l.Service == "worker" && l.TraceId == traceId) == 3,
            "the api's and the worker's log lines of the failed job");
        // The three jobs were submitted in one POST, so they share its trace; the lines of this job name its data id and job id.
        var apiLine = Assert.Single(_otlp.Logs, l => l.Service == "api" && l.TraceId == traceId && l.Attribute("DataId") == "1");
        Assert.Contains("chaos injected an error", apiLine.Body);
        Assert.Contains("DELETE /chaos", apiLine.Body);
        Assert.Equal(13, apiLine.Record.SeverityNumber); // WARN
        var workerLine = Assert.Single(_otlp.Logs, l => l.Service == "worker" && l.TraceId == traceId
            && l.Attribute("JobId") == failed[0].GetProperty("id").GetString());
        Assert.Contains("failed", workerLine.Body);
        Assert.Contains("500", workerLine.Body);

        using (var reset = await apiClient.DeleteAsync("/chaos"))
        {
            Assert.Equal(HttpStatusCode.OK, reset.StatusCode);
            Assert.False((await reset.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("active").GetBoolean());
        }

        var succeeded = await workerClient.WaitCompletedAsync(await workerClient.SubmitAsync(targets));

        Assert.All(succeeded, j => Assert.Equal("success", j.Status()));
        workerMetrics = await workerClient.MetricsAsync();
        Assert.Equal(3, WorkerClient.Sample(workerMetrics, "jobs_total{status=\"success\"}"));
        Assert.Equal(3, WorkerClient.Sample(workerMetrics, "jobs_total{status=\"failed\"}"));
        apiMetrics = await apiClient.MetricsAsync();
        Assert.Equal(0, WorkerClient.Sample(apiMetrics, "chaos_error_ratio"));
        Assert.Equal(3, WorkerClient.Sample(apiMetrics, "data_requests_total{outcome=\"success\"}"));
    }

    [Fact]
    public async Task Latency_knob_slows_data_by_its_amount_in_a_span_of_its_own_and_expires_by_itself()
    {
        await using var api = new ApiApp(ApiTest.ExportingTo(_otlp)).Start();
        using var client = api.ChaosClient();

        using (var set = await client.PutAsJsonAsync("/chaos", new { latencyMs = 300, durationSeconds = 2 }))
        {
            Assert.Equal(HttpStatusCode.OK, set.StatusCode);
        }

        var started = System.Diagnostics.Stopwatch.StartNew();
        using var slow = await client.GetAsync("/data/9");
        var elapsed = started.Elapsed;

        Assert.Equal(HttpStatusCode.OK, slow.StatusCode);
        Assert.InRange(elapsed, TimeSpan.FromMilliseconds(300), TimeSpan.FromSeconds(2));
        var traceId = slow.Header("X-Trace-Id");
        ReceivedSpan? latency = null;
        await _otlp.WaitForTraceAsync(traceId, r =>
            r.ServerSpan(traceId, api, "/data/{id}") is { } server
            && (latency = r.Span(traceId, "ObsStack.Api", "chaos_latency", server.SpanId)) is not null,
            "the chaos_latency span under the server span");
        Assert.Equal("300", latency!.Attribute("chaos.latency_ms"));
        Assert.InRange((latency.Span.EndTimeUnixNano - latency.Span.StartTimeUnixNano) / 1e6, 290, 2000);
        Assert.Equal(0.3, WorkerClient.Sample(await client.MetricsAsync(), "chaos_latency_seconds"));

        // durationSeconds: the knob switches itself off, so a forgotten drill does not stay an incident.
        await Poll.UntilAsync(async () => !(await client.GetFromJsonAsync<JsonElement>("/chaos")).GetProperty("active").GetBoolean(),
            "the chaos knobs to expire", TimeSpan.FromSeconds(10));
        Assert.Equal(0, WorkerClient.Sample(await client.MetricsAsync(), "chaos_latency_seconds"));
    }

    [Fact]
    public async Task Without_the_key_a_stranger_can_neither_set_nor_reset_the_knobs_but_can_read_them()
    {
        await using var api = new ApiApp().Start();
        using var drill = api.ChaosClient();
        using var stranger = api.Client();
        using var guesser = api.Client();
        guesser.DefaultRequestHeaders.Add(ObsStack.Api.Chaos.ChaosGuard.KeyHeader, "not-the-key-0123456789");
        using (var set = await drill.PutAsJsonAsync("/chaos", new { errorRate = 0.5 }))
        {
            Assert.Equal(HttpStatusCode.OK, set.StatusCode);
        }

        foreach (var client in new[] { stranger, guesser })
        {
            using var put = await client.PutAsJsonAsync("/chaos", new { errorRate = 1.0 });
            var problem = await ApiTest.ProblemAsync(put, 403);
            Assert.Contains("Api:ChaosKey", problem.GetProperty("detail").GetString());
            Assert.DoesNotContain(ApiApp.ChaosKey, problem.GetRawText());
            using var delete = await client.DeleteAsync("/chaos");
            await ApiTest.ProblemAsync(delete, 403);
        }

        var knobs = await stranger.GetFromJsonAsync<JsonElement>("/chaos");
        Assert.True(knobs.GetProperty("active").GetBoolean());
        Assert.Equal(0.5, knobs.GetProperty("errorRate").GetDouble());
    }

    [Theory]
    [InlineData("Development", HttpStatusCode.OK)]
    [InlineData("Production", HttpStatusCode.Forbidden)]
    public async Task Without_a_configured_key_the_knobs_work_only_in_Development(string environment, HttpStatusCode expected)
    {
        await using var api = new ApiApp(new Dictionary<string, string?> { ["Api:ChaosKey"] = "", ["environment"] = environment }).Start();
        using var client = api.Client();

        using var put = await client.PutAsJsonAsync("/chaos", new { errorRate = 0.1 });

        Assert.Equal(expected, put.StatusCode);
    }

    [Fact]
    public async Task A_change_without_a_duration_expires_after_five_minutes()
    {
        await using var api = new ApiApp().Start();
        using var client = api.ChaosClient();
        var before = DateTimeOffset.UtcNow;

        using var set = await client.PutAsJsonAsync("/chaos", new { errorRate = 1.0 });

        var expiresAt = (await set.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("expiresAt").GetDateTimeOffset();
        Assert.InRange(expiresAt, before.AddSeconds(300), DateTimeOffset.UtcNow.AddSeconds(300));
    }
}
