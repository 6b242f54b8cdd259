using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.FileProviders;
using Microsoft.Extensions.Hosting;
using ObsStack.ServiceDefaults.Telemetry;
using OpenTelemetry.Trace;

namespace ObsStack.Tests.ServiceDefaults;

public sealed class ServiceIdentityTests
{
    private sealed class Environment : IHostEnvironment
    {
        public string EnvironmentName { get; set; } = "Production";
        public string ApplicationName { get; set; } = "ObsStack.Worker";
        public string ContentRootPath { get; set; } = "/";
        public IFileProvider ContentRootFileProvider { get; set; } = new NullFileProvider();
    }

    private static ServiceIdentity Resolve(params (string Key, string Value)[] settings) => ServiceIdentity.FromConfiguration(
        new ConfigurationBuilder().AddInMemoryCollection(settings.Select(s => new KeyValuePair<string, string?>(s.Key, s.Value))).Build(),
        new Environment());

    [Fact]
    public void OTEL_SERVICE_NAME_wins_over_the_resource_attribute_and_the_application_name()
    {
        var identity = Resolve(("OTEL_SERVICE_NAME", "worker"), ("OTEL_RESOURCE_ATTRIBUTES", "service.name=other"));
        Assert.Equal("worker", identity.ServiceName);
    }

    [Fact]
    public void Without_configuration_the_application_name_and_environment_are_used() =>
        Assert.Equal(("ObsStack.Worker", "production"), (Resolve().ServiceName, Resolve().Environment));

    [Fact]
    public void Resource_attributes_are_parsed_percent_decoded_and_malformed_pairs_ignored()
    {
        var identity = Resolve(("OTEL_RESOURCE_ATTRIBUTES", "service.instance.id=abc, team=platform%20ops,broken,=x,deployment.environment.name=staging"));

        Assert.Equal("abc", identity.InstanceId);
        Assert.Equal("staging", identity.Environment);
        Assert.Equal("platform ops", identity.ExtraAttributes["team"]);
        Assert.Single(identity.ExtraAttributes);
        Assert.Equal(["service.name", "service.version", "deployment.environment.name", "service.instance.id", "team"],
            identity.Attributes().Select(a => a.Key));
    }
}

public sealed class TraceSamplingTests
{
    private static Sampler Create(string? sampler, string? arg, double ratio = 1.0) => TraceSampling.Create(
        new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["OTEL_TRACES_SAMPLER"] = sampler,
            ["OTEL_TRACES_SAMPLER_ARG"] = arg,
        }).Build(), ratio);

    [Theory]
    [InlineData(null, null, "ParentBased{AlwaysOnSampler}")]
    [InlineData("always_off", null, "AlwaysOffSampler")]
    [InlineData("traceidratio", "0.25", "TraceIdRatioBasedSampler{0.250000}")]
    [InlineData("parentbased_traceidratio", "0.5", "ParentBased{TraceIdRatioBasedSampler{0.500000}}")]
    [InlineData("parentbased_always_on", null, "ParentBased{AlwaysOnSampler}")]
    public void The_standard_environment_variables_choose_the_sampler(string? sampler, string? arg, string expected) =>
        Assert.Equal(expected, Create(sampler, arg).Description);

    [Fact]
    public void Without_the_variables_the_configured_ratio_applies_to_root_spans() =>
        Assert.Equal("ParentBased{TraceIdRatioBasedSampler{0.100000}}", Create(null, null, 0.1).Description);

    [Theory]
    [InlineData("sometimes", null, "OTEL_TRACES_SAMPLER 'sometimes' is not supported")]
    [InlineData("traceidratio", "2", "between 0 and 1")]
    [InlineData("traceidratio", "half", "between 0 and 1")]
    public void Bad_values_fail_at_start_saying_what_to_set(string sampler, string? arg, string message) =>
        Assert.Contains(message, Assert.Throws<InvalidOperationException>(() => Create(sampler, arg)).Message);
}
