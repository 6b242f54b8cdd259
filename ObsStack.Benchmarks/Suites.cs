using System.Globalization;
using ObsStack.Benchmarks.DeadBackend;
using ObsStack.Benchmarks.Micro;
using ObsStack.Benchmarks.Throughput;

namespace ObsStack.Benchmarks;

/// <summary>
/// The suites, each runnable alone. Everything talks only to 127.0.0.1, is bounded in count and time, and stops by
/// itself. Usage (from the repository root):
/// <code>dotnet run -c Release --project ObsStack.Benchmarks -- &lt;suite&gt; [options]</code>
/// </summary>
internal static class Suites
{
    /// <summary>
    /// Equal to the profiler's default upload interval: it samples 1 s of every 15 s, so a window of exactly one
    /// interval always holds exactly one sampling burst, whatever its phase. Shorter windows would alternate between
    /// windows with and without sampling.
    /// </summary>
    private const int DefaultWindowSeconds = 15;

    private const string Usage = """
        Suites:
          reach        jobs/s as a share of the machine's ceiling (wrk -t2 -c8, Debian package wrk): wrk,
                       HttpClient loop, worker off/full/full+profiler at 4 and 8 workers (~25 min;
                       --workers 4,8  --scenarios off,full,full+profiler; --baseline DIR: also run the
                       worker built in DIR next to this build's, e.g. `dotnet build -c Release ObsStack.Worker
                       -o DIR` on an older commit, for before/after ratios within each round, Redis runs
                       included; --redis 1,2: also the Redis job engine with 1 and 2 worker processes on a
                       loopback redis-server, AOF fsync --fsync everysec[,always], WorkerPool:Prefetch
                       --prefetch 0[,4], against the in-process pool in the same rounds)
          throughput   worker jobs/s, CPU and allocations per job: ceiling, off, full, full+profiler (~12 min)
          metrics      /metrics rendering through PrometheusPullExporter.Scrape() (BenchmarkDotNet, ~3 min)
          jobstore     the worker's result store on its hot path (BenchmarkDotNet, ~1 min)
          logline      the per-job JSON console line: the formatter alone, and the whole console path before/after
                       (8 threads into a drained pipe; CPU, allocations, lock contentions per line; BenchmarkDotNet, ~3 min)
          idle         a worker doing nothing, per configuration: the profiler's fixed cost (~12 min)
          deadbackend  one minute of full load with every exporter pointed at a closed port (~1.5 min)
          paired       two configurations at the same time, CPU/job ratio per window (--pair off,full; ~6 min)
          profileshare whose code a loaded worker's pushed profiles show: profiler vs worker frames (~1 min;
                       --rate N: the worker's own load generator at N jobs/s instead of a saturating driver;
                       --liveheap: with the live-heap profile, timing its heap walk)
          all          throughput, paired off,full and full,full+profiler, idle, metrics + jobstore + logline,
                       deadbackend (~50 min)
        Options (throughput, deadbackend, idle):
          --rounds N        rounds of all scenarios (3)          --warmup S     warmup seconds per run (10)
          --windows N       measured windows per run (3)         --window S     seconds per window (15)
          --workers N       WorkerPool:Workers (4)               --duration S   deadbackend load seconds (60)
          --live            deadbackend: also run the same minute against live sinks, for comparison
          idle defaults: --rounds 2, --warmup 10 (settle after start), --window 45 (three upload intervals),
                         --scenarios off,full,full+profiler,full+profiler-3s,full+profiler-cpuonly,full+profiler-continuous
          --pair a,b        paired: baseline,candidate (off,full); windows default to 6
          --scenarios a,b   throughput scenarios (ceiling,off,full,full+profiler); diagnostic ones:
                            traces, logs, metrics, off-nojoblog, full-nojoblog, off-nospans, off-bare, off-nospin,
                            off-inline, full-inline, off-wksgc, full-noexemplars, full-batch2048, full+dashboard,
                            full+profiler-cpuonly, full+profiler-3s, full+profiler-continuous, full+profiler-liveheap
        """;

