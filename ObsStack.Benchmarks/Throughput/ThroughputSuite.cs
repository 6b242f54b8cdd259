using System.Diagnostics;
using ObsStack.Benchmarks.Harness;

namespace ObsStack.Benchmarks.Throughput;

/// <summary>
/// Worker pool throughput, CPU and allocations per job with telemetry off, full, and full + profiler, side by side, plus
/// the ceiling (plain HttpClient loop). Each scenario is a fresh worker process; the scenarios are interleaved round by
/// round (order rotated) so slow drift of the machine spreads over all of them; each run is a warmup followed by
/// back-to-back measurement windows, and every window is one sample of the variance.
/// </summary>
internal sealed class ThroughputSuite(ThroughputSuite.Options options)
{
    public sealed record Options(
        List<Scenario> Scenarios,
        int Rounds = 3,
        TimeSpan Warmup = default,
        int Windows = 3,
        TimeSpan Window = default,
        int Workers = 4,
        int QueueCapacity = 1000)
    {
        public TimeSpan WarmupOrDefault => Warmup == default ? TimeSpan.FromSeconds(10) : Warmup;
        public TimeSpan WindowOrDefault => Window == default ? TimeSpan.FromSeconds(15) : Window;
    }

    private sealed record Boundary(
        double Seconds, double Completed, double NotSuccess, double AllocatedBytes, double GcCount,
        TimeSpan SubjectCpu, TimeSpan HarnessCpu, (long Busy, long Total)? Machine);

    private sealed record Window(
        double JobsPerSecond, double CpuMsPerJob, double Cores, double AllocBytesPerJob, double HarnessCpuUsPerJob,
        double MachineBusy, double GcPerSecond, double OtherCores);

    private sealed record Run(Scenario Scenario, int Round, IReadOnlyList<Window> Windows, string? NotMeasured = null)
    {
        public double NotSuccess { get; init; }
        public double Dropped { get; init; }
        public long Refused { get; init; }
        public long DriverErrors { get; init; }
        public double LogLinesPerJob { get; init; } = double.NaN;
        public IReadOnlyDictionary<string, (long Requests, long Bytes)> Exported { get; init; } = new Dictionary<string, (long, long)>();
        public double ExportedBytesPerJob { get; init; } = double.NaN;
        public IReadOnlyList<string> Warnings { get; init; } = [];
        public string? DriverError { get; init; }
        public double Background { get; init; } = double.NaN;

        public double JobsPerSecond => Windows.Select(w => w.JobsPerSecond).ToList().Median();
        public double CpuMsPerJob => Windows.Select(w => w.CpuMsPerJob).ToList().Median();
        public double OtherCores => Windows.Select(w => w.OtherCores).ToList().Mean();
    }

    /// <summary>System.Runtime's <c>dotnet.gc.heap.total_allocated</c> (GC.GetTotalAllocatedBytes) as /metrics names it.</summary>
    /// <summary>Machine-wide busy cores below which a run may start (the machine may be shared with other work).</summary>
    private const double QuietCores = 0.3;

    private const string AllocatedBytes = "dotnet_gc_heap_allocated_bytes_total";

    private readonly Stopwatch _clock = Stopwatch.StartNew();

    public async Task RunAsync()
    {
        var report = new Report("throughput");
        var runs = new List<Run>();

        await using var peers = await LoopbackPeers.StartAsync();
        var scenarios = options.Scenarios;
        var perRun = options.WarmupOrDefault + options.WindowOrDefault * options.Windows;
        Console.WriteLine($"# throughput: {scenarios.Count} scenarios × {options.Rounds} rounds, {perRun.TotalSeconds:0} s each (+ start/stop) ≈ {(perRun + TimeSpan.FromSeconds(4)) * scenarios.Count * options.Rounds:mm\\:ss}");

        for (var round = 1; round <= options.Rounds; round++)
        {
            // Rotate the order every round: no scenario always runs first (cold machine) or last.
            var order = scenarios.Skip((round - 1) % scenarios.Count).Concat(scenarios.Take((round - 1) % scenarios.Count));
            foreach (var scenario in order)
            {
                Console.WriteLine($"## round {round}: {scenario.Name}");
                if (scenario.NeedsProfiler && !Scenario.ProfilerInBuild)
                {
                    runs.Add(new Run(scenario, round, [],
                        "not yet: this build's ObsStack.ServiceDefaults has no AddContinuousProfiling (the profiler has not landed in main)"));
                    Console.WriteLine(runs[^1].NotMeasured);
                    continue;
                }

                var background = await Machine.WaitForQuietAsync(QuietCores, TimeSpan.FromSeconds(45));
                var run = scenario.IsCeiling ? await RunCeilingAsync(peers, round) : await RunWorkerAsync(peers, scenario, round);
                run = run with { Background = background };
                Console.WriteLine(run.NotMeasured ?? string.Join("  ", run.Windows.Select(w => $"{w.JobsPerSecond:F0}/s {w.CpuMsPerJob:F3} ms other {w.OtherCores:F2}")));
                runs.Add(run);
            }
        }

        Write(report, runs);
        Console.WriteLine($"Saved: {report.Save()}");
    }

