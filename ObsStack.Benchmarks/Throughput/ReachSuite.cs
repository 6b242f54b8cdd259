using System.Diagnostics;
using System.Globalization;
using ObsStack.Benchmarks.Harness;

namespace ObsStack.Benchmarks.Throughput;

/// <summary>
/// How much of the machine's limit the worker pool reaches: every client fetches the same loopback target, and each
/// one's jobs/s is divided by what <c>wrk -t2 -c8</c> gets from that target in the same round (the ceiling). Clients:
/// wrk, a plain HttpClient loop, an empty ASP.NET Core app (startup only), and the worker at each pool size with
/// telemetry off / full / full + profiler, and (<c>--redis 1,2</c>) the same worker on the Redis job engine with 1 or 2
/// worker processes sharing one loopback Redis. Rounds alternate the order; every ratio is taken within a round (same
/// machine state) and given as a median and range.
/// </summary>
internal sealed class ReachSuite(ReachSuite.Options options)
{
    public sealed record Options(
        List<Scenario> Scenarios,
        List<int> Workers,
        int Rounds = 3,
        TimeSpan Warmup = default,
        int Windows = 3,
        TimeSpan Window = default,
        int QueueCapacity = 1000,
        string? BaselineWorker = null,
        List<int>? RedisProcesses = null,
        List<string>? RedisFsync = null,
        List<int>? RedisPrefetch = null)
    {
        public TimeSpan WarmupOrDefault => Warmup == default ? TimeSpan.FromSeconds(10) : Warmup;
        public TimeSpan WindowOrDefault => Window == default ? TimeSpan.FromSeconds(15) : Window;
    }

    public static readonly List<Scenario> DefaultScenarios = [Scenario.Off, Scenario.Full, Scenario.FullProfiler];

    /// <summary>The yardstick's shape, as in the issue that set the goal: 2 threads (one per core), 8 connections.</summary>
    private const int WrkThreads = 2;

    private const int WrkConnections = 8;

    /// <summary>The HttpClient ceiling runs at the largest pool size measured (one request in flight per worker).</summary>
    private int HttpClientConcurrency => options.Workers.Max();

    private const double QuietCores = 0.3;

    /// <summary>The startup floor: an empty ASP.NET Core app, started and timed as the worker is (no load, no windows).</summary>
    private const string EmptyWeb = "empty web app (startup floor)";

    /// <param name="WorkerDll">A baseline build of the worker (<c>--baseline DIR</c>); null: this build's.</param>
    /// <param name="RedisProcesses">Worker processes on one Redis (the Redis job engine); 0: the in-process pool.</param>
    /// <param name="Fsync">The Redis append-only file's fsync policy.</param>
    /// <param name="Prefetch">WorkerPool:Prefetch of the Redis runs.</param>
    private sealed record Client(string Name, Scenario? Scenario = null, int Workers = 0, string? WorkerDll = null, int RedisProcesses = 0, string? Fsync = null, int Prefetch = 0)
    {
        public bool IsWrk => Name == "wrk";

        public bool IsHttpClient => Name == "httpclient";

        public bool IsEmptyWeb => Name == EmptyWeb;

        public bool IsRedis => RedisProcesses > 0;

        public string Label => Scenario is null ? Name
            : $"{Scenario.Name} ({Workers} workers){(WorkerDll is null ? "" : ", baseline")}{(IsRedis ? $", Redis ×{RedisProcesses} processes, fsync {Fsync}{(Prefetch > 0 ? $", prefetch {Prefetch}" : "")}" : "")}";
    }

    /// <summary>One measured window; context switches per job are the client process' own (NaN where not readable).</summary>
    private sealed record Window(double JobsPerSecond, double CpuUsPerJob, double AllocBytesPerJob, double SwitchesPerJob)
    {
        public double RedisCpuUsPerJob { get; init; } = double.NaN;
        public double RedisRequestsPerJob { get; init; } = double.NaN;
        public double RedisCommandsPerJob { get; init; } = double.NaN;
    }

