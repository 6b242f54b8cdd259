using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace ObsStack.Tests.ServiceDefaults;

/// <summary>Every <c>Telemetry</c> key, nested sections included, is checked at start and named when wrong.</summary>
public sealed class TelemetryOptionsTests
{
    [Theory]
    [InlineData("Telemetry:Export:MaxBatchSize", "0")]
    [InlineData("Telemetry:Export:MaxQueueSize", "8")]
    [InlineData("Telemetry:Export:ScheduledDelay", "00:00:00")]
    [InlineData("Telemetry:Export:Timeout", "00:05:00")]
    [InlineData("Telemetry:Metrics:ExportInterval", "00:00:00.100")]
    [InlineData("Telemetry:SamplingRatio", "1.5")]
    public void A_bad_setting_stops_the_host_at_start_naming_the_key(string key, string value)
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { EnvironmentName = "Testing" });
        builder.Configuration[key] = value;
        builder.ConfigureOpenTelemetry();
        using var host = builder.Build();

        var error = Assert.Throws<OptionsValidationException>(() => host.Start());

        Assert.Contains($"{key} must be between", error.Message);
    }

    [Theory]
    [InlineData("Telemetry:Traces:OtlpEndpoint", "Traces")]
    [InlineData("Telemetry:Logs:OtlpEndpoint", "Logs")]
    [InlineData("Telemetry:Metrics:OtlpEndpoint", "Metrics")]
    public void A_backend_endpoint_that_is_not_an_absolute_URL_stops_the_host_at_start_naming_the_key(string key, string signal)
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { EnvironmentName = "Testing" });
        builder.Configuration[key] = "   ";

        var error = Assert.Throws<ObsStack.ServiceDefaults.Startup.InvalidSettingException>(() =>
        {
            builder.ConfigureOpenTelemetry();
            using var host = builder.Build();
            host.Start();
        });

        Assert.Contains($"Telemetry:{signal}:OtlpEndpoint '   ' is not an absolute URL", error.Message);
    }
}