    private async Task<Run> RunWorkerAsync(LoopbackPeers peers, Scenario scenario, int round)
    {
        var settings = scenario.WorkerSettings(peers, options.Workers, options.QueueCapacity);
        await using var worker = await WorkerProcess.StartAsync(settings, TimeSpan.FromSeconds(60));
        var driver = new JobDriver(worker.Client, peers, options.QueueCapacity);
        var boundaries = new List<Boundary>();
        Dictionary<string, (long Requests, long Bytes)> sinksAtStart;
        long linesAtStart;
        PrometheusText last;
        await using (driver)
        {
            driver.Start();
            await Task.Delay(options.WarmupOrDefault);

            sinksAtStart = peers.Sinks.ToDictionary(s => s.Name, s => s.Snapshot());
            linesAtStart = worker.LogLines;
            (var boundary, last) = await SampleAsync(worker);
            boundaries.Add(boundary);
            for (var i = 0; i < options.Windows; i++)
            {
                await Task.Delay(options.WindowOrDefault);
                (boundary, last) = await SampleAsync(worker);
                boundaries.Add(boundary);
            }
        }

        var completed = boundaries[^1].Completed - boundaries[0].Completed;
        var exported = peers.Sinks.ToDictionary(s => s.Name, s =>
        {
            var (requests, bytes) = s.Snapshot();
            return (Requests: requests - sinksAtStart[s.Name].Requests, Bytes: bytes - sinksAtStart[s.Name].Bytes);
        });
        var run = new Run(scenario, round, Windows(boundaries))
        {
            NotSuccess = boundaries[^1].NotSuccess - boundaries[0].NotSuccess,
            Dropped = last.Sum("telemetry_export_dropped_total") + last.Sum("profiler_uploads_dropped_total"),
            Refused = driver.Refused,
            DriverErrors = driver.Errors,
            DriverError = driver.FirstError,
            LogLinesPerJob = (worker.LogLines - linesAtStart) / completed,
            Exported = exported,
            ExportedBytesPerJob = exported.Values.Sum(e => e.Bytes) / completed,
            Warnings = worker.Warnings,
        };

        if (scenario.NeedsProfiler && exported["profiles"].Requests == 0)
        {
            run = run with { NotMeasured = "invalid: the profiler is in the build but pushed no profile during the measurement" };
        }

        return run;
    }

    private async Task<(Boundary, PrometheusText)> SampleAsync(WorkerProcess worker)
    {
        var seconds = _clock.Elapsed.TotalSeconds;
        var cpu = worker.CpuTime;
        var harness = Process.GetCurrentProcess().TotalProcessorTime;
        var machine = Machine.CpuJiffies();
        var metrics = await worker.ScrapeAsync();
        var completed = metrics.Sum("jobs_total");
        var boundary = new Boundary(seconds, completed, completed - metrics.Sum("jobs_total", "status=\"success\""),
            metrics.Sum(AllocatedBytes), metrics.Sum("dotnet_gc_collections_total"),
            cpu, harness, machine);
        return (boundary, metrics);
    }

    private async Task<Run> RunCeilingAsync(LoopbackPeers peers, int round)
    {
        await using var client = await CeilingClient.Child.StartAsync(peers.BaseAddress, options.Workers);
        await Task.Delay(options.WarmupOrDefault);

        var boundaries = new List<Boundary>();
        long failures = 0;
        for (var i = 0; i <= options.Windows; i++)
        {
            if (i > 0)
            {
                await Task.Delay(options.WindowOrDefault);
            }

            var seconds = _clock.Elapsed.TotalSeconds;
            var cpu = client.CpuTime;
            var harness = Process.GetCurrentProcess().TotalProcessorTime;
            var machine = Machine.CpuJiffies();
            var (requests, allocated, failed) = await client.SampleAsync();
            failures = failed;
            boundaries.Add(new Boundary(seconds, requests, failed, allocated, double.NaN, cpu, harness, machine));
        }

        return new Run(Scenario.CeilingLoop, round, Windows(boundaries)) { NotSuccess = failures };
    }

