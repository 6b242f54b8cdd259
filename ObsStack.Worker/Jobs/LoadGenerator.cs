using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.Options;
using ObsStack.ServiceDefaults.Discovery;

namespace ObsStack.Worker.Jobs;

/// <summary>
/// Steady traffic so a freshly started stack has data: <see cref="LoadGeneratorOptions.RatePerSecond"/> jobs per
/// second through <see cref="JobIntake"/>, the same path as <c>POST /jobs</c>. Targets: configured templates, else
/// the api's <c>/data/{id}</c> when wired, else the worker's own <c>/demo/work/{id}</c>.
/// </summary>
public sealed partial class LoadGenerator(
    JobIntake intake,
    IServer server,
    IHostApplicationLifetime lifetime,
    IConfiguration configuration,
    IOptions<LoadGeneratorOptions> options,
    ILogger<LoadGenerator> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var settings = options.Value;
        if (!settings.Enabled)
        {
            LogDisabled();
            return;
        }

        // The worker's own address is known only once the server listens.
        if (!await WaitForStartAsync(stoppingToken))
        {
            return;
        }

        var targets = ResolveTargets(settings);
        if (targets.Count == 0)
        {
            LogNoTarget();
            return;
        }

        LogStarted(settings.RatePerSecond, string.Join(", ", targets));
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(1 / settings.RatePerSecond));
        var refusedInARow = 0;
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                var template = targets[Random.Shared.Next(targets.Count)];
                var url = template.Replace("{id}", Random.Shared.Next(1, 1000).ToString(), StringComparison.Ordinal);
                switch (await intake.SubmitAsync([url], stoppingToken))
                {
                    case IntakeResult.Invalid invalid:
                        LogInvalidTarget(url, string.Join("; ", invalid.Errors.SelectMany(e => e.Value)));
                        return;
                    case IntakeResult.Refused { Reason: EnqueueOutcome.ShuttingDown }:
                        // The pool drains before this service is stopped; nothing more to send.
                        return;
                    case IntakeResult.Refused:
                        // Queue full or engine unavailable: counted in jobs_rejected_total; logged once per backlog, not per tick.
                        if (refusedInARow++ == 0)
                        {
                            LogBackedOff();
                        }

                        break;
                    default:
                        refusedInARow = 0;
                        break;
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    internal List<string> ResolveTargets(LoadGeneratorOptions settings)
    {
        if (settings.Targets.Count > 0)
        {
            return settings.Targets;
        }

        if (ServiceEndpoints.Resolve(configuration, "api") is { } api)
        {
            return [new Uri(api, "/data/{id}").ToString().Replace("%7Bid%7D", "{id}", StringComparison.Ordinal)];
        }

        var self = server.Features.Get<IServerAddressesFeature>()?.Addresses.FirstOrDefault();
        return self is null ? [] : [$"{LocalAddress(self)}/demo/work/{{id}}"];
    }

    /// <summary><c>http://+:8080</c>, <c>http://[::]:8080</c> and <c>http://0.0.0.0:8080</c> are reached through localhost.</summary>
    internal static string LocalAddress(string bound)
    {
        var uri = new Uri(bound.Replace("://+", "://localhost").Replace("://*", "://localhost"));
        var host = uri.Host is "[::]" or "0.0.0.0" ? "localhost" : uri.Host;
        return $"{uri.Scheme}://{(host.Contains(':') && !host.StartsWith('[') ? $"[{host}]" : host)}:{uri.Port}";
    }

    private async Task<bool> WaitForStartAsync(CancellationToken stoppingToken)
    {
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var onStarted = lifetime.ApplicationStarted.Register(() => started.TrySetResult());
        using var onStopping = stoppingToken.Register(() => started.TrySetCanceled());
        try
        {
            await started.Task;
            return true;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Load generator off (LoadGenerator:Enabled=false)")]
    private partial void LogDisabled();

    [LoggerMessage(Level = LogLevel.Warning, Message = "Load generator has no target: set LoadGenerator:Targets")]
    private partial void LogNoTarget();

    [LoggerMessage(Level = LogLevel.Information, Message = "Load generator started: {RatePerSecond} jobs/s against {Targets}")]
    private partial void LogStarted(double ratePerSecond, string targets);

    [LoggerMessage(Level = LogLevel.Error, Message = "Load generator stopped: target {Url} is refused by intake ({Errors}). Fix LoadGenerator:Targets or WorkerPool:AllowedTargetHosts")]
    private partial void LogInvalidTarget(string url, string errors);

    [LoggerMessage(Level = LogLevel.Information, Message = "Load generator backing off: the job queue is full (counted in jobs_rejected_total)")]
    private partial void LogBackedOff();
}
