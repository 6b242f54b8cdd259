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
internal sealed class TelemetryStartup(IServiceProvider services) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        services.GetService<TracerProvider>();
        services.GetService<MeterProvider>();
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken)
    {
        // Flush while the rest of the host (logging included) is still alive; disposal later is then quick.
        services.GetService<TracerProvider>()?.ForceFlush(2000);
        services.GetService<MeterProvider>()?.ForceFlush(2000);
        return Task.CompletedTask;
    }
}
