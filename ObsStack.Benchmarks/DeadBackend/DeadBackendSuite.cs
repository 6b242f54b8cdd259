using System.Diagnostics;
using System.Text;
using ObsStack.Benchmarks.Harness;
using ObsStack.Benchmarks.Throughput;

namespace ObsStack.Benchmarks.DeadBackend;

/// <summary>
/// A minute of full load with every exporter — the three backends, the dashboard (<c>OTEL_EXPORTER_OTLP_ENDPOINT</c>)
/// and the profiler — pointed at a loopback port nobody listens on. Sampled every second: the worker's working set,
/// its GC heap after the last collection, jobs done and the drop counters. The requirement (docs/architecture.md, Signals): a dead backend
/// never grows memory without limit; it drops, counts, and says so once.
/// </summary>
internal sealed class DeadBackendSuite(DeadBackendSuite.Options options)
{
    public sealed record Options(TimeSpan Duration, int Workers, bool CompareWithLive = false);

    private sealed record Sample(double Seconds, double Jobs, long WorkingSet, double GcHeap, double GcCommitted, double Dropped);

    public async Task RunAsync()
    {
        var report = new Report("deadbackend");
        await using var peers = await LoopbackPeers.StartAsync();

        report.Line("# Memory under a dead backend");
        report.Line();
        report.Line(Machine.Describe());
        report.Line($"- Worker: WorkerPool:Workers={options.Workers}, QueueCapacity=1000, load generator off, Server GC; fed like the throughput suite (queue kept full)");
        report.Line($"- Profiler: {(Scenario.ProfilerInBuild ? "in this build, pointed at the closed port too" : "NOT in this build (not yet landed in main): its key is set but nothing reads it")}");
        report.Line();

        var dead = $"http://127.0.0.1:{LoopbackPeers.ClosedPort()}";
        await RunOnceAsync(report, peers, "dead", dead, $"every exporter → {dead} (closed port: connection refused)");
        if (options.CompareWithLive)
        {
            var live = peers.BaseAddress.GetLeftPart(UriPartial.Authority);
            await RunOnceAsync(report, peers, "live", live, $"every exporter → {live} (the loopback sinks, for comparison)");
        }

        Console.WriteLine($"Saved: {report.Save()}");
    }

