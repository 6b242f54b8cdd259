using System.Diagnostics;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using ObsStack.ServiceDefaults.Telemetry;
using ObsStack.Tests.Infrastructure;
using OpenTelemetry;
using OpenTelemetry.Trace;

namespace ObsStack.Tests.ServiceDefaults;

/// <summary>
/// What gets sampled, decided by a real SDK provider with ServiceDefaults' sampling setup. Trace ids are chosen so a
/// ratio sampler's decision is known: it keeps a trace when the id's first 8 bytes, as a number, fall below
/// ratio × 2^63, so an id starting with zeros is kept at any ratio above 0 and one starting 0x7fff… only at ratio 1.
/// </summary>
// Alone: a root span's trace id is chosen by swapping the process-wide id generator for one call, which must not
// hand that id to another test's span.
[Collection(RunAloneCollection.Name)]
public sealed class TraceSamplingTests
{
    private static readonly ActivityTraceId LowId = ActivityTraceId.CreateFromString("00000000000000010123456789abcdef");
    private static readonly ActivityTraceId HighId = ActivityTraceId.CreateFromString("7ffffffffffffff00123456789abcdef");

    [Fact]
    public void Without_the_variables_root_spans_are_kept_at_the_configured_ratio_and_children_follow_their_parent()
    {
        using var sampling = new Sampling(ratio: 0.1);

        Assert.True(sampling.Root(LowId));
        Assert.False(sampling.Root(HighId));
        Assert.True(sampling.ChildOf(HighId, parentSampled: true));
        Assert.False(sampling.ChildOf(LowId, parentSampled: false));
    }

    [Fact]
    public void By_default_every_root_span_is_kept()
    {
        using var sampling = new Sampling(ratio: 1.0);

        Assert.True(sampling.Root(HighId));
    }

    [Theory]
    [InlineData("always_off", null, false, false)]
    [InlineData("always_on", null, true, true)]
    [InlineData("traceidratio", "0.25", true, false)]
    [InlineData("parentbased_traceidratio", "0.5", true, false)]
    [InlineData("parentbased_always_off", null, false, false)]
    public void The_standard_variables_choose_the_sampler_over_the_ratio(string sampler, string? arg, bool lowKept, bool highKept)
    {
        using var sampling = new Sampling(ratio: 1.0, ("OTEL_TRACES_SAMPLER", sampler), ("OTEL_TRACES_SAMPLER_ARG", arg));

        Assert.Equal(lowKept, sampling.Root(LowId));
        Assert.Equal(highKept, sampling.Root(HighId));
    }

    [Theory]
    [InlineData("sometimes", null, "OTEL_TRACES_SAMPLER 'sometimes' is not supported")]
    [InlineData("traceidratio", "2", "OTEL_TRACES_SAMPLER_ARG '2' must be a number between 0 and 1")]
    [InlineData("traceidratio", "half", "OTEL_TRACES_SAMPLER_ARG 'half' must be a number between 0 and 1")]
    public void Bad_values_fail_at_start_saying_what_to_set(string sampler, string? arg, string message)
    {
        var error = Assert.Throws<ObsStack.ServiceDefaults.Startup.InvalidSettingException>(
            () => new Sampling(ratio: 1.0, ("OTEL_TRACES_SAMPLER", sampler), ("OTEL_TRACES_SAMPLER_ARG", arg)));

        Assert.Contains(message, error.Message);
    }

    /// <summary>A tracer provider listening to one source of its own, configured as ServiceDefaults configures it.</summary>
    private sealed class Sampling : IDisposable
    {
        // Not "ObsStack.*": other tests' providers listen to those, and any listener that records makes a span recorded.
        private readonly ActivitySource _source = new($"SamplingTests.{Guid.NewGuid():N}");
        private readonly TracerProvider _provider;

        public Sampling(double ratio, params (string Key, string? Value)[] settings)
        {
            var configuration = new ConfigurationBuilder()
                .AddInMemoryCollection(settings.Select(s => KeyValuePair.Create(s.Key, s.Value)))
                .Build();
            _provider = Sdk.CreateTracerProviderBuilder()
                .ConfigureServices(services => services.AddSingleton<IConfiguration>(configuration))
                .AddSource(_source.Name)
                .SetSampling(configuration, ratio)
                .Build()!;
        }

        public bool Root(ActivityTraceId traceId) =>
            Sampled(new ActivityContext(traceId, default, ActivityTraceFlags.None), root: true);

        public bool ChildOf(ActivityTraceId traceId, bool parentSampled) =>
            Sampled(new ActivityContext(traceId, ActivitySpanId.CreateRandom(),
                parentSampled ? ActivityTraceFlags.Recorded : ActivityTraceFlags.None, isRemote: true), root: false);

        private bool Sampled(ActivityContext context, bool root)
        {
            using var activity = root
                ? StartRoot(context.TraceId)
                : _source.StartActivity("child", ActivityKind.Internal, context);
            return activity?.Recorded == true;
        }

        /// <summary>A root span with a chosen trace id: the id generator is swapped for the one call.</summary>
        private Activity? StartRoot(ActivityTraceId traceId)
        {
            var previous = Activity.TraceIdGenerator;
            Activity.TraceIdGenerator = () => traceId;
            try
            {
                return _source.StartActivity("root", ActivityKind.Internal, default(ActivityContext));
            }
            finally
            {
                Activity.TraceIdGenerator = previous;
            }
        }

        public void Dispose()
        {
            _provider.Dispose();
            _source.Dispose();
        }
    }
}
