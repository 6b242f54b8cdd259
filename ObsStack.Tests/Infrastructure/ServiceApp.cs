using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using ObsStack.ServiceDefaults.Logging;

namespace ObsStack.Tests.Infrastructure;

/// <summary>
/// A service's real <c>Program</c> on real Kestrel at a free loopback port, with configuration overrides.
/// <typeparamref name="TMarker"/> is any public type of the service's assembly (both services have a global <c>Program</c>).
/// </summary>
public class ServiceApp<TMarker> : WebApplicationFactory<TMarker> where TMarker : class
{
    private readonly Dictionary<string, string?> _settings;
    private readonly int _port;

    /// <param name="settings">Configuration overrides.</param>
    /// <param name="port">A loopback port chosen beforehand (a peer's allow-list must name it before this starts); 0: any free one.</param>
    public ServiceApp(IDictionary<string, string?>? settings = null, int port = 0)
    {
        _settings = new Dictionary<string, string?>(settings ?? new Dictionary<string, string?>());
        _port = port;
        // UseKestrel(port) would rewrite the server's addresses after Build(), racing the minimal-hosting Program,
        // which may already be inside app.Run() ("Addresses cannot be modified after the server has started": a CI
        // failure of WorkerFailureTests); the port goes in through the "urls" setting instead.
        UseKestrel();
    }

    /// <summary>The address Kestrel really listens on (valid after <see cref="Start"/>).</summary>
    public Uri Address { get; private set; } = null!;

    public ServiceApp<TMarker> Start()
    {
        StartServer();
        var address = Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        Address = new Uri(address.Replace("[::1]", "127.0.0.1"));
        return this;
    }

    /// <summary>Every log line the service wrote (all categories, all levels).</summary>
    public LogCapture Logs { get; } = new();

    /// <summary>Set before <see cref="Start"/>: the service's console lines go here (without it they are dropped).</summary>
    public Stream? ConsoleOutput { get; init; }

    public HttpClient Client() => new() { BaseAddress = Address, Timeout = TimeSpan.FromSeconds(30) };

    public T Get<T>() where T : notnull => Services.GetRequiredService<T>();

    /// <summary>
    /// Stops the service as a shutdown signal does (graceful: intake closes, in-flight jobs get their grace period):
    /// the application is asked to stop and Program's <c>app.Run()</c> stops the host, once. Completes when the host
    /// has stopped; Program then disposes it, so read services before, or in an <c>ApplicationStopped</c> callback.
    /// (Calling <c>IHost.StopAsync</c> here made two stops: Program's returned at once and disposed the host while this
    /// one was still draining — ObjectDisposedException and null scrapes in WorkerPoolTests under a loaded suite.)
    /// </summary>
    public Task StopAsync()
    {
        var lifetime = Services.GetRequiredService<IHostApplicationLifetime>();
        var stopped = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        lifetime.ApplicationStopped.Register(() => stopped.TrySetResult());
        lifetime.StopApplication();
        return stopped.Task;
    }

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        builder.UseEnvironment("Testing");
        builder.UseSetting("urls", $"http://127.0.0.1:{_port}");
        builder.ConfigureLogging(logging => logging.AddProvider(Logs));
        // Without a capture the lines are dropped, not written to the test run's console: `dotnet test` prints the test
        // process's output at the verbosity that shows skip reasons, and every request's line would bury them.
        // Logs has every line for the assertions.
        var console = ConsoleOutput ?? Stream.Null;
        builder.ConfigureTestServices(services =>
            services.AddSingleton(new BatchingLineWriter(console, TextWriter.Null, new JsonLinesConsoleLoggerOptions().MaxPendingBytes)));

        // UseSetting (not ConfigureAppConfiguration): ServiceDefaults reads some keys while Program.cs runs, before Build().
        foreach (var (key, value) in _settings)
        {
            builder.UseSetting(key, value);
        }
    }
}

/// <summary>
/// The worker with quiet defaults for tests: no load generator unless asked, service name "worker". Its job client
/// reaches loopback only (<see cref="LoopbackOnly"/>), whatever the allow-list under test lets through.
/// </summary>
public sealed class WorkerApp(IDictionary<string, string?>? settings = null, int port = 0)
    : ServiceApp<ObsStack.Worker.WorkerTelemetry>(Merge(settings), port)
{
    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        base.ConfigureWebHost(builder);
        builder.ConfigureTestServices(services => services.AddHttpClient(ObsStack.Worker.Jobs.JobRunner.HttpClientName)
            .ConfigurePrimaryHttpMessageHandler((handler, _) => ((SocketsHttpHandler)handler).ConnectCallback = LoopbackOnly.ConnectAsync));
    }

    private static Dictionary<string, string?> Merge(IDictionary<string, string?>? settings)
    {
        var merged = new Dictionary<string, string?>
        {
            ["OTEL_SERVICE_NAME"] = "worker",
            ["LoadGenerator:Enabled"] = "false",
            ["Logging:LogLevel:Default"] = "Warning",
            ["Logging:LogLevel:ObsStack"] = "Information",
        };
        foreach (var (key, value) in settings ?? new Dictionary<string, string?>())
        {
            merged[key] = value;
        }

        return merged;
    }
}
