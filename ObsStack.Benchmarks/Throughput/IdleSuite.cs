using ObsStack.Benchmarks.Harness;

namespace ObsStack.Benchmarks.Throughput;

/// <summary>
/// What each configuration costs a worker that does nothing: no jobs, load generator off. This is the profiler's
/// fixed price — one EventPipe session per upload interval, its rundown, encoding and push — which every service pays
/// all the time, apart from the per-job cost the throughput and paired suites measure. Scenarios run one at a time,
/// order rotated each round; each measures the worker's CPU over whole upload intervals after it has settled.
/// </summary>
internal sealed class IdleSuite(IdleSuite.Options options)
{
    public sealed record Options(int Rounds, TimeSpan Settle, TimeSpan Window);

    private static readonly Scenario[] s_scenarios =
    [
        Scenario.Off,
        Scenario.Full,
        Scenario.FullProfiler,
        Scenario.Diagnostic.Single(s => s.Name == "full+profiler-3s"),
        Scenario.Diagnostic.Single(s => s.Name == "full+profiler-cpuonly"),
        new("full+profiler-continuous", "full+profiler sampling the whole interval (Telemetry:Profiles:SamplingDuration=00:00:15)",
            peers => new(Scenario.FullProfiler.Settings(peers)) { ["Telemetry__Profiles__SamplingDuration"] = "00:00:15" },
            NeedsProfiler: true),
    ];

    public async Task RunAsync()
    {
        var report = new Report("idle");
        await using var peers = await LoopbackPeers.StartAsync();
        var cores = s_scenarios.ToDictionary(s => s.Name, _ => new List<double>());
        var pushes = s_scenarios.ToDictionary(s => s.Name, _ => 0L);

        for (var round = 0; round < options.Rounds; round++)
        {
            Console.WriteLine($"## round {round + 1}");
            for (var i = 0; i < s_scenarios.Length; i++)
            {
                var scenario = s_scenarios[(i + round) % s_scenarios.Length];
                if (scenario.NeedsProfiler && !Scenario.ProfilerInBuild)
                {
                    continue;
                }

                await Machine.WaitForQuietAsync(0.1, TimeSpan.FromSeconds(60));
                var pushesBefore = peers.Profiles.Requests;
                await using var worker = await WorkerProcess.StartAsync(scenario.WorkerSettings(peers, workers: 4, queueCapacity: 1000), TimeSpan.FromSeconds(60));
                await Task.Delay(options.Settle);
                var cpu = worker.CpuTime;
                var other = Machine.BusyCoresAsync(options.Window);
                await Task.Delay(options.Window);
                var used = (worker.CpuTime - cpu) / options.Window;
                cores[scenario.Name].Add(used);
                pushes[scenario.Name] += peers.Profiles.Requests - pushesBefore;
                Console.WriteLine($"   {scenario.Name,-26} {used * 100,6:F2} % of a core   machine busy {await other:F2} cores");
            }
        }

        report.Line("# Idle: what a worker doing nothing costs, per configuration");
        report.Line();
        report.Line(Machine.Describe());
        report.Line($"- Worker: load generator off, no jobs; {options.Settle.TotalSeconds:0} s after start, CPU over {options.Window.TotalSeconds:0} s (whole 15 s upload intervals); {options.Rounds} rounds, order rotated");
        report.Line();
        report.Line("| scenario | worker CPU, % of one core: median (min – max) | vs full | profile pushes | n | meaning |");
        report.Line("| --- | ---: | ---: | ---: | ---: | --- |");
        var full = cores[Scenario.Full.Name].Median();
        foreach (var scenario in s_scenarios.Where(s => cores[s.Name].Count > 0))
        {
            var values = cores[scenario.Name];
            var versusFull = scenario == Scenario.Full || scenario == Scenario.Off ? "" : $"+{Report.F((values.Median() - full) * 100, 2)} points";
            report.Line($"| {scenario.Name} | {Report.F(values.Median() * 100, 2)} ({Report.F(values.Min() * 100, 2)} – {Report.F(values.Max() * 100, 2)}) | {versusFull} | {pushes[scenario.Name]} | {values.Count} | {scenario.Meaning} |");
        }

        Console.WriteLine();
        Console.WriteLine($"Saved: {report.Save()}");
    }
}
