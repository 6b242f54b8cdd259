using System.Diagnostics.Metrics;
using BenchmarkDotNet.Attributes;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using ObsStack.Benchmarks.Harness;
using ObsStack.ServiceDefaults.Metrics;
using ObsStack.Worker;
using ObsStack.Worker.Jobs;

namespace ObsStack.Benchmarks.Micro;

/// <summary>
/// <c>GET /metrics</c> minus HTTP: the real <see cref="PrometheusPullExporter.Scrape"/> (SDK collection + text
/// serialization) over the real meter provider that <c>AddServiceDefaults()</c> builds, filled with a worker-like
/// series set: the worker's own instruments, the live <c>System.Runtime</c> meter, and ASP.NET Core / HttpClient
/// request-duration histograms (14 buckets each, as the runtime records them) for <see cref="Routes"/> routes × 3
/// status codes plus 4 outbound hosts × 3 status codes.
/// </summary>
[MemoryDiagnoser]
public class MetricsScrapeBenchmarks
{
    // The runtime's own http.server/client.request.duration bucket advice (.NET 8+).
    private static readonly double[] HttpBuckets = [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10];

    private IHost _host = null!;
    private PrometheusPullExporter _exporter = null!;

    [Params(5, 25, 100)]
    public int Routes { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        (_host, _exporter) = Build(Routes);
        var shape = Shape(_exporter.Scrape()!);
        Console.WriteLine($"// Routes={Routes}: {shape}");
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _host.StopAsync().GetAwaiter().GetResult();
        _host.Dispose();
    }

    [Benchmark(Description = "PrometheusPullExporter.Scrape()")]
    public string Scrape() => _exporter.Scrape() ?? throw new InvalidOperationException("The meter provider is not running.");

    /// <summary>The series count each parameter really produces, written next to the benchmark results.</summary>
    public static void RecordShapes()
    {
        var report = new Report("metrics-shape");
        report.Line("# /metrics series per benchmark parameter");
        report.Line();
        foreach (var routes in new[] { 5, 25, 100 })
        {
            var (host, exporter) = Build(routes);
            report.Line($"- Routes={routes}: {Shape(exporter.Scrape()!)}");
            host.StopAsync().GetAwaiter().GetResult();
            host.Dispose();
        }

        Console.WriteLine($"Saved: {report.Save()}");
    }

    private static (IHost Host, PrometheusPullExporter Exporter) Build(int routes)
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true, EnvironmentName = "Production" });
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["OTEL_SERVICE_NAME"] = "worker",
            ["Logging:LogLevel:Default"] = "None",
        });
        builder.AddServiceDefaults();
        var host = builder.Build();
        host.Start();

        var meters = host.Services.GetRequiredService<IMeterFactory>();
        RecordWorker(meters);
        RecordHttp(meters, routes);
        return (host, host.Services.GetRequiredService<PrometheusPullExporter>());
    }

    private static void RecordWorker(IMeterFactory meters)
    {
        var pool = Options.Create(new WorkerPoolOptions());
        var queue = new JobQueue(pool);
        var telemetry = new WorkerTelemetry(meters, new InProcessJobEngine(queue, new JobStore(pool), TimeProvider.System), pool);
        var random = new Random(1);
        foreach (var status in new[] { JobStatus.Success, JobStatus.Failed, JobStatus.Timeout, JobStatus.Canceled })
        {
            var tag = new KeyValuePair<string, object?>("status", status);
            for (var i = 0; i < 1000; i++)
            {
                telemetry.Jobs.Add(1, tag);
                telemetry.Duration.Record(random.NextDouble() * 2, tag);
            }
        }

        telemetry.Rejected.Add(3, new KeyValuePair<string, object?>("reason", "queue_full"));
        telemetry.Rejected.Add(1, new KeyValuePair<string, object?>("reason", "shutting_down"));
    }

    private static void RecordHttp(IMeterFactory meters, int routes)
    {
        var random = new Random(2);

        var hosting = meters.Create("Microsoft.AspNetCore.Hosting");
        var server = hosting.CreateHistogram("http.server.request.duration", "s", "Duration of HTTP server requests.",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = HttpBuckets });
        var active = hosting.CreateUpDownCounter<long>("http.server.active_requests", "{request}", "Number of active HTTP server requests.");
        for (var route = 0; route < routes; route++)
        {
            var method = route % 3 == 0 ? "POST" : "GET";
            foreach (var status in new[] { 200, 400, 500 })
            {
                for (var i = 0; i < 50; i++)
                {
                    server.Record(random.NextDouble(),
                        new("http.request.method", method), new("http.response.status_code", status),
                        new("http.route", $"/api/resource{route}/{{id}}"), new("network.protocol.version", "1.1"), new("url.scheme", "http"));
                }
            }
        }

        active.Add(0, new("http.request.method", "GET"), new("url.scheme", "http"));
        active.Add(0, new("http.request.method", "POST"), new("url.scheme", "http"));

        var kestrel = meters.Create("Microsoft.AspNetCore.Server.Kestrel");
        kestrel.CreateUpDownCounter<long>("kestrel.active_connections", "{connection}")
            .Add(1, new("network.transport", "tcp"), new("server.address", "127.0.0.1"), new("server.port", 8080));
        kestrel.CreateHistogram("kestrel.connection.duration", "s", advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = HttpBuckets })
            .Record(1.5, new("network.transport", "tcp"), new("server.address", "127.0.0.1"), new("server.port", 8080));

        var http = meters.Create("System.Net.Http");
        var client = http.CreateHistogram("http.client.request.duration", "s", "Duration of HTTP client requests.",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = HttpBuckets });
        var open = http.CreateUpDownCounter<long>("http.client.open_connections", "{connection}");
        for (var host = 0; host < 4; host++)
        {
            foreach (var status in new[] { 200, 404, 500 })
            {
                for (var i = 0; i < 50; i++)
                {
                    client.Record(random.NextDouble(),
                        new("http.request.method", "GET"), new("http.response.status_code", status),
                        new("server.address", $"backend{host}.local"), new("server.port", 8080),
                        new("url.scheme", "http"), new("network.protocol.version", "1.1"));
                }
            }

            open.Add(2, new("http.connection.state", "idle"), new("server.address", $"backend{host}.local"), new("server.port", 8080),
                new("url.scheme", "http"), new("network.peer.address", "127.0.0.1"), new("network.protocol.version", "1.1"));
        }
    }

    private static string Shape(string text)
    {
        var samples = text.Split('\n').Count(l => l.Length > 0 && l[0] != '#');
        var families = text.Split('\n').Count(l => l.StartsWith("# TYPE ", StringComparison.Ordinal));
        var histograms = text.Split('\n').Count(l => l.Contains("_bucket{", StringComparison.Ordinal) && l.Contains("le=\"+Inf\"", StringComparison.Ordinal));
        return $"{samples} samples in {families} families, {histograms} histogram series, {text.Length / 1024.0:F1} KB of text";
    }
}