    private sealed record Run(Client Client, int Round, IReadOnlyList<Window> Windows)
    {
        public double StartupMs { get; init; } = double.NaN;
        public double NotSuccess { get; init; }
        public double Dropped { get; init; } = double.NaN;
        public long Refused { get; init; }
        public double LogLinesPerJob { get; init; } = double.NaN;
        public string Exported { get; init; } = "";
        public string? Error { get; init; }

        public double JobsPerSecond => Windows.Select(w => w.JobsPerSecond).ToList().Median();
        public double CpuUsPerJob => Windows.Select(w => w.CpuUsPerJob).ToList().Median();
    }

    private readonly Stopwatch _clock = Stopwatch.StartNew();

    public async Task RunAsync()
    {
        if (!WrkClient.Installed)
        {
            throw new InvalidOperationException(WrkClient.InstallHint);
        }

        List<Client> clients =
        [
            new("wrk"),
            new("httpclient"),
            new(EmptyWeb),
            .. options.Workers.SelectMany(workers => options.Scenarios.SelectMany(scenario => (IEnumerable<Client>)(options.BaselineWorker is { } baseline
                ? [new Client(scenario.Name, scenario, workers, baseline), new Client(scenario.Name, scenario, workers)]
                : [new Client(scenario.Name, scenario, workers)]))),
            .. options.Workers.SelectMany(workers => options.Scenarios.SelectMany(scenario =>
                (options.RedisProcesses ?? []).SelectMany(processes => (options.RedisFsync ?? ["everysec"]).SelectMany(fsync =>
                    (options.RedisPrefetch ?? [0]).SelectMany(prefetch => (IEnumerable<Client>)(options.BaselineWorker is { } baseline
                        ? [new Client(scenario.Name, scenario, workers, baseline, processes, fsync, prefetch), new Client(scenario.Name, scenario, workers, RedisProcesses: processes, Fsync: fsync, Prefetch: prefetch)]
                        : [new Client(scenario.Name, scenario, workers, RedisProcesses: processes, Fsync: fsync, Prefetch: prefetch)])))))),
        ];
        if (clients.Any(c => c.IsRedis) && !RedisPeer.Installed)
        {
            throw new InvalidOperationException("--redis needs redis-server (Debian package redis-server).");
        }
        var perRun = options.WarmupOrDefault + options.WindowOrDefault * options.Windows + TimeSpan.FromSeconds(4);
        var measuredClients = clients.Count(c => !c.IsEmptyWeb);
        Console.WriteLine($"# reach: {clients.Count} clients × {options.Rounds} rounds, ≈ {perRun * measuredClients * options.Rounds:hh\\:mm\\:ss}");

        var report = new Report("reach");
        var runs = new List<Run>();
        await using var peers = await LoopbackPeers.StartAsync();
        for (var round = 1; round <= options.Rounds; round++)
        {
            // Rotated every round: no client always runs first (cold machine) or last.
            var shift = (round - 1) % clients.Count;
            foreach (var client in clients.Skip(shift).Concat(clients.Take(shift)))
            {
                Console.WriteLine($"## round {round}: {client.Label}");
                await Machine.WaitForQuietAsync(QuietCores, TimeSpan.FromSeconds(45));
                Run run;
                try
                {
                    run = client switch
                    {
                        { IsWrk: true } => await RunWrkAsync(peers, client, round),
                        { IsHttpClient: true } => await RunHttpClientAsync(peers, client, round),
                        { IsEmptyWeb: true } => await RunEmptyWebAsync(client, round),
                        { IsRedis: true } => await RunRedisAsync(peers, client, round),
                        _ => await RunWorkerAsync(peers, client, round),
                    };
                }
                catch (Exception ex) when (ex is InvalidOperationException or TimeoutException or HttpRequestException or IOException)
                {
                    run = new Run(client, round, []) { Error = ex.Message };
                }

                Console.WriteLine(run.Error ?? (run.Windows.Count == 0
                    ? $"startup {run.StartupMs:F0} ms"
                    : string.Join("  ", run.Windows.Select(w => $"{w.JobsPerSecond:F0}/s {w.CpuUsPerJob:F1} µs"))));
                runs.Add(run);
            }
        }

        Write(report, clients, runs);
        Console.WriteLine($"Saved: {report.Save()}");
    }