    public static async Task<int> RunAsync(string[] args)
    {
        if (args.Length == 0 || args[0] is "-h" or "--help")
        {
            Console.WriteLine(Usage);
            return args.Length == 0 ? 1 : 0;
        }

        var suite = args[0];
        var options = ParseOptions(args[1..]);
        switch (suite)
        {
            case "reach":
                await new ReachSuite(ReachOptions(options)).RunAsync();
                return 0;
            case "throughput":
                await new ThroughputSuite(ThroughputOptions(options)).RunAsync();
                return 0;
            case "metrics":
                MicroBenchmarks.Run([typeof(MetricsScrapeBenchmarks)], args[1..]);
                return 0;
            case "jobstore":
                MicroBenchmarks.Run([typeof(JobStoreBenchmarks)], args[1..]);
                return 0;
            case "logline":
                MicroBenchmarks.Run([typeof(LogLineBenchmarks)], args[1..]);
                return 0;
            case "idle":
                await new IdleSuite(IdleOptions(options)).RunAsync();
                return 0;
            case "deadbackend":
                await new DeadBackendSuite(DeadBackendOptions(options)).RunAsync();
                return 0;
            case "paired":
                await new PairedSuite(PairedOptions(options)).RunAsync();
                return 0;
            case "profileshare":
                await new ProfileShareSuite(new ProfileShareSuite.Options(
                    Warmup: TimeSpan.FromSeconds(Int(options, "warmup", 10, 1, 600)),
                    Duration: TimeSpan.FromSeconds(Int(options, "duration", 45, 15, 600)),
                    Workers: Int(options, "workers", 4, 1, 256),
                    Rate: Int(options, "rate", 0, 0, 100_000),
                    LiveHeap: options.ContainsKey("liveheap"))).RunAsync();
                return 0;
            case "all":
                await new ThroughputSuite(ThroughputOptions(options)).RunAsync();
                await new PairedSuite(PairedOptions(options) with { Baseline = Scenario.Off, Candidate = Scenario.Full }).RunAsync();
                if (Scenario.ProfilerInBuild)
                {
                    await new PairedSuite(PairedOptions(options) with { Baseline = Scenario.Full, Candidate = Scenario.FullProfiler }).RunAsync();
                }

                await new IdleSuite(IdleOptions(options)).RunAsync();
                MicroBenchmarks.Run([typeof(MetricsScrapeBenchmarks), typeof(JobStoreBenchmarks), typeof(LogLineBenchmarks)], []);
                await new DeadBackendSuite(DeadBackendOptions(options)).RunAsync();
                return 0;
            default:
                Console.Error.WriteLine($"Unknown suite '{suite}'.");
                Console.WriteLine(Usage);
                return 1;
        }
    }

    private static ThroughputSuite.Options ThroughputOptions(Dictionary<string, string> options) => new(
        Scenarios: options.TryGetValue("scenarios", out var names)
            ? [.. names.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(Scenario.Parse)]
            : [.. Scenario.Default],
        Rounds: Int(options, "rounds", 3, 1, 20),
        Warmup: TimeSpan.FromSeconds(Int(options, "warmup", 10, 1, 120)),
        Windows: Int(options, "windows", 3, 1, 20),
        Window: TimeSpan.FromSeconds(Int(options, "window", DefaultWindowSeconds, 1, 120)),
        Workers: Int(options, "workers", 4, 1, 256));

    private static ReachSuite.Options ReachOptions(Dictionary<string, string> options) => new(
        Scenarios: options.TryGetValue("scenarios", out var names)
            ? [.. names.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(Scenario.Parse)]
            : ReachSuite.DefaultScenarios,
        Workers: [.. (options.GetValueOrDefault("workers") ?? "4,8").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(w => int.TryParse(w, NumberStyles.Integer, CultureInfo.InvariantCulture, out var n) && n is >= 1 and <= 256
                ? n
                : throw new ArgumentException($"--workers takes pool sizes from 1 to 256, comma-separated (4,8); got '{w}'."))],
        Rounds: Int(options, "rounds", 3, 1, 20),
        Warmup: TimeSpan.FromSeconds(Int(options, "warmup", 10, 1, 120)),
        Windows: Int(options, "windows", 3, 1, 20),
        Window: TimeSpan.FromSeconds(Int(options, "window", DefaultWindowSeconds, 1, 120)),
        BaselineWorker: options.TryGetValue("baseline", out var baseline)
            ? Path.Combine(Path.GetFullPath(baseline), "ObsStack.Worker.dll") is var dll && File.Exists(dll)
                ? dll
                : throw new ArgumentException($"--baseline: no ObsStack.Worker.dll in '{baseline}'; build one there with `dotnet build -c Release ObsStack.Worker -o {baseline}`.")
            : null,
        RedisProcesses: Integers(options, "redis", 1, 8, "worker-process counts", "1,2"),
        RedisFsync: options.TryGetValue("fsync", out var fsync)
            ? [.. fsync.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
                .Select(f => f is "everysec" or "always" or "no" ? f : throw new ArgumentException($"--fsync takes everysec, always or no, comma-separated; got '{f}'."))]
            : null,
        RedisPrefetch: Integers(options, "prefetch", 0, 1000, "WorkerPool:Prefetch values", "0,4"));

