using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using ObsStack.ServiceDefaults.Profiling;
using ObsStack.ServiceDefaults.Telemetry;

namespace Microsoft.Extensions.Hosting;

public static partial class Extensions
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
    public static TBuilder AddContinuousProfiling<TBuilder>(this TBuilder builder) where TBuilder : IHostApplicationBuilder
    {
        builder.Services.AddOptions<ProfilingOptions>()
            .BindConfiguration(ProfilingOptions.SectionName)
            .ValidateDataAnnotations()
            .ValidateOnStart();
        builder.Services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<ProfilingOptions>, ProfilingOptionsValidator>());

        // The identity every signal uses (one registration, whichever of telemetry and profiling comes first).
        ServiceIdentity.Register(builder);
        builder.Services.TryAddSingleton<ProfilingTelemetry>();

        // Registered unconditionally and decided at run time: configuration added after this call (test hosts,
        // later providers) still counts. Without an endpoint, or with Enabled=false, the service returns at once
        // and no EventPipe session is ever opened.
        builder.Services.AddHostedService<ContinuousProfiler>();
        return builder;
    }
}
