using System.Net;
using ObsStack.Tests.Infrastructure;

namespace ObsStack.Tests.Worker;

/// <summary>What the worker's OTLP exporters really put on the wire, decoded by a loopback receiver.</summary>
public sealed class OtlpWireTests : IAsyncLifetime
{
    private TargetServer _target = null!;
    private OtlpReceiver _backend = null!;
    private OtlpReceiver _dashboard = null!;
    private WorkerApp _worker = null!;

    public async Task InitializeAsync()
    {
        _target = await TargetServer.StartAsync();
        _backend = await OtlpReceiver.StartAsync();
        _dashboard = await OtlpReceiver.StartAsync();
        _worker = new WorkerApp(new Dictionary<string, string?>
        {
            ["Telemetry:Traces:OtlpEndpoint"] = _backend.TracesEndpoint.ToString(),
            ["Telemetry:Logs:OtlpEndpoint"] = _backend.LogsEndpoint.ToString(),
            ["Telemetry:Metrics:OtlpEndpoint"] = _backend.MetricsEndpoint.ToString(),
            ["Telemetry:Metrics:ExportInterval"] = "00:00:01",
            ["Telemetry:Export:ScheduledDelay"] = "00:00:00.100",
            ["OTEL_EXPORTER_OTLP_ENDPOINT"] = _dashboard.BaseAddress.ToString(),
            ["OTEL_EXPORTER_OTLP_PROTOCOL"] = "http/protobuf",
            ["OTEL_EXPORTER_OTLP_HEADERS"] = "x-otlp-api-key=dashboard-secret",
            ["OTEL_RESOURCE_ATTRIBUTES"] = "service.instance.id=worker-test-1,team=platform",
            ["WorkerPool:AllowedTargetHosts:0"] = _target.BaseAddress.Authority,
        });
        _worker.Start();
    }

    public async Task DisposeAsync()
    {
        await _worker.DisposeAsync();
        await _backend.DisposeAsync();
        await _dashboard.DisposeAsync();
        await _target.DisposeAsync();
    }

    [Fact]
    public async Task A_submitted_job_is_one_trace_from_the_request_to_the_fetch_with_its_log_line_in_it()
    {
        using var client = _worker.Client();
        var id = (await client.SubmitAsync(_target.Url("/ok")))[0];
        await client.WaitCompletedAsync([id]);

        ReceivedSpan Job() => _backend.Spans.Single(s => s.Name == "process_job" && s.Attribute("job.id") == id.ToString());
        await _backend.WaitForAsync(r => r.Spans.Any(s => s.Name == "process_job" && s.Attribute("job.id") == id.ToString()), "process_job span");
        var job = Job();
        await _backend.WaitForAsync(r => r.Spans.Count(s => s.TraceId == job.TraceId) >= 3, "server, job and client spans of one trace");

        var trace = _backend.Spans.Where(s => s.TraceId == job.TraceId).ToList();
        var server = Assert.Single(trace, s => s.SpanId == job.ParentSpanId);
        var fetch = Assert.Single(trace, s => s.ParentSpanId == job.SpanId);
        Assert.Equal(2, server.Span.Kind);
        Assert.Equal(3, fetch.Span.Kind);
        Assert.Equal("POST /jobs", server.Name);
        Assert.Equal("/jobs", server.Attribute("http.route"));
        Assert.Equal("202", server.Attribute("http.response.status_code"));
        Assert.Equal(server.SpanId, job.ParentSpanId);           // POST /jobs → process_job
        Assert.Equal(job.SpanId, fetch.ParentSpanId);            // process_job → GET
        Assert.Equal("GET", fetch.Name);
        Assert.Equal(_target.Url("/ok"), job.Attribute("job.url"));
        Assert.NotNull(job.Attribute("worker.id"));
        Assert.Equal(1, job.Span.Status.Code);
        Assert.All(trace, s => Assert.Equal("worker", s.Service));

        await _backend.WaitForAsync(r => r.Logs.Any(l => l.Body.Contains(id.ToString())), "the job's log line");
        var log = Assert.Single(_backend.Logs, l => l.Body.Contains(id.ToString()) && l.Body.Contains("success"));
        Assert.Equal(job.TraceId, log.TraceId);
        Assert.Equal(job.SpanId, log.SpanId);
        Assert.Equal("worker", log.Service);
        Assert.Equal(id.ToString(), log.Attribute("JobId"));
    }

