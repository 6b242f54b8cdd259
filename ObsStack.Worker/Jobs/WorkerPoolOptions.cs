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

    /// <summary>
    /// Jobs waiting for a worker; beyond it, intake answers 429 with Retry-After. With Redis it bounds the shared queue
    /// of the whole deployment, not each process.
    /// </summary>
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

    /// <summary>
    /// Recent jobs kept for <c>GET /jobs/{id}</c>; the oldest finished ones are evicted first. With Redis: finished jobs
    /// kept in Redis for the whole deployment (queued and running ones are bounded by the queue and the workers).
    /// </summary>
    [Range(1, 1_000_000)]
    public int ResultCapacity { get; set; } = 10_000;

    /// <summary>
    /// Targets the worker may fetch besides the services it is wired to (<c>services__{name}__*</c>, exact host and
    /// port) and its own <c>/demo/work/{id}</c>: <c>host</c> (ports 80/443), <c>host:port</c>, <c>host:*</c> (any port),
    /// <c>*.domain</c> or <c>*.domain:port</c>. Empty: nothing more. Loopback is no exception: list <c>localhost:8080</c>.
    /// </summary>
    public List<string> AllowedTargetHosts { get; set; } = [];

    /// <summary>
    /// Redis only: runs of one job before it is given up as canceled. A run ends without an outcome when its worker dies
    /// (SIGKILL, OOM, machine lost) or shuts down mid-job; the job then runs again on another worker.
    /// </summary>
    [Range(1, 100)]
    public int MaxAttempts { get; set; } = 3;

    /// <summary>
    /// Redis only: how long a job may stay taken by a worker without an outcome before another worker takes it over
    /// (XAUTOCLAIM). Longer than <see cref="JobTimeout"/>, so a live worker's job is never taken from it.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:01", "01:00:00")]
    public TimeSpan VisibilityTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// Redis only: entries each worker process takes ahead of its busy workers (0: none, a job is taken only for a free
    /// worker). With entries ahead, a worker that finishes starts the next at once and its outcome is written behind,
    /// batched with the others' (1.3 – 1.6× the jobs/s of one process on 2 cores, docs/scaling.md). The price: an entry
    /// taken ahead waits behind running jobs (up to <see cref="JobTimeout"/>), so <see cref="VisibilityTimeout"/> must
    /// then exceed twice <see cref="JobTimeout"/>; its state reads Running from the take.
    /// </summary>
    [Range(0, 1000)]
    public int Prefetch { get; set; }

    /// <summary>Redis only: how long a finished job's state stays readable (a TTL on it), within <see cref="ResultCapacity"/>.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "30.00:00:00")]
    public TimeSpan ResultRetention { get; set; } = TimeSpan.FromHours(1);

    /// <summary>
    /// Redis only: the longest intake or <c>GET /jobs/{id}</c> waits for Redis before answering 503 with Retry-After;
    /// below the api's <c>Api:WorkerTimeout</c> (5 s), so the api passes the 503 through instead of timing out.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00.050", "00:01:00")]
    public TimeSpan EngineTimeout { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>Redis only: the prefix of every key (the stream, the job states); deployments sharing one Redis use different ones.</summary>
    [RegularExpression("^[A-Za-z0-9:_.-]{1,64}$")]
    public string RedisKeyPrefix { get; set; } = "obsstack";
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
