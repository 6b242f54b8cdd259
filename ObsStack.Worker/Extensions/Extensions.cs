using ObsStack.Worker;
using ObsStack.Worker.Jobs;

namespace Microsoft.Extensions.Hosting;

internal static class Extensions
{
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

        services.AddSingleton<WorkerTelemetry>();
        services.AddSingleton<JobQueue>();
        services.AddSingleton<JobStore>();
        services.AddSingleton<TargetAllowList>();
        services.AddSingleton<JobIntake>();
        services.AddSingleton<JobRunner>();
        services.AddHostedService<WorkerPool>();
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
}