    private async Task<Run> RunWrkAsync(LoopbackPeers peers, Client client, int round)
    {
        var url = peers.TargetUrl(0, 1);
        await WrkClient.RunAsync(url, WrkThreads, WrkConnections, options.WarmupOrDefault);
        var windows = new List<Window>();
        long errors = 0;
        for (var i = 0; i < options.Windows; i++)
        {
            var result = await WrkClient.RunAsync(url, WrkThreads, WrkConnections, options.WindowOrDefault);
            errors += result.Errors;
            windows.Add(new Window(result.Requests / result.Seconds, result.Cpu.TotalMicroseconds / result.Requests, double.NaN,
                PerJob(result.ContextSwitches, 0L, result.Requests)));
        }

        return new Run(client, round, windows) { NotSuccess = errors };
    }

    private async Task<Run> RunHttpClientAsync(LoopbackPeers peers, Client client, int round)
    {
        await using var loop = await CeilingClient.Child.StartAsync(peers.BaseAddress, HttpClientConcurrency);
        await Task.Delay(options.WarmupOrDefault);
        var windows = new List<Window>();
        var before = await SampleAsync();
        for (var i = 0; i < options.Windows; i++)
        {
            await Task.Delay(options.WindowOrDefault);
            var after = await SampleAsync();
            var done = after.Requests - before.Requests;
            windows.Add(new Window(done / (after.Seconds - before.Seconds), (after.Cpu - before.Cpu).TotalMicroseconds / done,
                (double)(after.Allocated - before.Allocated) / done, PerJob(after.Switches, before.Switches, done)));
            before = after;
        }

        return new Run(client, round, windows) { NotSuccess = before.Failed };

        async Task<(double Seconds, TimeSpan Cpu, long? Switches, long Requests, long Allocated, long Failed)> SampleAsync()
        {
            var (seconds, cpu, switches) = (_clock.Elapsed.TotalSeconds, loop.CpuTime, loop.ContextSwitches);
            var (requests, allocated, failed) = await loop.SampleAsync();
            return (seconds, cpu, switches, requests, allocated, failed);
        }
    }

    private static async Task<Run> RunEmptyWebAsync(Client client, int round)
    {
        // Server GC as the worker has it (the Web SDK's default; the benchmarks' own runtimeconfig turns it off).
        await using var app = await WorkerProcess.StartAsync(new Dictionary<string, string> { ["DOTNET_gcServer"] = "1" }, TimeSpan.FromSeconds(60),
            assemblyPath: typeof(EmptyWebApp).Assembly.Location, arguments: [EmptyWebApp.Role]);
        return new Run(client, round, []) { StartupMs = app.StartupTime.TotalMilliseconds };
    }

