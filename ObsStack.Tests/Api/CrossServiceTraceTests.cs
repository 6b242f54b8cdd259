using System.Net;
using System.Net.Http.Json;
using ObsStack.Tests.Infrastructure;
using ObsStack.Tests.Worker;

namespace ObsStack.Tests.Api;

/// <summary>Worker and api on real Kestrel, talking real HTTP, both exporting OTLP to one receiver that decodes the wire.</summary>
public sealed class CrossServiceTraceTests : IAsyncLifetime
{
    private OtlpReceiver _otlp = null!;

    public async Task InitializeAsync() => _otlp = await OtlpReceiver.StartAsync();

    public async Task DisposeAsync() => await _otlp.DisposeAsync();

    [Fact]
    public async Task Load_generator_job_is_one_trace_from_process_job_through_the_apis_server_span_to_its_internal_step()
    {
        await using var api = new ApiApp(ApiTest.ExportingTo(_otlp)).Start();
        // Wired to the api the way Aspire wires it; the load generator then targets the api's /data/{id} on its own.
        await using var worker = new WorkerApp(ApiTest.ExportingTo(_otlp, new Dictionary<string, string?>
        {
            ["services:api:http:0"] = api.Address.ToString(),
            ["LoadGenerator:Enabled"] = "true",
            ["LoadGenerator:RatePerSecond"] = "20",
        })).Start();

        ReceivedSpan? job = null, client = null, server = null, step = null;
        await _otlp.WaitForAsync(r =>
        {
            foreach (var candidate in r.Spans.Where(s => s.Scope == "ObsStack.Worker" && s.Name == "process_job").DistinctBy(s => s.SpanId))
            {
                job = candidate;
                client = r.ClientSpan(job.TraceId, job.SpanId);
                server = client is null ? null : r.ServerSpan(job.TraceId, api, "/data/{id}", client.SpanId);
                step = server is null ? null : r.Span(job.TraceId, "ObsStack.Api", "load_data", server.SpanId);
                // Each host exports in its own batches: wait until every span is in from the service that made it.
                if (step is not null && r.ExportedBy(step, "api") && r.ExportedBy(server!, "api")
                    && r.ExportedBy(job, "worker") && r.ExportedBy(client!, "worker"))
                {
                    return true;
                }
            }

            return false;
        }, "a load-generator trace: process_job → HTTP client span → api server span → load_data");

        // process_job is the root: the load generator starts jobs outside any request.
        Assert.Equal("", job!.ParentSpanId);
        Assert.StartsWith(new Uri(api.Address, "/data/").ToString(), job.Attribute("job.url"));
        Assert.Equal("GET", client!.Attribute("http.request.method"));
        Assert.Equal("200", client.Attribute("http.response.status_code"));
        Assert.Equal(job.Attribute("job.url"), client.Attribute("url.full"));
        Assert.Equal("GET /data/{id}", server!.Name);
        Assert.Contains("long running task started", server.Events());
        Assert.Contains("long running task finished", server.Events());
        Assert.Equal(1, step!.Span.Kind); // internal
        Assert.Equal(job.Attribute("job.url")!.Split('/')[^1], step.Attribute("data.id"));
        Assert.All([client, server, step], s => Assert.Equal(job.TraceId, s.TraceId));
        Assert.True(_otlp.ExportedBy(job, "worker") && _otlp.ExportedBy(client, "worker"), "the worker exports its job and client spans as service worker");
        Assert.True(_otlp.ExportedBy(server, "api") && _otlp.ExportedBy(step, "api"), "the api exports its server and internal spans as service api");
    }

