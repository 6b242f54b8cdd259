using Microsoft.Extensions.Hosting;
using OpenTelemetry.Metrics;
using OpenTelemetry.Trace;

namespace ObsStack.ServiceDefaults.Telemetry;

/// <summary>
/// Flushes traces and metrics when the host stops. Registered by ServiceDefaults before the service's own hosted
/// services, so it stops after them (the host stops in reverse order): after the worker pool has recorded every job's
/// outcome, while logging still works. Bounded, so a dead backend cannot hold up shutdown; the providers' disposal
/// with the container then shuts every exporter down.
/// </summary>
internal sealed class TelemetryFlushOnStop(TracerProvider? tracing = null, MeterProvider? metrics = null) : IHostedService
{
    private const int FlushTimeoutMilliseconds = 2000;

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StopAsync(CancellationToken cancellationToken)
    {
        tracing?.ForceFlush(FlushTimeoutMilliseconds);
        metrics?.ForceFlush(FlushTimeoutMilliseconds);
        return Task.CompletedTask;
    }
}
