using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using ObsStack.Profiling;

namespace Microsoft.Extensions.Hosting;

/// <summary>The profiler's one entry point.</summary>
public static class ProfilingExtensions
{
    /// <summary>
    /// Adds continuous profiling: the process samples itself through EventPipe (on-CPU and wall-clock managed stacks,
    /// allocations, lock contention, thrown exceptions; live heap by type on request) and pushes one pprof profile per
    /// type to Pyroscope every
    /// <c>Telemetry:Profiles:UploadInterval</c> (default 15 s), labelled with the same <c>service_name</c> as the
    /// service's metrics, logs and traces. Root spans get a <c>pyroscope.profile.id</c> tag and CPU samples a
    /// <c>span_id</c> label, so Grafana can open the flame graph of a trace.
    /// </summary>
    /// <remarks>
    /// Configuration section <c>Telemetry:Profiles</c>: <c>PyroscopeEndpoint</c> (base URL; without it nothing is
    /// started), <c>Enabled</c>, <c>UploadInterval</c>, <c>SamplingDuration</c>, <c>Cpu</c>, <c>Wall</c>,
    /// <c>Allocations</c>, <c>LiveHeap</c>, <c>LockContention</c>, <c>Exceptions</c>, <c>SpanProfiles</c>. Invalid values fail at start-up with the key named. Pyroscope
    /// being down never affects the service: profiles are dropped and counted (<c>profiler.uploads.dropped</c> on
    /// meter <c>ObsStack.Profiling</c>) and one warning is logged.
    /// </remarks>
    /// <param name="builder">The service's host builder.</param>
    /// <param name="resource">
    /// The service's OpenTelemetry resource attributes: <c>service.name</c> (required), <c>service.version</c>,
    /// <c>deployment.environment.name</c> and <c>service.instance.id</c> become the profiles' series labels, so the
    /// profiles belong to the same service as the other signals.
    /// </param>
    public static TBuilder AddContinuousProfiling<TBuilder>(this TBuilder builder, IEnumerable<KeyValuePair<string, object>> resource)
        where TBuilder : IHostApplicationBuilder
    {
        var service = ProfiledService.FromResource(resource);
        builder.Services.AddOptions<ProfilingOptions>()
            .BindConfiguration(ProfilingOptions.SectionName)
            .ValidateDataAnnotations()
            .ValidateOnStart();
        builder.Services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<ProfilingOptions>, ProfilingOptionsValidator>());

        builder.Services.TryAddSingleton(service);
        builder.Services.TryAddSingleton<ProfilingTelemetry>();

        // Registered unconditionally and decided at run time: configuration added after this call (test hosts,
        // later providers) still counts. Without an endpoint, or with Enabled=false, the service returns at once
        // and no EventPipe session is ever opened.
        builder.Services.AddHostedService<ContinuousProfiler>();
        return builder;
    }
}