    private async Task<Run> RunWorkerAsync(LoopbackPeers peers, Client client, int round)
    {
        var settings = client.Scenario!.WorkerSettings(peers, client.Workers, options.QueueCapacity);
        await using var worker = await WorkerProcess.StartAsync(settings, TimeSpan.FromSeconds(60), assemblyPath: client.WorkerDll);
        var driver = new JobDriver(worker.Client, peers, options.QueueCapacity);
        var samples = new List<(double Seconds, TimeSpan Cpu, long? Switches, PrometheusText Metrics)>();
        Dictionary<string, (long Requests, long Bytes)> sinksAtStart;
        long linesAtStart;
        await using (driver)
        {
            driver.Start();
            await Task.Delay(options.WarmupOrDefault);
            linesAtStart = worker.LogLines;
            sinksAtStart = peers.Sinks.ToDictionary(s => s.Name, s => s.Snapshot());
            for (var i = 0; i <= options.Windows; i++)
            {
                if (i > 0)
                {
                    await Task.Delay(options.WindowOrDefault);
                }

                var (seconds, cpu, switches) = (_clock.Elapsed.TotalSeconds, worker.CpuTime, worker.ContextSwitches);
                samples.Add((seconds, cpu, switches, await worker.ScrapeAsync()));
            }
        }

        var windows = samples.Zip(samples.Skip(1), (a, b) =>
        {
            var jobs = b.Metrics.Sum("jobs_total") - a.Metrics.Sum("jobs_total");
            return new Window(jobs / (b.Seconds - a.Seconds), (b.Cpu - a.Cpu).TotalMicroseconds / jobs,
                (b.Metrics.Sum(AllocatedBytes) - a.Metrics.Sum(AllocatedBytes)) / jobs, PerJob(b.Switches, a.Switches, jobs));
        }).ToList();
        var first = samples[0].Metrics;
        var last = samples[^1].Metrics;
        var completed = last.Sum("jobs_total") - first.Sum("jobs_total");
        var exported = peers.Sinks
            .Select(s => (s.Name, Requests: s.Snapshot().Requests - sinksAtStart[s.Name].Requests))
            .Where(s => s.Requests > 0)
            .Select(s => $"{s.Name} {s.Requests}");
        return new Run(client, round, windows)
        {
            StartupMs = worker.StartupTime.TotalMilliseconds,
            NotSuccess = completed - (last.Sum("jobs_total", "status=\"success\"") - first.Sum("jobs_total", "status=\"success\"")),
            Dropped = last.Sum("telemetry_export_dropped_total") + last.Sum("profiler_uploads_dropped_total"),
            Refused = driver.Refused,
            LogLinesPerJob = (worker.LogLines - linesAtStart) / completed,
            Exported = string.Join(", ", exported),
        };
    }

    /// <summary>
    /// The Redis job engine: a fresh Redis and <see cref="Client.RedisProcesses"/> worker processes on it, fed through the
    /// first one's POST /jobs as the in-process pool is. Jobs/s and worker CPU are summed over the processes; Redis' own
    /// CPU and its request and command counts per job are measured apart.
    /// </summary>
    private async Task<Run> RunRedisAsync(LoopbackPeers peers, Client client, int round)
    {
        await using var redis = await RedisPeer.StartAsync(client.Fsync!);
        var settings = client.Scenario!.WorkerSettings(peers, client.Workers, options.QueueCapacity);
        settings["ConnectionStrings__redis"] = redis.ConnectionString;
        settings["WorkerPool__Prefetch"] = client.Prefetch.ToString(CultureInfo.InvariantCulture);
        var workers = new List<WorkerProcess>();
        try
        {
            for (var i = 0; i < client.RedisProcesses; i++)
            {
                workers.Add(await WorkerProcess.StartAsync(settings, TimeSpan.FromSeconds(60), assemblyPath: client.WorkerDll));
            }

            var driver = new JobDriver(workers[0].Client, peers, options.QueueCapacity);
            var samples = new List<(double Seconds, TimeSpan Cpu, TimeSpan RedisCpu, (long Requests, long Commands) Calls, double Jobs, double Success)>();
            await using (driver)
            {
                driver.Start();
                await Task.Delay(options.WarmupOrDefault);
                for (var i = 0; i <= options.Windows; i++)
                {
                    if (i > 0)
                    {
                        await Task.Delay(options.WindowOrDefault);
                    }

                    var (seconds, cpu, redisCpu) = (_clock.Elapsed.TotalSeconds, TimeSpan.FromTicks(workers.Sum(w => w.CpuTime.Ticks)), redis.CpuTime);
                    var calls = await redis.CallsAsync();
                    var metrics = await Task.WhenAll(workers.Select(w => w.ScrapeAsync()));
                    samples.Add((seconds, cpu, redisCpu, calls, metrics.Sum(m => m.Sum("jobs_total")), metrics.Sum(m => m.Sum("jobs_total", "status=\"success\""))));
                }
            }

            var windows = samples.Zip(samples.Skip(1), (a, b) =>
            {
                var jobs = b.Jobs - a.Jobs;
                return new Window(jobs / (b.Seconds - a.Seconds), (b.Cpu - a.Cpu).TotalMicroseconds / jobs, double.NaN, double.NaN)
                {
                    RedisCpuUsPerJob = (b.RedisCpu - a.RedisCpu).TotalMicroseconds / jobs,
                    RedisRequestsPerJob = (b.Calls.Requests - a.Calls.Requests) / jobs,
                    RedisCommandsPerJob = (b.Calls.Commands - a.Calls.Commands) / jobs,
                };
            }).ToList();
            var completed = samples[^1].Jobs - samples[0].Jobs;
            return new Run(client, round, windows)
            {
                StartupMs = workers[0].StartupTime.TotalMilliseconds,
                NotSuccess = completed - (samples[^1].Success - samples[0].Success),
                Refused = driver.Refused,
                Error = driver.FirstError,
            };
        }
        finally
        {
            foreach (var worker in workers)
            {
                await worker.DisposeAsync();
            }
        }
    }

