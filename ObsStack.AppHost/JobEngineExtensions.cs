using Aspire.Hosting.ApplicationModel;
using Aspire.Hosting.Eventing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Aspire.Hosting;

/// <summary>
/// The worker pool's job engine: Redis when one can run (a container) or is given (<c>ConnectionStrings:redis</c>),
/// so that several worker replicas share one queue and every job state; else the worker's embedded in-process pool,
/// one replica. docs/scaling.md explains the choice and the guarantees.
/// </summary>
public static class JobEngineExtensions
{
    /// <summary>The resource name, and so the connection string name (<c>ConnectionStrings:redis</c>) the worker reads.</summary>
    public const string RedisName = "redis";

    /// <summary>Worker replicas when Redis is the engine (<c>WithReplicas</c>); without Redis there is one.</summary>
    public const string ReplicasKey = "ObsStack:WorkerReplicas";

    public const int DefaultReplicas = 2;

    // Fully qualified, so that Podman (no default search registry) pulls the same image as Docker.
    private const string RedisRegistry = "docker.io";
    private const string RedisImage = "library/redis";
    private const string RedisTag = "8.2.2";

    /// <summary>
    /// Declares the job engine: a Redis container (pinned image, data in a named volume) when containers can run, a
    /// Redis the user runs when <c>ConnectionStrings:redis</c> is given to the AppHost, else nothing — the worker then
    /// runs its in-process pool, and the console says so once.
    /// </summary>
    public static IResourceBuilder<IResourceWithConnectionString>? AddJobEngine(this IDistributedApplicationBuilder builder, bool containers)
    {
        if (containers)
        {
            // The volume keeps queued jobs and states across a restart; the append-only file (fsync every second, on
            // top of the snapshots WithDataVolume turns on) bounds what a crash of Redis loses to about a second.
            return builder.AddRedis(RedisName)
                .WithImageRegistry(RedisRegistry)
                .WithImage(RedisImage, RedisTag)
                .WithDataVolume()
                .WithArgs("--appendonly", "yes", "--appendfsync", "everysec");
        }

        if (!string.IsNullOrWhiteSpace(builder.Configuration.GetConnectionString(RedisName)))
        {
            // The connection string itself is not repeated: it may hold a password.
            builder.SayAtStart(
                $"Job engine: the Redis given as ConnectionStrings:{RedisName}, one queue shared by the worker replicas "
                + $"({ReplicasKey}; docs/scaling.md).");
            return builder.AddConnectionString(RedisName);
        }

        builder.SayAtStart(
            "No Redis: one worker runs the embedded in-process job pool. For several worker replicas sharing one "
            + "queue, start Docker or Podman, or give the AppHost ConnectionStrings:redis (docs/scaling.md).");
        return null;
    }

    /// <summary>One line on the AppHost's console when the application starts.</summary>
    private static void SayAtStart(this IDistributedApplicationBuilder builder, string line) =>
        builder.Eventing.Subscribe<BeforeStartEvent>((started, _) =>
        {
            started.Services.GetRequiredService<ILoggerFactory>().CreateLogger("ObsStack.AppHost").LogInformation(line);
            return Task.CompletedTask;
        });

    /// <summary>
    /// Wires the worker to the job engine: the Redis connection string, waiting for a Redis container to be healthy,
    /// and <see cref="ReplicasKey"/> replicas (default <see cref="DefaultReplicas"/>). Without an engine: unchanged.
    /// </summary>
    public static IResourceBuilder<ProjectResource> WithJobEngine(
        this IResourceBuilder<ProjectResource> worker, IResourceBuilder<IResourceWithConnectionString>? redis)
    {
        if (redis is null)
        {
            return worker;
        }

        var replicas = worker.ApplicationBuilder.Configuration.GetValue(ReplicasKey, DefaultReplicas);
        if (replicas is < 1 or > 64)
        {
            throw new InvalidOperationException($"{ReplicasKey} is {replicas}; use 1 to 64.");
        }

        worker.WithReference(redis).WithReplicas(replicas);
        // A Redis the user runs is not a resource Aspire starts: there is nothing to wait for.
        return redis.Resource is RedisResource ? worker.WaitFor(redis) : worker;
    }
}