    private async Task RunOnceAsync(Report report, LoopbackPeers peers, string name, string backend, string meaning)
    {
        var settings = new Dictionary<string, string>
        {
            ["OTEL_SERVICE_NAME"] = "worker",
            ["LoadGenerator__Enabled"] = "false",
            ["WorkerPool__Workers"] = options.Workers.ToString(Report.Invariant),
            ["WorkerPool__QueueCapacity"] = "1000",
            // The worker fetches only what its allow-list names, by host and port: the loopback peer here.
            ["WorkerPool__AllowedTargetHosts__0"] = peers.BaseAddress.Authority,
            ["Telemetry__Traces__OtlpEndpoint"] = backend + "/v1/traces",
            ["Telemetry__Logs__OtlpEndpoint"] = backend + "/v1/logs",
            ["Telemetry__Metrics__OtlpEndpoint"] = backend + "/v1/metrics",
            ["OTEL_EXPORTER_OTLP_ENDPOINT"] = backend,
            ["OTEL_EXPORTER_OTLP_PROTOCOL"] = "http/protobuf",
            ["Telemetry__Profiles__PyroscopeEndpoint"] = backend,
        };

        Console.WriteLine($"## {name}: {meaning}, {options.Duration.TotalSeconds:0} s");
        await using var worker = await WorkerProcess.StartAsync(settings, TimeSpan.FromSeconds(60));
        var clock = Stopwatch.StartNew();
        var idle = await SampleAsync(worker, clock);
        var samples = new List<Sample>();
        PrometheusText last;

        await using (var driver = new JobDriver(worker.Client, peers, 1000))
        {
            driver.Start();
            var next = TimeSpan.Zero;
            clock.Restart();
            while (clock.Elapsed < options.Duration)
            {
                next += TimeSpan.FromSeconds(1);
                var (sample, _) = await SampleAsync(worker, clock);
                samples.Add(sample);
                if (next > clock.Elapsed)
                {
                    await Task.Delay(next - clock.Elapsed);
                }
            }

            (var end, last) = await SampleAsync(worker, clock);
            samples.Add(end);
        }

        var csv = new StringBuilder("seconds,jobs,working_set_bytes,gc_heap_bytes,gc_committed_bytes,dropped\n");
        foreach (var s in samples)
        {
            csv.Append(FormattableString.Invariant($"{s.Seconds:F1},{s.Jobs},{s.WorkingSet},{s.GcHeap},{s.GcCommitted},{s.Dropped}\n"));
        }

        var csvPath = Path.Combine(Directory.GetCurrentDirectory(), "BenchmarkDotNet.Artifacts", "obsstack", $"deadbackend-{name}-{DateTime.UtcNow:yyyyMMdd-HHmmss}.csv");
        Directory.CreateDirectory(Path.GetDirectoryName(csvPath)!);
        await File.WriteAllTextAsync(csvPath, csv.ToString());

        var first = samples[0];
        var endSample = samples[^1];
        var jobsPerSecond = (endSample.Jobs - first.Jobs) / (endSample.Seconds - first.Seconds);
        var secondHalf = samples.Where(s => s.Seconds >= options.Duration.TotalSeconds / 2).ToList();

        report.Line($"## {name}: {meaning}");
        report.Line();
        report.Line($"{samples.Count} samples, one per second; {Report.F(jobsPerSecond, 0)} jobs/s over the run; raw: `{Path.GetRelativePath(Directory.GetCurrentDirectory(), csvPath)}`");
        report.Line();
        report.Line("| MB | idle (before load) | start (load on) | peak | end | trend, 2nd half (MB/min) |");
        report.Line("| --- | ---: | ---: | ---: | ---: | ---: |");
        report.Line($"| working set | {Report.Mb(idle.Sample.WorkingSet)} | {Report.Mb(first.WorkingSet)} | {Report.Mb(samples.Max(s => s.WorkingSet))} | {Report.Mb(endSample.WorkingSet)} | {Report.F(Slope(secondHalf, s => s.WorkingSet) * 60 / (1024 * 1024), 2)} |");
        report.Line($"| GC heap after last GC | {Report.Mb(idle.Sample.GcHeap)} | {Report.Mb(first.GcHeap)} | {Report.Mb(samples.Max(s => s.GcHeap))} | {Report.Mb(endSample.GcHeap)} | {Report.F(Slope(secondHalf, s => s.GcHeap) * 60 / (1024 * 1024), 2)} |");
        report.Line($"| GC committed | {Report.Mb(idle.Sample.GcCommitted)} | {Report.Mb(first.GcCommitted)} | {Report.Mb(samples.Max(s => s.GcCommitted))} | {Report.Mb(endSample.GcCommitted)} | {Report.F(Slope(secondHalf, s => s.GcCommitted) * 60 / (1024 * 1024), 2)} |");
        report.Line();
        report.Line("Drop counters at the end:");
        report.Line();
        foreach (var family in new[] { "telemetry_export_dropped_total", "profiler_uploads_dropped_total", "profiler_uploads_total" })
        {
            foreach (var (series, value) in last.Series(family))
            {
                report.Line($"- `{series}` {value}");
            }
        }

        report.Line();
        report.Line($"Warnings the worker logged ({worker.Warnings.Count}, first 20 kept):");
        report.Line();
        foreach (var warning in worker.Warnings)
        {
            report.Line($"- `{(warning.Length > 400 ? warning[..400] + "…" : warning)}`");
        }

        report.Line();
    }

    private static async Task<(Sample Sample, PrometheusText Metrics)> SampleAsync(WorkerProcess worker, Stopwatch clock)
    {
        var seconds = clock.Elapsed.TotalSeconds;
        var workingSet = worker.WorkingSetBytes;
        var metrics = await worker.ScrapeAsync();
        return (new Sample(seconds, metrics.Sum("jobs_total"), workingSet,
            metrics.Sum("dotnet_gc_last_collection_heap_size_bytes"),
            metrics.Sum("dotnet_gc_last_collection_memory_committed_size_bytes"),
            metrics.Sum("telemetry_export_dropped_total") + metrics.Sum("profiler_uploads_dropped_total")), metrics);
    }

    /// <summary>Least-squares slope of <paramref name="value"/> per second.</summary>
    private static double Slope(IReadOnlyList<Sample> samples, Func<Sample, double> value)
    {
        if (samples.Count < 2)
        {
            return double.NaN;
        }

        var meanX = samples.Average(s => s.Seconds);
        var meanY = samples.Average(value);
        var num = samples.Sum(s => (s.Seconds - meanX) * (value(s) - meanY));
        var den = samples.Sum(s => (s.Seconds - meanX) * (s.Seconds - meanX));
        return num / den;
    }
}