    private static double PerJob(long? to, long? from, double jobs) =>
        // Live threads only: a thread that exits takes its count along, so a falling total is no measurement.
        to is { } end && from is { } start && end >= start && jobs > 0 ? (end - start) / jobs : double.NaN;

    /// <summary>System.Runtime's <c>dotnet.gc.heap.total_allocated</c> as <c>/metrics</c> names it.</summary>
    private const string AllocatedBytes = "dotnet_gc_heap_allocated_bytes_total";

    private void Write(Report report, List<Client> clients, List<Run> runs)
    {
        report.Line("# Reach: jobs/s as a share of the machine's ceiling (wrk)");
        report.Line();
        report.Line(Machine.Describe());
        report.Line($"- Target: GET on the harness' loopback Kestrel, 200 with a 100-byte body; the same URL shape for every client");
        report.Line($"- Ceiling: `wrk -t{WrkThreads} -c{WrkConnections}`, one wrk run per window; HttpClient loop: {HttpClientConcurrency} concurrent, Server GC, the worker's handler settings");
        report.Line($"- Worker: a fresh process per run, WorkerPool:Workers as given, QueueCapacity={options.QueueCapacity}, fed through POST /jobs (batches of 100) without running dry");
        report.Line($"- Each run: {options.WarmupOrDefault.TotalSeconds:0} s warmup, {options.Windows} × {options.WindowOrDefault.TotalSeconds:0} s windows; {options.Rounds} rounds, order rotated per round");
        report.Line("- CPU per job: the client process only (worker, HttpClient loop, or wrk); the target and the feeder run in the harness on the same 2 cores");
        report.Line("- Context switches per job: the client process' live threads, voluntary + involuntary (/proc; wrk's, all its threads, through /usr/bin/time)");
        report.Line();

        var byRound = runs.Where(r => r.Error is null).GroupBy(r => r.Round).ToDictionary(g => g.Key, g => g.ToList());
        double? Ceiling(int round) => byRound.GetValueOrDefault(round)?.FirstOrDefault(r => r.Client.IsWrk)?.JobsPerSecond;

        report.Line("| client | jobs/s, median | ÷ wrk ceiling, median (per round) | CPU µs per job, median (range of windows) | allocated per job | context switches per job | time to first /alive |");
        report.Line("| --- | ---: | ---: | ---: | ---: | ---: | ---: |");
        foreach (var client in clients)
        {
            var measured = runs.Where(r => r.Client == client && r.Error is null).ToList();
            if (measured.Count == 0)
            {
                report.Line($"| {client.Label} | {runs.FirstOrDefault(r => r.Client == client)?.Error ?? "not run"} | | | | | |");
                continue;
            }

            var windows = measured.SelectMany(r => r.Windows).ToList();
            if (windows.Count == 0)
            {
                var alone = measured.Select(r => r.StartupMs).ToList();
                report.Line($"| {client.Label} | | | | | | {Report.F(alone.Median(), 0)} ms ({Report.F(alone.Min(), 0)} – {Report.F(alone.Max(), 0)}) |");
                continue;
            }

            var reach = measured.Where(r => Ceiling(r.Round) is not null).Select(r => r.JobsPerSecond / Ceiling(r.Round)!.Value).ToList();
            var cpu = windows.Select(w => w.CpuUsPerJob).ToList();
            var alloc = windows.Select(w => w.AllocBytesPerJob).Where(double.IsFinite).ToList();
            var startup = measured.Select(r => r.StartupMs).Where(double.IsFinite).ToList();
            var switches = windows.Select(w => w.SwitchesPerJob).Where(double.IsFinite).ToList();
            report.Line($"| {client.Label} | {Report.F(windows.Select(w => w.JobsPerSecond).ToList().Median(), 0)} | " +
                $"{Range(reach, 2)} | {Report.F(cpu.Median(), 1)} ({Report.F(cpu.Min(), 1)} – {Report.F(cpu.Max(), 1)}) | " +
                $"{(alloc.Count == 0 ? "" : Report.F(alloc.Median() / 1024, 2) + " KB")} | " +
                $"{(switches.Count == 0 ? "" : Report.F(switches.Median(), 2))} | " +
                $"{(startup.Count == 0 ? "" : Report.F(startup.Median(), 0) + " ms")} |");
        }

        report.Line();
        report.Line("## Telemetry's cost, within each round");
        report.Line();
        report.Line("| pool | full ÷ off, jobs/s (per round) | full ÷ off, CPU per job | full+profiler ÷ full, jobs/s | full+profiler ÷ full, CPU per job |");
        report.Line("| ---: | ---: | ---: | ---: | ---: |");
        foreach (var workers in options.Workers)
        {
            List<double> Paired(string candidate, string baseline, Func<Run, double> value) =>
                [.. byRound.Values.Select(round =>
                {
                    var c = round.FirstOrDefault(r => r.Client.Scenario?.Name == candidate && r.Client.Workers == workers && r.Client.WorkerDll is null);
                    var b = round.FirstOrDefault(r => r.Client.Scenario?.Name == baseline && r.Client.Workers == workers && r.Client.WorkerDll is null);
                    return c is null || b is null ? double.NaN : value(c) / value(b);
                }).Where(double.IsFinite)];

            report.Line($"| {workers} | {Range(Paired("full", "off", r => r.JobsPerSecond), 3)} | {Range(Paired("full", "off", r => r.CpuUsPerJob), 3)} | " +
                $"{Range(Paired("full+profiler", "full", r => r.JobsPerSecond), 3)} | {Range(Paired("full+profiler", "full", r => r.CpuUsPerJob), 3)} |");
        }

        if (options.BaselineWorker is { } baselineDll)
        {
            report.Line();
            report.Line($"## This build ÷ the baseline ({baselineDll}), within each round");
            report.Line();
            report.Line("| client | jobs/s (per round) | CPU per job | allocated per job |");
            report.Line("| --- | ---: | ---: | ---: |");
            foreach (var client in clients.Where(c => c.WorkerDll is null && c.Scenario is not null))
            {
                List<double> VsBaseline(Func<Run, double> value) =>
                    [.. byRound.Values.Select(round =>
                    {
                        var now = round.FirstOrDefault(r => r.Client == client);
                        var before = round.FirstOrDefault(r => r.Client == client with { WorkerDll = baselineDll });
                        return now is null || before is null ? double.NaN : value(now) / value(before);
                    }).Where(double.IsFinite)];

                report.Line($"| {client.Label} | {Range(VsBaseline(r => r.JobsPerSecond), 3)} | {Range(VsBaseline(r => r.CpuUsPerJob), 3)} | " +
                    $"{Range(VsBaseline(r => r.Windows.Select(w => w.AllocBytesPerJob).ToList().Median()), 3)} |");
            }
        }

        if (clients.Any(c => c.IsRedis))
        {
            WriteRedis(report, clients, byRound);
        }

        report.Line();
        report.Line("Goal: off ≥ 0.59 of the ceiling, full ≥ 0.48, full ÷ off jobs/s ≥ 0.90.");
        report.Line();
        report.Line("## Every run");
        report.Line();
        report.Line("| client | round | jobs/s per window | CPU µs/job per window | switches/job per window | non-success | dropped | 429s | log lines/job | sink requests | startup | error |");
        report.Line("| --- | ---: | --- | --- | --- | ---: | ---: | ---: | ---: | --- | ---: | --- |");
        foreach (var run in runs.OrderBy(r => clients.IndexOf(r.Client)).ThenBy(r => r.Round))
        {
            report.Line($"| {run.Client.Label} | {run.Round} | {string.Join(" / ", run.Windows.Select(w => Report.F(w.JobsPerSecond, 0)))} | " +
                $"{string.Join(" / ", run.Windows.Select(w => Report.F(w.CpuUsPerJob, 1)))} | " +
                $"{string.Join(" / ", run.Windows.Select(w => Report.F(w.SwitchesPerJob, 2)))} | {run.NotSuccess} | {Report.F(run.Dropped, 0)} | {run.Refused} | " +
                $"{Report.F(run.LogLinesPerJob, 3)} | {run.Exported} | {Report.F(run.StartupMs, 0)} | {run.Error} |");
        }
    }

