using System.Reflection;
using ObsStack.Benchmarks.Harness;

namespace ObsStack.Benchmarks.Throughput;

/// <summary>
/// One configuration of the worker, expressed only as the configuration keys a user would set (environment form).
/// Every scenario runs the same binary with the same pool settings; only telemetry destinations differ.
/// </summary>
internal sealed record Scenario(string Name, string Meaning, Func<LoopbackPeers, Dictionary<string, string>> Settings, bool NeedsProfiler = false)
{
    public const string Ceiling = "ceiling";

    public bool IsCeiling => Name == Ceiling;

    /// <summary>The worker's configuration for this scenario: the same pool for all, plus the scenario's own keys.</summary>
    public Dictionary<string, string> WorkerSettings(LoopbackPeers peers, int workers, int queueCapacity)
    {
        var settings = new Dictionary<string, string>
        {
            ["OTEL_SERVICE_NAME"] = "worker",
            ["LoadGenerator__Enabled"] = "false",
            ["WorkerPool__Workers"] = workers.ToString(System.Globalization.CultureInfo.InvariantCulture),
            // Room for ten batches of 100: the driver can keep it from ever running dry.
            ["WorkerPool__QueueCapacity"] = queueCapacity.ToString(System.Globalization.CultureInfo.InvariantCulture),
            // The worker fetches only what its allow-list names, by host and port: the loopback peer here.
            ["WorkerPool__AllowedTargetHosts__0"] = peers.BaseAddress.Authority,
        };
        foreach (var (key, value) in Settings(peers))
        {
            settings[key] = value;
        }

        return settings;
    }

    /// <summary>
    /// "off" is the worker with no telemetry destination configured. AddServiceDefaults still does what it always
    /// does: the tracer provider samples and records spans (nothing exports them), the meter provider aggregates every
    /// instrument for the pull reader (<c>/metrics</c> is scraped only at window boundaries; no exemplars, as no OTLP
    /// destination would carry them), and the JSON console log line per job is written (to a pipe the harness drains).
    /// </summary>
    public static readonly Scenario Off = new("off",
        "no exporter: no OTLP endpoint, no profiler; spans recorded but not exported, metrics aggregated for /metrics, JSON console log per job",
        _ => []);

    /// <summary>Traces, logs and metrics to their backend keys, all pointing at the loopback OTLP sink.</summary>
    public static readonly Scenario Full = new("full",
        "off + Telemetry:Traces|Logs|Metrics:OtlpEndpoint → loopback OTLP/HTTP sink (defaults: batch 512, delay 2 s, metrics every 15 s)",
        peers => Otlp(peers, "traces", "logs", "metrics"));

    public static readonly Scenario FullProfiler = new("full+profiler",
        "full + Telemetry:Profiles:PyroscopeEndpoint → loopback Pyroscope push sink (profiler defaults)",
        peers => new(Full.Settings(peers)) { ["Telemetry__Profiles__PyroscopeEndpoint"] = BaseUrl(peers) },
        NeedsProfiler: true);

    public static readonly Scenario CeilingLoop = new(Ceiling,
        "plain HttpClient loop (same handler settings, same concurrency, Server GC) against the same target, no worker",
        _ => []);

