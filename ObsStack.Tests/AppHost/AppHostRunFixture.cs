using Aspire.Hosting;
using Aspire.Hosting.ApplicationModel;
using Aspire.Hosting.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using ObsStack.Tests.Infrastructure;

namespace ObsStack.Tests.AppHost;

/// <summary>
/// The real AppHost, run once for the collection through Aspire.Hosting.Testing: DCP starts worker and api as
/// processes, as F5 does, with the container backends off (what a machine without Docker or Podman gets, forced so
/// the run is the same on every machine), and the Aspire dashboard on loopback ports of its own, receiving the
/// services' telemetry as under F5. The services' backend destinations point at an OTLP receiver on loopback,
/// so the test sees what Tempo, Loki and Prometheus would receive.
/// </summary>
public class AppHostRunFixture : IAsyncLifetime
{
    // Room for DCP's first start and two `dotnet` processes on a loaded two-core machine.
    public static readonly TimeSpan StartTimeout = TimeSpan.FromMinutes(4);

    private OtlpReceiver? _receiver;
    private DistributedApplication? _app;

    /// <summary>The chaos-key parameter's value for this run, given so the run does not generate one into the user secrets.</summary>
    public const string ChaosKey = "apphost-run-chaos-key-0123456789";

    public OtlpReceiver Receiver => _receiver ?? throw new InvalidOperationException("The fixture has not started.");

    public DistributedApplication App => _app ?? throw new InvalidOperationException("The fixture has not started.");

    /// <summary>What the AppHost itself logged (its console lines; the resources' own lines only from warnings up).</summary>
    public LogCapture AppHostLog { get; } = new();

    public virtual async Task InitializeAsync()
    {
        _receiver = await OtlpReceiver.StartAsync();
        using var timeout = new CancellationTokenSource(StartTimeout);
        var appHost = await DistributedApplicationTestingBuilder.CreateAsync<Projects.ObsStack_AppHost>(
            new DistributedApplicationTestingBuilderOptions { EnableDashboard = true },
            [$"--{ContainerBackends.ModeKey}=off", $"--Parameters:chaos-key={ChaosKey}", .. await ArgumentsAsync()], timeout.Token);

        // The AppHost's own log, every resource's console lines and every test request would otherwise be written to
        // the test run's console (thousands of lines a minute); warnings and errors still are.
        appHost.Services.AddLogging(logging => logging
            .AddFilter("Aspire", LogLevel.Warning)
            .AddFilter("System.Net.Http", LogLevel.Warning)
            .AddFilter($"{appHost.Environment.ApplicationName}.Resources", LogLevel.Warning)
            .AddProvider(AppHostLog));

        foreach (var service in appHost.Resources.OfType<ProjectResource>())
        {
            appHost.CreateResourceBuilder(service)
                .WithEnvironment("Telemetry__Traces__OtlpEndpoint", _receiver.TracesEndpoint.ToString())
                .WithEnvironment("Telemetry__Logs__OtlpEndpoint", _receiver.LogsEndpoint.ToString())
                .WithEnvironment("Telemetry__Metrics__OtlpEndpoint", _receiver.MetricsEndpoint.ToString())
                .WithEnvironment("Telemetry__Metrics__ExportInterval", "00:00:01")
                .WithEnvironment("Telemetry__Export__ScheduledDelay", "00:00:00.500");
        }

        _app = await appHost.BuildAsync(timeout.Token);
        await _app.StartAsync(timeout.Token);
        foreach (var service in new[] { "api", "worker" })
        {
            try
            {
                await _app.ResourceNotifications.WaitForResourceHealthyAsync(service, timeout.Token);
            }
            catch (OperationCanceledException) when (timeout.IsCancellationRequested)
            {
                throw new TimeoutException(
                    $"{service} was not healthy within {StartTimeout.TotalMinutes:0} min of the AppHost's start.");
            }
        }
    }

    /// <summary>More AppHost arguments, for a variant of the run.</summary>
    protected virtual Task<string[]> ArgumentsAsync() => Task.FromResult<string[]>([]);

    public virtual async Task DisposeAsync()
    {
        if (_app is not null)
        {
            await _app.StopAsync();
            await _app.DisposeAsync();
        }

        if (_receiver is not null)
        {
            await _receiver.DisposeAsync();
        }
    }
}

/// <summary>
/// The same run with a Redis the user runs (Debian's <c>redis-server</c>, started here) given to the AppHost as
/// <c>ConnectionStrings:redis</c>: DCP starts two worker replicas on it, as <c>WithReplicas</c> declares.
/// </summary>
public sealed class AppHostRedisRunFixture : AppHostRunFixture
{
    private readonly RedisServer _redis = new();

    public bool RedisAvailable => Tools.Find("redis-server") is not null;

    /// <summary>What the AppHost was given as <c>ConnectionStrings:redis</c>.</summary>
    public string RedisConnectionString => _redis.ConnectionString;

    public override async Task InitializeAsync()
    {
        if (!RedisAvailable)
        {
            // The tests skip (or, in CI, fail) saying why; nothing to start.
            return;
        }

        await _redis.InitializeAsync();
        await base.InitializeAsync();
    }

    protected override Task<string[]> ArgumentsAsync() => Task.FromResult<string[]>([$"--ConnectionStrings:redis={_redis.ConnectionString}"]);

    public override async Task DisposeAsync()
    {
        await base.DisposeAsync();
        await _redis.DisposeAsync();
    }
}

[CollectionDefinition(Name)]
public sealed class AppHostRedisRunCollection : ICollectionFixture<AppHostRedisRunFixture>
{
    public const string Name = "AppHost run on Redis";
}

[CollectionDefinition(Name)]
public sealed class AppHostRunCollection : ICollectionFixture<AppHostRunFixture>
{
    public const string Name = "AppHost run";
}
