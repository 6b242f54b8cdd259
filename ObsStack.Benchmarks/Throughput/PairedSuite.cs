using ObsStack.Benchmarks.Harness;

namespace ObsStack.Benchmarks.Throughput;

/// <summary>
/// Two worker configurations run <em>at the same time</em>, each with its own driver and target lane, sampled in the
/// same windows. On a machine that other work shares, the sequential suite's windows see different background load;
/// here both workers see the same load, the scheduler shares the CPU fairly between them, and the per-window ratio of
/// their CPU per job (and of their jobs/s) cancels the noise. It answers "how much more does B cost than A per job",
/// not "how fast is the worker alone" — that is the sequential suite.
/// </summary>
internal sealed class PairedSuite(PairedSuite.Options options)
{
    public sealed record Options(Scenario Baseline, Scenario Candidate, int Rounds, TimeSpan Warmup, int Windows, TimeSpan Window, int Workers, int QueueCapacity = 1000);

    private sealed record Sample(double Jobs, TimeSpan Cpu, double Allocated);

    private sealed record Window(double BaselineRate, double CandidateRate, double BaselineCpuMs, double CandidateCpuMs, double BaselineAlloc, double CandidateAlloc, double OtherCores)
    {
        public double RateRatio => CandidateRate / BaselineRate;
        public double CpuRatio => CandidateCpuMs / BaselineCpuMs;
    }

    private const string AllocatedBytes = "dotnet_gc_heap_allocated_bytes_total";

    public async Task RunAsync()
    {
        var report = new Report($"paired-{options.Baseline.Name}-{options.Candidate.Name}".Replace('+', '_'));
        if ((options.Baseline.NeedsProfiler || options.Candidate.NeedsProfiler) && !Scenario.ProfilerInBuild)
        {
            report.Line($"# Paired: {options.Candidate.Name} vs {options.Baseline.Name}: not yet measured — this build's ObsStack.ServiceDefaults has no AddContinuousProfiling.");
            Console.WriteLine($"Saved: {report.Save()}");
            return;
        }

        await using var peers = await LoopbackPeers.StartAsync();
        var windows = new List<(int Round, Window Window)>();
        var drops = new List<double>();

        for (var round = 1; round <= options.Rounds; round++)
        {
            Console.WriteLine($"## round {round}: {options.Baseline.Name} ‖ {options.Candidate.Name}");
            await Machine.WaitForQuietAsync(0.3, TimeSpan.FromSeconds(30));

            // Start order alternates, so neither always has the head start (JIT, connection pool) on the other.
            var first = round % 2 == 1 ? options.Baseline : options.Candidate;
            var second = round % 2 == 1 ? options.Candidate : options.Baseline;
            await using var a = await WorkerProcess.StartAsync(first.WorkerSettings(peers, options.Workers, options.QueueCapacity), TimeSpan.FromSeconds(60));
            await using var b = await WorkerProcess.StartAsync(second.WorkerSettings(peers, options.Workers, options.QueueCapacity), TimeSpan.FromSeconds(60));
            var (baseline, candidate) = first == options.Baseline ? (a, b) : (b, a);

            await using var baselineDriver = new JobDriver(baseline.Client, peers, options.QueueCapacity, lane: 1);
            await using var candidateDriver = new JobDriver(candidate.Client, peers, options.QueueCapacity, lane: 2);
            baselineDriver.Start();
            candidateDriver.Start();
            await Task.Delay(options.Warmup);

            var clock = System.Diagnostics.Stopwatch.StartNew();
            var machine = Machine.CpuJiffies();
            var harness = System.Diagnostics.Process.GetCurrentProcess().TotalProcessorTime;
            var (sb, sc) = (await SampleAsync(baseline), await SampleAsync(candidate));
            for (var i = 0; i < options.Windows; i++)
            {
                var start = clock.Elapsed;
                await Task.Delay(options.Window);
                var (eb, ec) = i % 2 == 0 ? (await SampleAsync(baseline), await SampleAsync(candidate)) : Swap(await SampleAsync(candidate), await SampleAsync(baseline));
                var wall = (clock.Elapsed - start).TotalSeconds;
                var machineNow = Machine.CpuJiffies();
                var harnessNow = System.Diagnostics.Process.GetCurrentProcess().TotalProcessorTime;
                var busy = machine is { } m0 && machineNow is { } m1 && m1.Total > m0.Total
                    ? (double)(m1.Busy - m0.Busy) / (m1.Total - m0.Total) * Environment.ProcessorCount
                    : double.NaN;
                var other = busy - ((eb.Cpu - sb.Cpu) + (ec.Cpu - sc.Cpu) + (harnessNow - harness)).TotalSeconds / wall;

                var jb = eb.Jobs - sb.Jobs;
                var jc = ec.Jobs - sc.Jobs;
                var window = new Window(jb / wall, jc / wall,
                    (eb.Cpu - sb.Cpu).TotalMilliseconds / jb, (ec.Cpu - sc.Cpu).TotalMilliseconds / jc,
                    (eb.Allocated - sb.Allocated) / jb, (ec.Allocated - sc.Allocated) / jc, other);
                windows.Add((round, window));
                Console.WriteLine($"   {window.BaselineRate:F0}/s {window.BaselineCpuMs:F3} ms ‖ {window.CandidateRate:F0}/s {window.CandidateCpuMs:F3} ms  cpu ratio {window.CpuRatio:F3}  other {other:F2}");
                (sb, sc, machine, harness) = (eb, ec, machineNow, harnessNow);
            }

            var last = await candidate.ScrapeAsync();
            drops.Add(last.Sum("telemetry_export_dropped_total") + last.Sum("profiler_uploads_dropped_total"));
            if (options.Candidate.NeedsProfiler && last.Sum("profiler_uploads_total") == 0)
            {
                // Never report a profiler cost for a profiler that did not run.
                throw new InvalidOperationException($"Round {round}: the {options.Candidate.Name} worker pushed no profile (profiler_uploads_total is 0); its numbers would not measure the profiler.");
            }
        }

        Write(report, windows, drops);
        Console.WriteLine($"Saved: {report.Save()}");
    }

