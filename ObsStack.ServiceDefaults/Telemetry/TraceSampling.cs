using System.Globalization;
using Microsoft.Extensions.Configuration;
using OpenTelemetry.Trace;
using ObsStack.ServiceDefaults.Startup;

namespace ObsStack.ServiceDefaults.Telemetry;

/// <summary>
/// The sampler, where the SDK's own handling stops: the SDK reads <c>OTEL_TRACES_SAMPLER</c> /
/// <c>OTEL_TRACES_SAMPLER_ARG</c> itself, but ignores a bad value with a warning event nobody sees; here a bad value
/// stops the service at start, naming the variable. Without them, root spans are kept at <c>Telemetry:SamplingRatio</c>
/// (default 1.0) and every other span follows its parent, which keeps a trace whole across worker and api.
/// </summary>
internal static class TraceSampling
{
    private static readonly string[] Samplers =
        ["always_on", "always_off", "traceidratio", "parentbased_always_on", "parentbased_always_off", "parentbased_traceidratio"];

    public static TracerProviderBuilder SetSampling(this TracerProviderBuilder tracing, IConfiguration configuration, double ratio)
    {
        var name = configuration["OTEL_TRACES_SAMPLER"];
        if (string.IsNullOrWhiteSpace(name))
        {
            return tracing.SetSampler(new ParentBasedSampler(ratio >= 1.0 ? new AlwaysOnSampler() : new TraceIdRatioBasedSampler(ratio)));
        }

        if (!Samplers.Contains(name.Trim(), StringComparer.OrdinalIgnoreCase))
        {
            throw new InvalidSettingException(
                $"OTEL_TRACES_SAMPLER '{name}' is not supported. Use {string.Join(", ", Samplers)}.");
        }

        var arg = configuration["OTEL_TRACES_SAMPLER_ARG"];
        if (!string.IsNullOrWhiteSpace(arg)
            && !(double.TryParse(arg, NumberStyles.Float, CultureInfo.InvariantCulture, out var value) && value is >= 0.0 and <= 1.0))
        {
            throw new InvalidSettingException($"OTEL_TRACES_SAMPLER_ARG '{arg}' must be a number between 0 and 1.");
        }

        return tracing; // The SDK builds the sampler from the two variables.
    }
}