    private static List<Window> Windows(List<Boundary> boundaries) =>
        [.. boundaries.Zip(boundaries.Skip(1), (a, b) =>
        {
            var jobs = b.Completed - a.Completed;
            var wall = b.Seconds - a.Seconds;
            var busy = a.Machine is { } m0 && b.Machine is { } m1 && m1.Total > m0.Total
                ? (double)(m1.Busy - m0.Busy) / (m1.Total - m0.Total)
                : double.NaN;
            var cores = (b.SubjectCpu - a.SubjectCpu).TotalSeconds / wall;
            var harnessCores = (b.HarnessCpu - a.HarnessCpu).TotalSeconds / wall;
            return new Window(
                jobs / wall,
                (b.SubjectCpu - a.SubjectCpu).TotalMilliseconds / jobs,
                cores,
                b.AllocatedBytes > a.AllocatedBytes ? (b.AllocatedBytes - a.AllocatedBytes) / jobs : double.NaN,
                (b.HarnessCpu - a.HarnessCpu).TotalMilliseconds * 1000 / jobs,
                busy,
                (b.GcCount - a.GcCount) / wall,
                // Whatever else ran on the machine meanwhile (kernel softirq time not charged to a process, other jobs).
                busy * Environment.ProcessorCount - cores - harnessCores);
        })];

    private void Write(Report report, List<Run> runs)
    {
        report.Line("# Worker pool throughput");
        report.Line();
        report.Line(Machine.Describe());
        report.Line($"- Worker: WorkerPool:Workers={options.Workers}, QueueCapacity={options.QueueCapacity}, load generator off, Server GC (its runtimeconfig), Release build");
        report.Line($"- Each run: a fresh worker process, {options.WarmupOrDefault.TotalSeconds:0} s warmup, then {options.Windows} × {options.WindowOrDefault.TotalSeconds:0} s windows; {options.Rounds} rounds, scenario order rotated per round");
        report.Line("- Jobs are fed through POST /jobs (batches of 100) without overfilling the queue; target, sinks and driver share the harness process");
        report.Line();
        foreach (var scenario in options.Scenarios)
        {
            report.Line($"- **{scenario.Name}**: {scenario.Meaning}");
        }

        report.Line();
        report.Line("| scenario | jobs/s median (mean ± sd) | vs off | worker CPU ms/job median (mean ± sd) | vs off | worker cores | alloc KB/job | harness CPU µs/job | machine busy | other cores | n |");
        report.Line("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");

        var byScenario = runs.GroupBy(r => r.Scenario.Name).ToDictionary(g => g.Key, g => g.ToList());
        var off = byScenario.GetValueOrDefault(Scenario.Off.Name)?.Where(r => r.NotMeasured is null).SelectMany(r => r.Windows).ToList();
        double offRate = off?.Select(w => w.JobsPerSecond).ToList().Median() ?? double.NaN;
        double offCpu = off?.Select(w => w.CpuMsPerJob).ToList().Median() ?? double.NaN;

        foreach (var scenario in options.Scenarios)
        {
            var measured = byScenario[scenario.Name].Where(r => r.NotMeasured is null).ToList();
            if (measured.Count == 0)
            {
                report.Line($"| {scenario.Name} | {byScenario[scenario.Name][0].NotMeasured} | | | | | | | | | 0 |");
                continue;
            }

            var windows = measured.SelectMany(r => r.Windows).ToList();
            var rates = windows.Select(w => w.JobsPerSecond).ToList();
            var cpu = windows.Select(w => w.CpuMsPerJob).ToList();
            report.Line($"| {scenario.Name} | {Report.F(rates.Median(), 0)} ({Report.F(rates.Mean(), 0)} ± {Report.F(rates.StdDev(), 0)}) | " +
                $"{(scenario.IsCeiling ? "" : Report.Percent(rates.Median() / offRate))} | " +
                $"{Report.F(cpu.Median(), 3)} ({Report.F(cpu.Mean(), 3)} ± {Report.F(cpu.StdDev(), 3)}) | {(scenario.IsCeiling ? "" : Report.Percent(cpu.Median() / offCpu))} | " +
                $"{Report.F(windows.Select(w => w.Cores).ToList().Mean(), 2)} | " +
                $"{Report.F(windows.Select(w => w.AllocBytesPerJob).ToList().Mean() / 1024, 1)} | " +
                $"{Report.F(windows.Select(w => w.HarnessCpuUsPerJob).ToList().Mean(), 0)} | " +
                $"{Report.F(windows.Select(w => w.MachineBusy).ToList().Mean() * 100, 0)}% | " +
                $"{Report.F(windows.Select(w => w.OtherCores).ToList().Mean(), 2)} | {windows.Count} |");
        }

        report.Line();
        report.Line("Ceiling row: a \"job\" is one GET, \"worker\" is the client process. \"other cores\": machine busy cores minus worker and harness (other processes, unattributed kernel time) — noise if > 0.1.");
        report.Line();
        WriteRatios(report, byScenario);

        report.Line();
        report.Line("## Every run");
        report.Line();
        report.Line("| scenario | round | jobs/s per window | CPU ms/job per window | other cores (before / during) | exported KB/job | sink requests (traces/logs/metrics/profiles) | dropped | non-success | 429s | log lines/job |");
        report.Line("| --- | ---: | --- | --- | --- | ---: | --- | ---: | ---: | ---: | ---: |");
        foreach (var run in runs.OrderBy(r => options.Scenarios.IndexOf(r.Scenario)).ThenBy(r => r.Round))
        {
            if (run.NotMeasured is not null)
            {
                report.Line($"| {run.Scenario.Name} | {run.Round} | {run.NotMeasured} | | | | | | | | |");
                continue;
            }

            var sinks = run.Exported.Count == 0 ? "" : string.Join(" / ", new[] { "traces", "logs", "metrics", "profiles" }.Select(s => run.Exported[s].Requests));
            report.Line($"| {run.Scenario.Name} | {run.Round} | {string.Join(", ", run.Windows.Select(w => Report.F(w.JobsPerSecond, 0)))} | " +
                $"{string.Join(", ", run.Windows.Select(w => Report.F(w.CpuMsPerJob, 3)))} | {Report.F(run.Background, 2)} / {Report.F(run.OtherCores, 2)} | " +
                $"{Report.F(run.ExportedBytesPerJob / 1024, 2)} | {sinks} | {run.Dropped} | {run.NotSuccess} | {run.Refused} | {Report.F(run.LogLinesPerJob, 2)} |");
        }

        var problems = runs.Where(r => r.DriverErrors > 0 || r.Warnings.Count > 0).ToList();
        if (problems.Count > 0)
        {
            report.Line();
            report.Line("## Warnings");
            foreach (var run in problems)
            {
                report.Line($"- {run.Scenario.Name} round {run.Round}: driver errors {run.DriverErrors} ({run.DriverError}); worker warnings:");
                foreach (var warning in run.Warnings.Take(5))
                {
                    report.Line($"  - `{warning}`");
                }
            }
        }
    }