    /// <summary>A comma-separated list of integers within bounds, e.g. <c>--redis 1,2</c>; null when the option is absent.</summary>
    private static List<int>? Integers(Dictionary<string, string> options, string key, int min, int max, string what, string example) =>
        options.TryGetValue(key, out var list)
            ? [.. list.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
                .Select(p => int.TryParse(p, NumberStyles.Integer, CultureInfo.InvariantCulture, out var n) && n >= min && n <= max
                    ? n
                    : throw new ArgumentException($"--{key} takes {what} from {min} to {max}, comma-separated ({example}); got '{p}'."))]
            : null;

    private static PairedSuite.Options PairedOptions(Dictionary<string, string> options)
    {
        var pair = (options.GetValueOrDefault("pair") ?? "off,full").Split(',', StringSplitOptions.TrimEntries);
        if (pair.Length != 2)
        {
            throw new ArgumentException("--pair takes two scenarios: baseline,candidate (e.g. off,full).");
        }

        return new(Scenario.Parse(pair[0]), Scenario.Parse(pair[1]),
            Rounds: Int(options, "rounds", 3, 1, 20),
            Warmup: TimeSpan.FromSeconds(Int(options, "warmup", 10, 1, 120)),
            Windows: Int(options, "windows", 6, 1, 60),
            Window: TimeSpan.FromSeconds(Int(options, "window", DefaultWindowSeconds, 1, 120)),
            Workers: Int(options, "workers", 4, 1, 256));
    }

    private static IdleSuite.Options IdleOptions(Dictionary<string, string> options) => new(
        Scenarios: options.TryGetValue("scenarios", out var names)
            ? [.. names.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(Scenario.Parse)]
            : IdleSuite.DefaultScenarios,
        Rounds: Int(options, "rounds", 2, 1, 20),
        Settle: TimeSpan.FromSeconds(Int(options, "warmup", 10, 1, 3600)),
        Window: TimeSpan.FromSeconds(Int(options, "window", 3 * DefaultWindowSeconds, 1, 600)));

    private static DeadBackendSuite.Options DeadBackendOptions(Dictionary<string, string> options) => new(
        Duration: TimeSpan.FromSeconds(Int(options, "duration", 60, 5, 600)),
        Workers: Int(options, "workers", 4, 1, 256),
        CompareWithLive: options.ContainsKey("live"));

    private static Dictionary<string, string> ParseOptions(string[] args)
    {
        var options = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        for (var i = 0; i < args.Length; i++)
        {
            // BenchmarkDotNet's own switches (--filter, --job, …) pass through to it; only ours are read here.
            if (args[i].StartsWith("--", StringComparison.Ordinal))
            {
                // "--live" alone is a switch; "--rounds 3" has a value.
                var hasValue = i + 1 < args.Length && !args[i + 1].StartsWith("--", StringComparison.Ordinal);
                options[args[i][2..]] = hasValue ? args[++i] : "true";
            }
        }

        return options;
    }

    private static int Int(Dictionary<string, string> options, string key, int fallback, int min, int max)
    {
        if (!options.TryGetValue(key, out var text))
        {
            return fallback;
        }

        return int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var value) && value >= min && value <= max
            ? value
            : throw new ArgumentException($"--{key} must be a whole number from {min} to {max}; got '{text}'.");
    }
}