    [Fact]
    public async Task Post_jobs_to_the_api_is_one_trace_into_the_workers_job_and_every_log_line_of_it_carries_its_trace_id()
    {
        // The worker fetches the api's /data/{id} without being wired to it: its allow-list names the api's port, chosen first.
        var apiPort = ApiTest.ClosedPort();
        await using var worker = new WorkerApp(ApiTest.ExportingTo(_otlp, new Dictionary<string, string?>
        {
            ["WorkerPool:AllowedTargetHosts:0"] = $"127.0.0.1:{apiPort}",
        })).Start();
        await using var api = new ApiApp(ApiTest.ExportingTo(_otlp, new Dictionary<string, string?>
        {
            ["services:worker:http:0"] = worker.Address.ToString(),
        }), apiPort).Start();
        using var client = api.Client();
        var sent = DateTimeOffset.UtcNow;

        using var request = new HttpRequestMessage(HttpMethod.Post, "/jobs")
        {
            Content = JsonContent.Create(new { urls = new[] { new Uri(api.Address, "/data/42").ToString() } }),
        };
        using var accepted = await client.SendAsync(request);

        Assert.Equal(HttpStatusCode.Accepted, accepted.StatusCode);
        var traceId = accepted.Header("X-Trace-Id");
        Assert.Matches("^[0-9a-f]{32}$", traceId);
        var jobId = (await accepted.Content.ReadFromJsonAsync<System.Text.Json.JsonElement>())
            .GetProperty("jobs")[0].GetProperty("id").GetGuid();
        Assert.Equal($"/jobs/{jobId}", accepted.Headers.Location?.OriginalString);

        // Read back through the api: the worker's job view, passed through, names the same trace.
        var completed = (await client.WaitCompletedAsync([jobId]))[0];
        Assert.Equal("success", completed.Status());
        Assert.Equal(traceId, completed.GetProperty("traceId").GetString());

        ReceivedSpan? apiServer = null, apiClient = null, workerServer = null, job = null, jobClient = null, dataServer = null, step = null;
        await _otlp.WaitForTraceAsync(traceId, r =>
            (apiServer = r.ServerSpan(traceId, api, "/jobs")) is not null
            && (apiClient = r.ClientSpan(traceId, apiServer.SpanId)) is not null
            && (workerServer = r.ServerSpan(traceId, worker, "/jobs", apiClient.SpanId)) is not null
            && (job = r.Span(traceId, "ObsStack.Worker", "process_job", workerServer.SpanId)) is not null
            && (jobClient = r.ClientSpan(traceId, job.SpanId)) is not null
            && (dataServer = r.ServerSpan(traceId, api, "/data/{id}", jobClient.SpanId)) is not null
            && (step = r.Span(traceId, "ObsStack.Api", "load_data", dataServer.SpanId)) is not null
            && new[] { apiServer, apiClient, dataServer, step }.All(s => r.ExportedBy(s, "api"))
            && new[] { workerServer, job, jobClient }.All(s => r.ExportedBy(s, "worker")),
            "api POST /jobs → forward → worker POST /jobs → process_job → GET → api /data/{id} → load_data, one trace, each span exported by its service");

        // The api's server span is the first span of either service (its parent is the test's own client span).
        Assert.DoesNotContain(_otlp.Spans, s => s.SpanId == apiServer!.ParentSpanId && s.Scope != "System.Net.Http");
        Assert.Equal("POST", apiClient!.Attribute("http.request.method"));
        Assert.Equal(jobId.ToString(), job!.Attribute("job.id"));

        // Every log line either service wrote from the request on names the trace; there must be lines from both.
        await _otlp.WaitForAsync(r =>
            r.Logs.Any(l => l.Service == "api" && l.Body.StartsWith("Data 42 served", StringComparison.Ordinal))
            && r.Logs.Any(l => l.Service == "worker" && l.Attribute("JobId") == jobId.ToString()),
            "the api's and the worker's log lines of the job");
        var lines = _otlp.Logs.Where(l => l.Record.TimeUnixNano >= (ulong)sent.ToUnixTimeMilliseconds() * 1_000_000).ToList();
        Assert.Contains(lines, l => l.Service == "api");
        Assert.Contains(lines, l => l.Service == "worker");
        Assert.All(lines, l => Assert.True(l.TraceId == traceId, $"{l.Service} log line '{l.Body}' has trace id '{l.TraceId}', not {traceId}"));
        Assert.All(lines.Where(l => l.Service == "api"), l => Assert.Equal(traceId, l.Attribute("trace_id")));
    }

    [Fact]
    public async Task The_request_scope_names_trace_span_and_request_id_and_the_response_returns_them()
    {
        await using var api = new ApiApp(ApiTest.ExportingTo(_otlp)).Start();
        using var client = api.Client();

        using var request = new HttpRequestMessage(HttpMethod.Get, "/data/7");
        request.Headers.Add("X-Request-Id", "drill-7");
        using var response = await client.SendAsync(request);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("drill-7", response.Header("X-Request-Id"));
        var traceId = response.Header("X-Trace-Id");
        ReceivedLog? line = null;
        await _otlp.WaitForAsync(r => (line = r.Logs.FirstOrDefault(l => l.Service == "api" && l.TraceId == traceId)) is not null,
            "the api's log line of GET /data/7");
        ReceivedSpan? server = null;
        await _otlp.WaitForAsync(r => (server = r.ServerSpan(traceId, api, "/data/{id}")) is not null, "the server span");

        Assert.StartsWith("Data 7 served in ", line!.Body);
        Assert.Equal("7", line.Attribute("DataId"));
        Assert.Equal(traceId, line.Attribute("trace_id"));
        Assert.Equal(line.SpanId, line.Attribute("span_id"));
        Assert.Equal(server!.SpanId, line.SpanId);
        Assert.Equal("drill-7", line.Attribute("request_id"));

        // An id a client could use to pollute headers or log indexes is not echoed; the server's own is used instead.
        using var hostile = new HttpRequestMessage(HttpMethod.Get, "/data/8");
        hostile.Headers.TryAddWithoutValidation("X-Request-Id", "a b<script>");
        using var second = await client.SendAsync(hostile);
        Assert.NotEqual("a b<script>", second.Header("X-Request-Id"));
        Assert.NotEmpty(second.Header("X-Request-Id"));
    }
}
