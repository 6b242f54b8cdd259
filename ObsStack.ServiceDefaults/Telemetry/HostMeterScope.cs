using System.Diagnostics.Metrics;
using Microsoft.Extensions.DependencyInjection;
using OpenTelemetry.Metrics;

namespace ObsStack.ServiceDefaults.Telemetry;

/// <summary>
/// A meter provider listens to meters by name, process-wide. When two hosts share a process (in-process test hosts,
/// or a tool that runs several services), each host's <c>IMeterFactory</c> creates its own <c>ObsStack.Worker</c> or
/// <c>Microsoft.AspNetCore.Hosting</c> meter, and each provider would see both: one host's <c>/metrics</c> would
/// report the other's requests. This view keeps an instrument of a factory-made meter only when the factory is this
/// host's; process-global meters such as <c>System.Runtime</c> have no scope and are kept.
/// </summary>
internal sealed class HostMeterScope
{
    private IMeterFactory? _factory;

    /// <summary>Runs as "instrumentation", i.e. while the provider is built and before it listens to any instrument.</summary>
    public object Attach(IServiceProvider services)
    {
        _factory = services.GetRequiredService<IMeterFactory>();
        return this;
    }

    public MetricStreamConfiguration? Filter(Instrument instrument) =>
        instrument.Meter.Scope is IMeterFactory owner && _factory is not null && !ReferenceEquals(owner, _factory)
            ? MetricStreamConfiguration.Drop
            : null;
}