    private static (Sample, Sample) Swap(Sample candidate, Sample baseline) => (baseline, candidate);

    private static async Task<Sample> SampleAsync(WorkerProcess worker)
    {
        var cpu = worker.CpuTime;
        var metrics = await worker.ScrapeAsync();
        return new Sample(metrics.Sum("jobs_total"), cpu, metrics.Sum(AllocatedBytes));
    }

    private void Write(Report report, List<(int Round, Window Window)> windows, List<double> drops)
    {
        var b = options.Baseline.Name;
        var c = options.Candidate.Name;
        report.Line($"# Paired: {c} vs {b}, run at the same time");
        report.Line();
        report.Line(Machine.Describe());
        report.Line($"- Both workers: WorkerPool:Workers={options.Workers}, QueueCapacity={options.QueueCapacity}, Server GC; {options.Rounds} rounds × ({options.Warmup.TotalSeconds:0} s warmup + {options.Windows} × {options.Window.TotalSeconds:0} s), start order alternating");
        report.Line($"- **{b}**: {options.Baseline.Meaning}");
        report.Line($"- **{c}**: {options.Candidate.Meaning}");
        report.Line();

        var cpu = windows.Select(w => w.Window.CpuRatio).ToList();
        var rate = windows.Select(w => w.Window.RateRatio).ToList();
        // A window in which the allocation counter did not move in one of them (its value is refreshed lazily) says nothing.
        var alloc = windows.Where(w => w.Window.BaselineAlloc > 0 && w.Window.CandidateAlloc > 0)
            .Select(w => w.Window.CandidateAlloc / w.Window.BaselineAlloc).ToList();
        report.Line($"| {c} / {b} per window | median | mean ± sd | min – max | n |");
        report.Line("| --- | ---: | ---: | ---: | ---: |");
        report.Line($"| CPU per job | {Report.Ratio(cpu.Median())} | {Report.Ratio(cpu.Mean())} ± {Report.Ratio(cpu.StdDev())} | {Report.Ratio(cpu.Min())} – {Report.Ratio(cpu.Max())} | {cpu.Count} |");
        report.Line($"| jobs/s | {Report.Ratio(rate.Median())} | {Report.Ratio(rate.Mean())} ± {Report.Ratio(rate.StdDev())} | {Report.Ratio(rate.Min())} – {Report.Ratio(rate.Max())} | {rate.Count} |");
        report.Line($"| allocated bytes per job | {Report.Ratio(alloc.Median())} | {Report.Ratio(alloc.Mean())} ± {Report.Ratio(alloc.StdDev())} | {Report.Ratio(alloc.DefaultIfEmpty(double.NaN).Min())} – {Report.Ratio(alloc.DefaultIfEmpty(double.NaN).Max())} | {alloc.Count} |");
        report.Line();
        report.Line($"Absolute (medians): {b} {Report.F(windows.Select(w => w.Window.BaselineCpuMs * 1000).ToList().Median(), 1)} µs CPU/job, {Report.F(windows.Select(w => w.Window.BaselineAlloc / 1024).ToList().Median(), 2)} KB/job; " +
            $"{c} {Report.F(windows.Select(w => w.Window.CandidateCpuMs * 1000).ToList().Median(), 1)} µs CPU/job, {Report.F(windows.Select(w => w.Window.CandidateAlloc / 1024).ToList().Median(), 2)} KB/job; " +
            $"difference {Report.F(windows.Select(w => (w.Window.CandidateCpuMs - w.Window.BaselineCpuMs) * 1000).ToList().Median(), 1)} µs CPU/job (median of windows).");
        report.Line($"Drops reported by the {c} worker at the end of each round: {string.Join(", ", drops)}.");
        report.Line();
        report.Line($"| round | {b} jobs/s | {c} jobs/s | {b} µs CPU/job | {c} µs CPU/job | CPU ratio | other cores |");
        report.Line("| ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
        foreach (var (round, w) in windows)
        {
            report.Line($"| {round} | {Report.F(w.BaselineRate, 0)} | {Report.F(w.CandidateRate, 0)} | {Report.F(w.BaselineCpuMs * 1000, 1)} | {Report.F(w.CandidateCpuMs * 1000, 1)} | {Report.Ratio(w.CpuRatio)} | {Report.F(w.OtherCores, 2)} |");
        }
    }
}