    /// <summary>The Redis job engine against the in-process pool of the same scenario and pool size, within each round.</summary>
    private static void WriteRedis(Report report, List<Client> clients, Dictionary<int, List<Run>> byRound)
    {
        report.Line();
        report.Line("## The Redis job engine, within each round");
        report.Line();
        report.Line("Worker CPU is summed over the worker processes; Redis CPU is redis-server's own. Requests: what the workers sent");
        report.Line("(a Lua script call is one); commands: what Redis ran, the scripts' steps included (INFO commandstats).");
        report.Line();
        report.Line("| client | ÷ in-process pool, jobs/s (per round) | worker CPU µs per job | ÷ in-process, worker CPU per job | Redis CPU µs per job | Redis requests per job | Redis commands per job |");
        report.Line("| --- | ---: | ---: | ---: | ---: | ---: | ---: |");
        foreach (var client in clients.Where(c => c.IsRedis))
        {
            List<double> VsInProcess(Func<Run, double> value) =>
                [.. byRound.Values.Select(round =>
                {
                    var redis = round.FirstOrDefault(r => r.Client == client);
                    var local = round.FirstOrDefault(r => r.Client == client with { RedisProcesses = 0, Fsync = null, Prefetch = 0 });
                    return redis is null || local is null ? double.NaN : value(redis) / value(local);
                }).Where(double.IsFinite)];

            var windows = byRound.Values.SelectMany(round => round.Where(r => r.Client == client)).SelectMany(r => r.Windows).ToList();
            List<double> Of(Func<Window, double> value) => [.. windows.Select(value).Where(double.IsFinite)];
            report.Line($"| {client.Label} | {Range(VsInProcess(r => r.JobsPerSecond), 2)} | {Range(Of(w => w.CpuUsPerJob), 1)} | " +
                $"{Range(VsInProcess(r => r.CpuUsPerJob), 2)} | {Range(Of(w => w.RedisCpuUsPerJob), 1)} | " +
                $"{Range(Of(w => w.RedisRequestsPerJob), 2)} | {Range(Of(w => w.RedisCommandsPerJob), 1)} |");
        }
    }

    private static string Range(List<double> values, int decimals) => values.Count switch
    {
        0 => "n/a",
        1 => Report.F(values[0], decimals),
        _ => $"{Report.F(values.Median(), decimals)} ({Report.F(values.Min(), decimals)} – {Report.F(values.Max(), decimals)})",
    };
}
