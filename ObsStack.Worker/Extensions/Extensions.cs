using ObsStack.Worker;
using ObsStack.Worker.Jobs;
using ObsStack.Worker.Jobs.Redis;
using StackExchange.Redis;

namespace Microsoft.Extensions.Hosting;

internal static class Extensions
{
    /// <summary>The connection string Aspire injects for a resource named <c>redis</c>; set, Redis is the job engine.</summary>
    public const string RedisConnectionName = "redis";

    /// <summary>The worker's own registrations: the pool, its queue and store, job intake and the load generator.</summary>
    public static IHostApplicationBuilder AddWorkerServices(this IHostApplicationBuilder builder)
    {
        var services = builder.Services;

        services.AddOptions<WorkerPoolOptions>()
            .BindConfiguration(WorkerPoolOptions.SectionName)
            .ValidateDataAnnotations()
            .Validate(o => o.ResultCapacity >= o.QueueCapacity + o.Workers,
                $"{WorkerPoolOptions.SectionName}:ResultCapacity must be at least QueueCapacity + Workers, so no accepted job is evicted before it is done.")
            .Validate(o => o.AllowedTargetHosts.All(TargetAllowList.IsValidEntry),
                $"{WorkerPoolOptions.SectionName}:AllowedTargetHosts: each entry is host (ports 80/443), host:port, host:* or *.domain[:port]; IPv6 as [::1]:port.")
            .ValidateOnStart();
        services.AddOptions<LoadGeneratorOptions>()
            .BindConfiguration(LoadGeneratorOptions.SectionName)
            .ValidateDataAnnotations()
            .ValidateOnStart();

        // The pool must finish or cancel in-flight jobs within its grace period; give the host a little more.
        services.Configure<HostOptions>(host =>
        {
            var grace = builder.Configuration.GetValue($"{WorkerPoolOptions.SectionName}:{nameof(WorkerPoolOptions.ShutdownGracePeriod)}", WorkerPoolOptions.DefaultShutdownGracePeriod);
            host.ShutdownTimeout = grace + TimeSpan.FromSeconds(5);
        });

        services.AddSingleton(TimeProvider.System);
        services.AddSingleton<WorkerTelemetry>();
        services.AddSingleton<TargetAllowList>();
        services.AddSingleton<JobIntake>();
        services.AddSingleton<JobRunner>();
        if (string.IsNullOrWhiteSpace(builder.Configuration.GetConnectionString(RedisConnectionName)))
        {
            builder.AddInProcessJobEngine();
        }
        else
        {
            builder.AddRedisJobEngine();
        }

        services.AddHostedService<LoadGenerator>();

        // A job fetches a URL that passed the allow-list, as it is: no service discovery (the defaults add it to every
        // client; a job URL naming a service must not be re-resolved past the allow-list) and no logging handlers (a
        // log scope and two filtered-out lines per fetch; the job logs its own line). Spans and http.client.* metrics
        // come from the primary handler and stay (JobFetchTests).
        services.AddHttpClient(JobRunner.HttpClientName)
            .RemoveAllLoggers()
            .ConfigureAdditionalHttpMessageHandlers((handlers, _) => handlers.Clear())
            .ConfigurePrimaryHttpMessageHandler(() => new SocketsHttpHandler
            {
                // Redirects are not followed: a redirect to a host off the allow-list would bypass it (SSRF).
                AllowAutoRedirect = false,
                PooledConnectionLifetime = TimeSpan.FromMinutes(2),
                ConnectTimeout = TimeSpan.FromSeconds(5),
            });

        return builder;
    }

    /// <summary>One process' bounded queue and store, and the pool that reads them: the default, with nothing to set up.</summary>
    private static void AddInProcessJobEngine(this IHostApplicationBuilder builder)
    {
        var services = builder.Services;
        services.AddSingleton<JobQueue>();
        services.AddSingleton<JobStore>();
        services.AddSingleton<IJobStateSink>(sp => sp.GetRequiredService<JobStore>());
        services.AddSingleton<IJobEngine, InProcessJobEngine>();
        services.AddHostedService<WorkerPool>();
    }

    /// <summary>
    /// The queue and the job states in Redis, shared by every worker and api: Aspire's client (health check on
    /// <c>/health</c>, Redis spans in the job's trace) with settings that make an unreachable Redis a quick, clean
    /// refusal rather than a request that waits for it.
    /// </summary>
    private static void AddRedisJobEngine(this IHostApplicationBuilder builder)
    {
        var engineTimeout = builder.Configuration.GetValue($"{WorkerPoolOptions.SectionName}:{nameof(WorkerPoolOptions.EngineTimeout)}", new WorkerPoolOptions().EngineTimeout);
        builder.AddRedisClient(RedisConnectionName, configureOptions: redis =>
        {
            // Keep reconnecting in the background instead of failing the start; commands issued while disconnected
            // fail at once (not queued to run later): a 503 must mean nothing was queued.
            redis.AbortOnConnectFail = false;
            redis.BacklogPolicy = BacklogPolicy.FailFast;
            redis.AsyncTimeout = (int)Math.Max(50, engineTimeout.TotalMilliseconds);
            redis.ConnectTimeout = (int)Math.Max(1000, engineTimeout.TotalMilliseconds);
            // Replies are read on the .NET thread pool rather than the client's own dedicated threads, one hand-off less
            // per round trip: the worker's CPU per job falls by a quarter to two fifths (the reach benchmark, --redis 1;
            // docs/scaling.md). The dedicated threads guard against a thread pool starved by blocking calls, which this
            // fully asynchronous worker does not make.
            redis.SocketManager = SocketManager.ThreadPool;
        });

        var services = builder.Services;
        services.AddOptions<WorkerPoolOptions>()
            .Validate(o => o.VisibilityTimeout > o.JobTimeout + TimeSpan.FromSeconds(1),
                $"{WorkerPoolOptions.SectionName}:VisibilityTimeout must exceed JobTimeout by more than a second, so a running job is never taken from a live worker.")
            .Validate(o => o.Prefetch == 0 || o.VisibilityTimeout > 2 * o.JobTimeout + TimeSpan.FromSeconds(1),
                $"{WorkerPoolOptions.SectionName}:VisibilityTimeout must exceed twice JobTimeout by more than a second with Prefetch on: an entry taken ahead may wait for a running job before its own run.");
        services.AddSingleton<RedisJobEngine>();
        services.AddSingleton<IJobEngine>(sp => sp.GetRequiredService<RedisJobEngine>());
        services.AddSingleton<IJobStateSink>(sp => sp.GetRequiredService<RedisJobEngine>());
        services.AddHostedService<RedisWorkerPool>();
    }
}