    private static void WriteRatios(Report report, Dictionary<string, List<Run>> byScenario)
    {
        // Paired by round (per-run medians): the scenarios of one round ran minutes apart, so their ratio cancels slow drift.
        (double Mean, double Min, double Max) Paired(string a, string b, Func<Run, double> value)
        {
            if (!byScenario.TryGetValue(a, out var ra) || !byScenario.TryGetValue(b, out var rb))
            {
                return (double.NaN, double.NaN, double.NaN);
            }

            var ratios = ra.Where(r => r.NotMeasured is null)
                .Join(rb.Where(r => r.NotMeasured is null), r => r.Round, r => r.Round, (x, y) => value(x) / value(y))
                .ToList();
            return ratios.Count == 0 ? (double.NaN, double.NaN, double.NaN) : (ratios.Mean(), ratios.Min(), ratios.Max());
        }

        void Line(string what, string a, string b, Func<Run, double> value, string target)
        {
            var (mean, min, max) = Paired(a, b, value);
            var measured = double.IsNaN(mean) ? "not measured" : $"{Report.Ratio(mean)} ({Report.Percent(mean)}; per round {Report.Ratio(min)}–{Report.Ratio(max)})";
            report.Line($"- {what}: {measured}{target}");
        }

        Line("full / off, jobs/s", Scenario.Full.Name, Scenario.Off.Name, r => r.JobsPerSecond, " — target ≥ 0.95");
        Line("full / off, worker CPU per job", Scenario.Full.Name, Scenario.Off.Name, r => r.CpuMsPerJob, "");
        Line("full+profiler / full, worker CPU per job", Scenario.FullProfiler.Name, Scenario.Full.Name, r => r.CpuMsPerJob, " — target ≤ 1.03");
        Line("full+profiler / full, jobs/s", Scenario.FullProfiler.Name, Scenario.Full.Name, r => r.JobsPerSecond, "");
        Line("off / ceiling, jobs/s vs plain HttpClient requests/s", Scenario.Off.Name, Scenario.Ceiling, r => r.JobsPerSecond, "");
        Line("full / ceiling", Scenario.Full.Name, Scenario.Ceiling, r => r.JobsPerSecond, "");
    }
}
