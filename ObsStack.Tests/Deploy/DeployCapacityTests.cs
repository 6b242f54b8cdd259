using ObsStack.Tests.Infrastructure;
using ObsStack.Tests.Worker;
using Xunit.Abstractions;

namespace ObsStack.Tests.Deploy;

/// <summary>
/// The measurements docs/capacity.md sizes a cluster from: what one job costs on the wire per signal, and how many
/// series one worker instance adds, from a real worker exporting to an OTLP sink that counts bytes. The numbers are
/// printed; the test fails when they leave the ranges the document uses. Rerun:
/// <c>dotnet test --filter "FullyQualifiedName~DeployCapacity" --logger "console;verbosity=detailed"</c>.
/// Alone: the worker's tracer and meter providers listen process-wide, so other tests' workers would add their spans
/// and series to the count.
/// </summary>
[Collection(RunAloneCollection.Name)]
public sealed class DeployCapacityTests(ITestOutputHelper output)
{
    private const int Batches = 20;
    private const int BatchSize = 100;
    private const int Jobs = Batches * BatchSize;

    // The ranges docs/capacity.md states (change both together).
    private static readonly (double Low, double High) TraceBytesPerJob = (400, 750);
    private static readonly (double Low, double High) LogBytesPerJob = (500, 850);
    private static readonly (double Low, double High) MetricsBytesPerExport = (8_000, 32_000);
    private static readonly (int Low, int High) PrometheusSeriesPerInstance = (200, 400);
    private static readonly (int Low, int High) ScrapedSeriesPerInstance = (200, 400);

    [Fact]
    public async Task A_job_costs_two_spans_and_one_log_record_and_an_instance_a_bounded_number_of_series()
    {
        await using var target = await TargetServer.StartAsync();
        await using var sink = await TelemetrySink.StartAsync();
        await using var worker = new WorkerApp(new Dictionary<string, string?>
        {
            ["Telemetry:Traces:OtlpEndpoint"] = new Uri(sink.BaseAddress, "/v1/traces").ToString(),
            ["Telemetry:Logs:OtlpEndpoint"] = new Uri(sink.BaseAddress, "/v1/logs").ToString(),
            ["Telemetry:Metrics:OtlpEndpoint"] = new Uri(sink.BaseAddress, "/v1/metrics").ToString(),
            ["Telemetry:Metrics:ExportInterval"] = "00:00:01",
            // Room for every span of the run: the measurement must not lose any (the default batch size and delay,
            // which shape the requests, stay as shipped).
            ["Telemetry:Export:MaxQueueSize"] = "16384",
            ["WorkerPool:QueueCapacity"] = "5000",
            ["WorkerPool:JobTimeout"] = "00:00:01",
            ["WorkerPool:AllowedTargetHosts:0"] = target.BaseAddress.Authority,
            // As in the cluster: a pod name for the instance, the namespace attribute of deploy/kubernetes.
            ["OTEL_RESOURCE_ATTRIBUTES"] = "service.instance.id=worker-7d9f8c6b5-x2k4q-1,service.namespace=obsstack",
        });
        worker.Start();
        using var client = worker.Client();

        // The statuses a real worker reports, so every series it has appears: mostly success, some failed, a few timed out.
        string[] batch =
        [
            .. Enumerable.Repeat(target.Url("/ok"), 94),
            .. Enumerable.Repeat(target.Url("/status/503"), 5),
            target.Url("/slow/5000"),
        ];
        for (var i = 0; i < Batches; i++)
        {
            await client.SubmitAsync(batch);
        }

        // Waiting reads only what the sink received: a poll of the worker would add spans of its own.
        var logs = sink.Totals("logs");
        await Poll.UntilAsync(() => sink.LastMetrics is { } last && ExportedJobs(last.Request) >= Jobs,
            $"{Jobs} jobs finished, as exported", TimeSpan.FromSeconds(90));
        await Poll.UntilAsync(() => WorkerSpans(sink).Count >= 2 * Jobs + Batches && logs.Items >= Jobs,
            "every span and log record exported", TimeSpan.FromSeconds(30));
        var (traceItems, traceBytes) = WorkerSpans(sink);
        var (logBytes, logItems, logRequests) = (logs.Bytes, logs.Items, logs.Requests);
        var scraped = (await client.MetricsAsync()).Split('\n').Count(line => line.Length > 0 && line[0] != '#');
        var (metrics, metricsBytes) = sink.LastMetrics!.Value;
        var series = TelemetrySink.PrometheusSeries(metrics);

        double PerJob(long value) => (double)value / Jobs;
        output.WriteLine($"jobs: {Jobs} ({BatchSize} per POST /jobs), default export batching");
        var perSpan = WorkerSpanNames.Select(name => $"{name}: {sink.Spans[name].Bytes / sink.Spans[name].Count:0} bytes/span");
        output.WriteLine($"traces:  {traceBytes / Jobs,7:0} bytes/job  {PerJob(traceItems):0.00} spans/job  ({string.Join(", ", perSpan)})");
        output.WriteLine($"logs:    {PerJob(logBytes),7:0} bytes/job  {PerJob(logItems):0.00} records/job  {logRequests} requests");
        output.WriteLine($"metrics: {metricsBytes,7} bytes per export (one instance, every series, exemplars included)");
        output.WriteLine($"series per instance: {series} in Prometheus from OTLP (histogram buckets, _sum, _count, "
            + $"target_info); {scraped} samples on /metrics");

        // process_job and its fetch per job, and one POST /jobs span per 100 jobs; one log line per job.
        Assert.InRange(PerJob(traceItems), 2.0, 2.02);
        Assert.InRange(PerJob(logItems), 1.0, 1.01);
        Assert.InRange(traceBytes / Jobs, TraceBytesPerJob.Low, TraceBytesPerJob.High);
        Assert.InRange(PerJob(logBytes), LogBytesPerJob.Low, LogBytesPerJob.High);
        Assert.InRange(metricsBytes, MetricsBytesPerExport.Low, MetricsBytesPerExport.High);
        Assert.InRange(series, PrometheusSeriesPerInstance.Low, PrometheusSeriesPerInstance.High);
        Assert.InRange(scraped, ScrapedSeriesPerInstance.Low, ScrapedSeriesPerInstance.High);
    }

    /// <summary>The worker's own spans: the job, its fetch, the intake request (the test's peers are traced too).</summary>
    private static readonly string[] WorkerSpanNames = ["process_job", "GET", "POST /jobs"];

    private static (long Count, double Bytes) WorkerSpans(TelemetrySink sink) =>
        WorkerSpanNames.Select(name => sink.Spans.GetValueOrDefault(name))
            .Aggregate((Count: 0L, Bytes: 0.0), (sum, spans) => (sum.Count + spans.Count, sum.Bytes + spans.Bytes));

    private static double ExportedJobs(Infrastructure.Otlp.ExportMetricsServiceRequest request) =>
        request.ResourceMetrics.SelectMany(m => m.ScopeMetrics).SelectMany(s => s.Metrics)
            .Where(m => m.Name == "jobs" && m.DataCase == Infrastructure.Otlp.Metric.DataOneofCase.Sum)
            .SelectMany(m => m.Sum.DataPoints)
            .Sum(p => p.ValueCase == Infrastructure.Otlp.NumberDataPoint.ValueOneofCase.AsInt ? p.AsInt : p.AsDouble);
}