    /// <summary>For attributing a cost: each signal alone, and the per-job log line switched off.</summary>
    public static readonly Scenario[] Diagnostic =
    [
        new("traces", "off + Telemetry:Traces:OtlpEndpoint only", peers => Otlp(peers, "traces")),
        new("logs", "off + Telemetry:Logs:OtlpEndpoint only", peers => Otlp(peers, "logs")),
        new("metrics", "off + Telemetry:Metrics:OtlpEndpoint only", peers => Otlp(peers, "metrics")),
        new("off-nojoblog", "off with the per-job log line filtered out (JobRunner at Warning)", _ => new() { [JobLogLevelKey] = "Warning" }),
        new("full-nojoblog", "full with the per-job log line filtered out (JobRunner at Warning)",
            peers => new(Full.Settings(peers)) { [JobLogLevelKey] = "Warning" }),
        new("off-nospin", "off with the thread pool's spinning off (DOTNET_ThreadPool_UnfairSemaphoreSpinLimit=0)",
            _ => new() { ["DOTNET_ThreadPool_UnfairSemaphoreSpinLimit"] = "0" }),
        new("off-inline", "off with socket completions run inline on the epoll thread (DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS=1)",
            _ => new() { ["DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS"] = "1" }),
        new("off-wksgc", "off with workstation GC (DOTNET_gcServer=0) instead of the shipped Server GC",
            _ => new() { ["DOTNET_gcServer"] = "0" }),
        new("full-inline", "full with socket completions run inline on the epoll thread (DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS=1)",
            peers => new(Full.Settings(peers)) { ["DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS"] = "1" }),
        new("full-noexemplars", "full with Telemetry:Metrics:Exemplars=false: no exemplar on any histogram point",
            peers => new(Full.Settings(peers)) { ["Telemetry__Metrics__Exemplars"] = "false" }),
        new("full-batch2048", "full with export batches of 2048 from queues of 8192 (Telemetry:Export:MaxBatchSize, MaxQueueSize): a quarter of the export requests",
            peers => new(Full.Settings(peers)) { ["Telemetry__Export__MaxBatchSize"] = "2048", ["Telemetry__Export__MaxQueueSize"] = "8192" }),
        new("off-nospans", "off with sampling off (OTEL_TRACES_SAMPLER=always_off): no span is recorded",
            _ => new() { ["OTEL_TRACES_SAMPLER"] = "always_off" }),
        new("off-bare", "off with neither spans nor the per-job log line (OTEL_TRACES_SAMPLER=always_off, JobRunner at Warning): the pool, its metrics and HttpClient",
            _ => new() { ["OTEL_TRACES_SAMPLER"] = "always_off", [JobLogLevelKey] = "Warning" }),
        new("full+profiler-cpuonly", "full+profiler with only the CPU profile (Telemetry:Profiles:Allocations, LockContention, Wall, Exceptions false)",
            peers => new(FullProfiler.Settings(peers))
            {
                ["Telemetry__Profiles__Allocations"] = "false",
                ["Telemetry__Profiles__LockContention"] = "false",
                ["Telemetry__Profiles__Wall"] = "false",
                ["Telemetry__Profiles__Exceptions"] = "false",
            },
            NeedsProfiler: true),
        new("full+profiler-liveheap", "full+profiler with the live-heap profile on (Telemetry:Profiles:LiveHeap=true: a heap walk each interval)",
            peers => new(FullProfiler.Settings(peers))
            {
                ["Telemetry__Profiles__LiveHeap"] = "true",
            },
            NeedsProfiler: true),
        new("full+profiler-3s", "full+profiler sampling 3 s of every 15 s instead of 1 s (Telemetry:Profiles:SamplingDuration=00:00:03)",
            peers => new(FullProfiler.Settings(peers))
            {
                ["Telemetry__Profiles__SamplingDuration"] = "00:00:03",
            },
            NeedsProfiler: true),
        new("full+profiler-continuous", "full+profiler sampling the whole interval (Telemetry:Profiles:SamplingDuration=00:00:15)",
            peers => new(FullProfiler.Settings(peers))
            {
                ["Telemetry__Profiles__SamplingDuration"] = "00:00:15",
            },
            NeedsProfiler: true),
        new("full+dashboard", "full + OTEL_EXPORTER_OTLP_ENDPOINT (http/protobuf) → sink: two exporters per signal, as under Aspire",
            peers => new(Full.Settings(peers))
            {
                ["OTEL_EXPORTER_OTLP_ENDPOINT"] = BaseUrl(peers),
                ["OTEL_EXPORTER_OTLP_PROTOCOL"] = "http/protobuf",
            }),
    ];

    public static readonly Scenario[] Default = [CeilingLoop, Off, Full, FullProfiler];

    public static IEnumerable<Scenario> All => [.. Default, .. Diagnostic];

    private const string JobLogLevelKey = "Logging__LogLevel__ObsStack.Worker.Jobs.JobRunner";

    /// <summary>
    /// Whether this build has the profiler (<c>AddContinuousProfiling</c>). Without it the
    /// +profiler scenario is reported as not measured rather than run: it would silently equal "full".
    /// </summary>
    public static bool ProfilerInBuild { get; } =
        Type.GetType("Microsoft.Extensions.Hosting.ProfilingExtensions, ObsStack.Profiling")
            ?.GetMethod("AddContinuousProfiling", BindingFlags.Public | BindingFlags.Static) is not null;

    public static Scenario Parse(string name) =>
        All.FirstOrDefault(s => string.Equals(s.Name, name, StringComparison.OrdinalIgnoreCase))
        ?? throw new ArgumentException($"Unknown scenario '{name}'. Known: {string.Join(", ", All.Select(s => s.Name))}.");

    private static string BaseUrl(LoopbackPeers peers) => peers.BaseAddress.GetLeftPart(UriPartial.Authority);

    private static Dictionary<string, string> Otlp(LoopbackPeers peers, params string[] signals) =>
        signals.ToDictionary(
            signal => $"Telemetry__{char.ToUpperInvariant(signal[0])}{signal[1..]}__OtlpEndpoint",
            signal => peers.Otlp(signal).ToString());
}
