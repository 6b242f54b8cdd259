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
    public sealed record Options(IReadOnlyList<Scenario> Scenarios, int Rounds, TimeSpan Settle, TimeSpan Window);

    public static readonly Scenario[] DefaultScenarios =
    [
        Scenario.Off,
        Scenario.Full,
        Scenario.FullProfiler,
        Scenario.Parse("full+profiler-3s"),
        Scenario.Parse("full+profiler-cpuonly"),
        Scenario.Parse("full+profiler-continuous"),
    ];

    private readonly IReadOnlyList<Scenario> _scenarios = options.Scenarios.Where(s => !s.IsCeiling).ToList();

    public async Task RunAsync()
    {
        var report = new Report("idle");
        await using var peers = await LoopbackPeers.StartAsync();
        var cores = _scenarios.ToDictionary(s => s.Name, _ => new List<double>());
        var pushes = _scenarios.ToDictionary(s => s.Name, _ => 0L);

        for (var round = 0; round < options.Rounds; round++)
        {
            Console.WriteLine($"## round {round + 1}");
            for (var i = 0; i < _scenarios.Count; i++)
            {
                var scenario = _scenarios[(i + round) % _scenarios.Count];
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
        var full = cores.TryGetValue(Scenario.Full.Name, out var fullValues) && fullValues.Count > 0 ? fullValues.Median() : double.NaN;
        foreach (var scenario in _scenarios.Where(s => cores[s.Name].Count > 0))
        {
            var values = cores[scenario.Name];
            var versusFull = scenario == Scenario.Full || scenario == Scenario.Off || double.IsNaN(full) ? "" : $"{(values.Median() - full) * 100:+0.00;-0.00} points";
            report.Line($"| {scenario.Name} | {Report.F(values.Median() * 100, 2)} ({Report.F(values.Min() * 100, 2)} – {Report.F(values.Max() * 100, 2)}) | {versusFull} | {pushes[scenario.Name]} | {values.Count} | {scenario.Meaning} |");
        }

        Console.WriteLine();
        Console.WriteLine($"Saved: {report.Save()}");
    }
}
