using Microsoft.Extensions.Configuration;
using OpenTelemetry.Trace;

namespace ObsStack.ServiceDefaults.Telemetry;

/// <summary>
/// The sampler: <c>OTEL_TRACES_SAMPLER</c> / <c>OTEL_TRACES_SAMPLER_ARG</c> when set (the specification's values),
/// otherwise parent-based with <c>Telemetry:SamplingRatio</c> for root spans (default 1.0: always on).
/// Parent-based keeps a trace whole across the worker and the API: a downstream service follows the caller's decision.
/// </summary>
internal static class TraceSampling
{
    public static Sampler Create(IConfiguration configuration, double configuredRatio)
    {
        var name = configuration["OTEL_TRACES_SAMPLER"]?.Trim().ToLowerInvariant();
        var arg = configuration["OTEL_TRACES_SAMPLER_ARG"];

        return name switch
        {
            null or "" => ParentBased(configuredRatio),
            "always_on" => new AlwaysOnSampler(),
            "always_off" => new AlwaysOffSampler(),
            "traceidratio" => new TraceIdRatioBasedSampler(Ratio(arg)),
            "parentbased_always_on" => new ParentBasedSampler(new AlwaysOnSampler()),
            "parentbased_always_off" => new ParentBasedSampler(new AlwaysOffSampler()),
            "parentbased_traceidratio" => new ParentBasedSampler(new TraceIdRatioBasedSampler(Ratio(arg))),
            _ => throw new InvalidOperationException(
                $"OTEL_TRACES_SAMPLER '{name}' is not supported. Use always_on, always_off, traceidratio, parentbased_always_on, parentbased_always_off or parentbased_traceidratio."),
        };
    }

    private static Sampler ParentBased(double ratio) =>
        new ParentBasedSampler(ratio >= 1.0 ? new AlwaysOnSampler() : new TraceIdRatioBasedSampler(ratio));

    private static double Ratio(string? arg)
    {
        if (string.IsNullOrWhiteSpace(arg))
        {
            return 1.0; // The specification's default for a ratio sampler without an argument.
        }

        if (double.TryParse(arg, System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out var ratio)
            && ratio is >= 0.0 and <= 1.0)
        {
            return ratio;
        }

        throw new InvalidOperationException($"OTEL_TRACES_SAMPLER_ARG '{arg}' must be a number between 0 and 1.");
    }
}