    [Fact]
    public async Task A_failed_job_has_an_error_span_with_the_reason_and_a_warning_log_with_its_trace_id()
    {
        using var client = _worker.Client();
        var id = (await client.SubmitAsync(_target.Url("/status/503")))[0];
        await client.WaitCompletedAsync([id]);

        await _backend.WaitForAsync(r => r.Spans.Any(s => s.Name == "process_job" && s.Attribute("job.id") == id.ToString()), "process_job span");
        var job = _backend.Spans.Single(s => s.Name == "process_job" && s.Attribute("job.id") == id.ToString());
        Assert.Equal(2, job.Span.Status.Code);
        Assert.Contains("HTTP 503", job.Span.Status.Message);
        Assert.Equal("failed", job.Attribute("job.status"));

        await _backend.WaitForAsync(r => r.Logs.Any(l => l.Body.Contains(id.ToString())), "the failed job's log line");
        var log = _backend.Logs.Single(l => l.Body.Contains(id.ToString()));
        Assert.Contains("failed", log.Body);
        Assert.Equal(13, log.Record.SeverityNumber); // WARN
        Assert.Equal(job.TraceId, log.TraceId);
    }

    [Fact]
    public async Task Every_signal_carries_the_same_resource_and_the_dashboard_gets_its_own_copy_with_its_header()
    {
        using var client = _worker.Client();
        await client.WaitCompletedAsync(await client.SubmitAsync(_target.Url("/ok")));

        await _backend.WaitForAsync(r => r.ResourceSpans.Count > 0 && r.ResourceLogs.Count > 0 && r.ResourceMetrics.Count > 0, "all three signals at the backend");
        await _dashboard.WaitForAsync(r => r.ResourceSpans.Count > 0 && r.ResourceLogs.Count > 0 && r.ResourceMetrics.Count > 0, "all three signals at the dashboard");

        var resources = _backend.ResourceSpans.Select(r => r.Resource)
            .Concat(_backend.ResourceLogs.Select(r => r.Resource))
            .Concat(_backend.ResourceMetrics.Select(r => r.Resource));
        Assert.All(resources, resource =>
        {
            Assert.Equal("worker", Otel.ServiceName(resource));
            Assert.Equal("worker-test-1", Otel.Attribute(resource.Attributes, "service.instance.id"));
            Assert.Equal("testing", Otel.Attribute(resource.Attributes, "deployment.environment.name"));
            Assert.Equal("platform", Otel.Attribute(resource.Attributes, "team"));
            Assert.False(string.IsNullOrEmpty(Otel.Attribute(resource.Attributes, "service.version")));
        });

        Assert.Equal("x-otlp-api-key=dashboard-secret", _dashboard.LastHeader("x-otlp-api-key") is { } key ? $"x-otlp-api-key={key}" : null);
        Assert.Null(_backend.LastHeader("x-otlp-api-key")); // the dashboard's key never leaks to the backends
    }

    [Fact]
    public async Task Metrics_arrive_over_OTLP_under_the_names_that_translate_to_the_design_names()
    {
        using var client = _worker.Client();
        await client.WaitCompletedAsync(await client.SubmitAsync(_target.Url("/ok")));

        string[] expected = ["jobs", "job.duration", "workers.active", "workers.pool.size", "jobs.queue.depth"];
        await _backend.WaitForAsync(r => expected.All(n => r.ResourceMetrics.SelectMany(m => m.ScopeMetrics).SelectMany(s => s.Metrics).Any(m => m.Name == n)),
            "the worker's instruments over OTLP");

        var metrics = _backend.ResourceMetrics.SelectMany(m => m.ScopeMetrics).Where(s => s.Scope.Name == "ObsStack.Worker").SelectMany(s => s.Metrics).ToList();
        var jobs = metrics.Last(m => m.Name == "jobs");
        Assert.True(jobs.Sum.IsMonotonic);
        Assert.Equal(2, jobs.Sum.AggregationTemporality); // cumulative, as Prometheus' OTLP receiver requires
        Assert.Equal("s", metrics.Last(m => m.Name == "job.duration").Unit);
        var histogram = metrics.Last(m => m.Name == "job.duration").Histogram.DataPoints.Single();
        Assert.Equal([0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10], histogram.ExplicitBounds);
        Assert.Contains(histogram.Exemplars, e => e.TraceId.Length == 16); // exemplars: metric → trace
    }

    [Fact]
    public async Task Health_alive_and_metrics_requests_are_not_traced()
    {
        using var client = _worker.Client();
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/health")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/alive")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/metrics")).StatusCode);
        // A traced request after them: once its span has arrived, theirs would have too.
        await client.GetAsync("/jobs/not-a-guid");

        await _backend.WaitForAsync(r => r.Spans.Any(s => s.Name == "GET /jobs/{id}"), "the traced request's span");
        Assert.DoesNotContain(_backend.Spans, s => s.Attribute("url.path") is "/health" or "/alive" or "/metrics");
    }
}
