using System.ComponentModel.DataAnnotations;

namespace ObsStack.Worker.Jobs;

/// <summary>Configuration section <c>WorkerPool</c>.</summary>
public sealed class WorkerPoolOptions
{
    public const string SectionName = "WorkerPool";
    public static readonly TimeSpan DefaultShutdownGracePeriod = TimeSpan.FromSeconds(10);

    /// <summary>Fixed number of workers: at most this many jobs run at once.</summary>
    [Range(1, 256)]
    public int Workers { get; set; } = 4;

    /// <summary>Jobs waiting for a worker; beyond it, intake answers 429 with Retry-After.</summary>
    [Range(1, 100_000)]
    public int QueueCapacity { get; set; } = 100;

    /// <summary>URLs accepted in one <c>POST /jobs</c>.</summary>
    [Range(1, 1_000)]
    public int MaxBatchSize { get; set; } = 100;

    /// <summary>Whole-job deadline: connect, headers and body.</summary>
    [Range(typeof(TimeSpan), "00:00:00.010", "00:10:00")]
    public TimeSpan JobTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>On shutdown, how long in-flight jobs may run before they are canceled.</summary>
    [Range(typeof(TimeSpan), "00:00:00", "00:05:00")]
    public TimeSpan ShutdownGracePeriod { get; set; } = DefaultShutdownGracePeriod;

    /// <summary>Recent jobs kept for <c>GET /jobs/{id}</c>; the oldest finished ones are evicted first.</summary>
    [Range(1, 1_000_000)]
    public int ResultCapacity { get; set; } = 10_000;

    /// <summary>
    /// Targets the worker may fetch besides the services it is wired to (<c>services__{name}__*</c>, exact host and
    /// port) and its own <c>/demo/work/{id}</c>: <c>host</c> (ports 80/443), <c>host:port</c>, <c>host:*</c> (any port),
    /// <c>*.domain</c> or <c>*.domain:port</c>. Empty: nothing more. Loopback is no exception: list <c>localhost:8080</c>.
    /// </summary>
    public List<string> AllowedTargetHosts { get; set; } = [];
}

/// <summary>Configuration section <c>LoadGenerator</c>.</summary>
public sealed class LoadGeneratorOptions
{
    public const string SectionName = "LoadGenerator";

    public bool Enabled { get; set; } = true;

    [Range(0.1, 1_000)]
    public double RatePerSecond { get; set; } = 5;

    /// <summary>
    /// URL templates; <c>{id}</c> becomes a random id. Empty: the api's <c>/data/{id}</c> when the worker is wired to
    /// it, else the worker's own <c>/demo/work/{id}</c>.
    /// </summary>
    public List<string> Targets { get; set; } = [];
}
