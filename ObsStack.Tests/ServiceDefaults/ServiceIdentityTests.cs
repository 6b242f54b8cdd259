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
