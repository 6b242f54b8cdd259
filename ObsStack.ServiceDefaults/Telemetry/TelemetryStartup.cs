using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using OpenTelemetry;
using OpenTelemetry.Metrics;
using OpenTelemetry.Trace;

namespace ObsStack.ServiceDefaults.Telemetry;

/// <summary>The <see cref="IOpenTelemetryBuilder"/> the SDK's <c>WithTracing/WithMetrics/WithLogging</c> extend.</summary>
/// <remarks>OpenTelemetry.Extensions.Hosting normally provides this and the hosted service below; it is not on every feed.</remarks>
internal sealed class OpenTelemetryServicesBuilder(IServiceCollection services) : IOpenTelemetryBuilder
{
    public IServiceCollection Services { get; } = services;
}

/// <summary>
/// Builds the tracer and meter providers when the host starts (so listeners are attached before the first request).
/// The container disposes them after the host has stopped, which flushes every exporter once, bounded by its timeout.
/// </summary>
internal sealed class TelemetryStartup(IServiceProvider services, TelemetryInstruments instruments) : IHostedService
{
    private TracerProvider? _tracing;
    private MeterProvider? _metrics;

    public Task StartAsync(CancellationToken cancellationToken)
    {
        // ServiceDefaults' own instruments (process.uptime, telemetry.export.dropped) exist from the start.
        GC.KeepAlive(instruments);
        _tracing = services.GetService<TracerProvider>();
        _metrics = services.GetService<MeterProvider>();
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken)
    {
        // Runs last (hosted services stop in reverse order): after the worker pool has recorded every job's outcome,
        // while logging is still alive. Bounded, so a dead backend cannot hold up shutdown.
        _tracing?.ForceFlush(2000);
        _metrics?.ForceFlush(2000);
        return Task.CompletedTask;
    }
}
