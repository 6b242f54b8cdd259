using ObsStack.Tests.Infrastructure;

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
    public void A_bad_setting_stops_the_service_at_start_naming_the_key(string key, string value)
    {
        using var worker = new WorkerApp(new Dictionary<string, string?> { [key] = value });

        var error = Assert.ThrowsAny<Exception>(() => { worker.Start(); });

        Assert.Contains($"{key} must be between", error.ToString());
    }
}
