using Microsoft.Extensions.Options;
using ObsStack.Profiling;

namespace ObsStack.Tests.Profiling;

[Collection(ProfilerCollection.Name)]
public sealed class ProfilingOptionsTests
{
    [Theory]
    [InlineData("PyroscopeEndpoint", "localhost:4040")]
    [InlineData("PyroscopeEndpoint", "ftp://pyroscope:4040")]
    [InlineData("UploadInterval", "00:00:00")]
    [InlineData("UploadInterval", "01:00:00")]
    [InlineData("SamplingDuration", "00:00:00")]
    public async Task A_bad_setting_fails_at_start_naming_the_key(string key, string value)
    {
        var settings = new Dictionary<string, string?> { ["PyroscopeEndpoint"] = "http://127.0.0.1:4040", [key] = value };

        var error = await Assert.ThrowsAsync<OptionsValidationException>(() => ProfiledApp.StartAsync(settings));

        Assert.Contains($"Telemetry:Profiles:{key}", error.Message);
    }

    [Fact]
    public void Defaults_are_the_documented_ones()
    {
        var options = new ProfilingOptions();

        Assert.True(options.Enabled);
        Assert.Null(options.PyroscopeEndpoint);
        Assert.Equal(TimeSpan.FromSeconds(15), options.UploadInterval);
        Assert.Equal(TimeSpan.FromSeconds(1), options.SamplingDuration);
        Assert.False(options.IsContinuous);
        Assert.True(options.Cpu);
        Assert.True(options.Allocations);
        Assert.True(options.LockContention);
        Assert.True(options.Wall);
        Assert.True(options.Exceptions);
        Assert.False(options.LiveHeap);
        Assert.True(options.SpanProfiles);
        Assert.False(options.IsActive);
    }

    [Theory]
    [InlineData("http://pyroscope:4040", "http://pyroscope:4040/push.v1.PusherService/Push")]
    [InlineData("http://pyroscope:4040/", "http://pyroscope:4040/push.v1.PusherService/Push")]
    [InlineData("https://profiles.example/prefix", "https://profiles.example/prefix/push.v1.PusherService/Push")]
    public void Push_url_is_the_base_address_plus_the_connect_method_path(string endpoint, string expected)
    {
        Assert.Equal(new Uri(expected), new ProfilingOptions { PyroscopeEndpoint = endpoint }.PushUri);
    }
}
