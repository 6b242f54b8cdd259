using Aspire.Hosting;
using Microsoft.Extensions.Configuration;

namespace ObsStack.Tests.AppHost;

/// <summary>How the AppHost decides whether the five backend containers can run (ObsStack:Containers).</summary>
public sealed class ContainerBackendsTests
{
    [Fact]
    public void A_runtime_that_is_not_installed_is_named_in_the_reason()
    {
        var why = ContainerBackends.WhyNotRunnable(Configuration(("ASPIRE_CONTAINER_RUNTIME", "obsstack-no-such-runtime")));

        Assert.Equal("no container runtime answers (obsstack-no-such-runtime is not installed)", why);
    }

    [SkippableFact]
    public void A_runtime_whose_info_fails_is_reported_with_its_first_error_line()
    {
        Skip.If(OperatingSystem.IsWindows(), "Stands in for a runtime with the POSIX command 'false'.");
        // `false info` exits 1 without output: a command that exists but whose daemon does not answer.
        var why = ContainerBackends.WhyNotRunnable(Configuration(("ASPIRE_CONTAINER_RUNTIME", "false")));

        Assert.Equal("no container runtime answers ('false info' failed: no error output)", why);
    }

    [SkippableFact]
    public void A_runtime_that_answers_info_lets_the_containers_run()
    {
        Skip.If(OperatingSystem.IsWindows(), "Stands in for a runtime with the POSIX command 'true'.");
        // `true info` exits 0: the shape of a runtime whose daemon is up.
        Assert.Null(ContainerBackends.WhyNotRunnable(Configuration(("ASPIRE_CONTAINER_RUNTIME", "true"))));
    }

    [Theory]
    [InlineData("on", null)]
    [InlineData("ON", null)]
    [InlineData("off", "ObsStack:Containers is 'off'")]
    public void The_setting_overrides_the_probe(string mode, string? expected)
    {
        var why = ContainerBackends.WhyNotRunnable(Configuration(
            (ContainerBackends.ModeKey, mode), ("ASPIRE_CONTAINER_RUNTIME", "obsstack-no-such-runtime")));

        Assert.Equal(expected, why);
    }

    private static IConfiguration Configuration(params (string Key, string Value)[] settings) =>
        new ConfigurationBuilder()
            .AddInMemoryCollection(settings.Select(s => KeyValuePair.Create(s.Key, (string?)s.Value)))
            .Build();
}
