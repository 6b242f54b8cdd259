using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using System.Diagnostics.Tracing;
using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using ObsStack.Profiling;
using ObsStack.ServiceDefaults.Telemetry;
using ObsStack.Tests.Infrastructure;

namespace ObsStack.Tests.Profiling;

/// <summary>
/// The profiler is process-wide (one EventPipe session samples every thread of the process), so tests that start it
/// must not overlap with each other.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class ProfilerCollection
{
    public const string Name = "Continuous profiler";
}

/// <summary>
/// A real web service on a free loopback port with <c>AddContinuousProfiling()</c>, as a service would use it, plus
/// what the tests observe from outside: its log lines, the profiler's counters, and <c>GET /ping</c>.
/// </summary>
internal sealed class ProfiledApp : IAsyncDisposable
{
    public const string ServiceName = "profiled-test";
    public const string ServiceVersion = "1.2.3";
    public const string Environment = "test";
    public const string InstanceId = "instance-42";

    private readonly MeterListener _meters = new();
    private readonly ConcurrentDictionary<string, long> _counters = new();

    private ProfiledApp(WebApplication app, LogCapture logs)
    {
        App = app;
        Logs = logs;
        var meterFactory = app.Services.GetRequiredService<IMeterFactory>();
        _meters.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument.Meter.Name == ProfilingTelemetry.MeterName && instrument.Meter.Scope == meterFactory)
            {
                listener.EnableMeasurementEvents(instrument);
            }
        };
        _meters.SetMeasurementEventCallback<long>((instrument, value, _, _) => _counters.AddOrUpdate(instrument.Name, value, (_, sum) => sum + value));
        _meters.Start();
    }

    public WebApplication App { get; }

    public LogCapture Logs { get; }

    public string BaseAddress => App.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single();

    public long Counter(string name) => _counters.GetValueOrDefault(name);

    public static async Task<ProfiledApp> StartAsync(IDictionary<string, string?> profileSettings)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseKestrel(k => k.Listen(IPAddress.Loopback, 0));
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["OTEL_SERVICE_NAME"] = ServiceName,
            // Over the appsettings.json the services' projects copy into the test output.
            ["Logging:LogLevel:Default"] = "Debug",
            ["OTEL_RESOURCE_ATTRIBUTES"] = $"service.version={ServiceVersion},deployment.environment.name={Environment},service.instance.id={InstanceId}",
        });
        builder.Configuration.AddInMemoryCollection(profileSettings.ToDictionary(kv => $"{ProfilingOptions.SectionName}:{kv.Key}", kv => kv.Value));
        var logs = new LogCapture();
        builder.Logging.ClearProviders().AddProvider(logs).SetMinimumLevel(LogLevel.Debug);

        builder.AddContinuousProfiling(ServiceIdentity.FromConfiguration(builder.Configuration, builder.Environment).Attributes());

        var app = builder.Build();
        app.MapGet("/ping", () => "pong");
        var profiled = new ProfiledApp(app, logs);
        try
        {
            await app.StartAsync();
        }
        catch
        {
            // Not started, so nothing to stop (Host.StopAsync would fail on the missing hosted services).
            await app.DisposeAsync();
            profiled._meters.Dispose();
            throw;
        }

        return profiled;
    }

    public async ValueTask DisposeAsync()
    {
        await App.StopAsync();
        await App.DisposeAsync();
        _meters.Dispose();
    }
}

/// <summary>
/// Whether an EventPipe session is enabling the profiler's providers, as the runtime itself reports it: the CLR
/// runtime provider's JIT keyword (which the profiler needs to name methods) and the profiler's own provider. Both are
/// enabled by the runtime when a session asks for them and disabled when it ends, whatever the profiler thinks.
/// </summary>
internal sealed class EventPipeProbe : EventListener
{
    private const EventKeywords JitKeyword = (EventKeywords)0x10;
    private EventSource? _runtime;

    /// <summary>Any of the profiler's sessions: a sampling session, or the JIT/loader session its method catalog keeps open.</summary>
    public bool SessionIsOpen =>
        SamplingSessionIsOpen || (_runtime?.IsEnabled(EventLevel.Verbose, JitKeyword) ?? false);

    /// <summary>
    /// A sampling session (with CPU and span profiles on): the profiler's own provider is enabled only by those. The
    /// JIT keyword alone says nothing about sampling any more: the method catalog's session keeps it on all the time.
    /// </summary>
    public bool SamplingSessionIsOpen => ProfilingEventSource.Log.IsEnabled();

    protected override void OnEventSourceCreated(EventSource eventSource)
    {
        // Observing only: this listener never enables anything, so it cannot be what makes IsEnabled true.
        if (eventSource.Name == "Microsoft-Windows-DotNETRuntime")
        {
            _runtime = eventSource;
        }
    }
}
