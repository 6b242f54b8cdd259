using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Options;
using ObsStack.Worker.Jobs;

namespace ObsStack.Tests.Worker;

public sealed class TargetAllowListTests
{
    private static TargetAllowList Create(string[] hosts, params (string Key, string Value)[] settings) => new(
        Options.Create(new WorkerPoolOptions { AllowedTargetHosts = [.. hosts] }),
        new ConfigurationBuilder().AddInMemoryCollection(settings.Select(s => new KeyValuePair<string, string?>(s.Key, s.Value))).Build());

    [Theory]
    [InlineData("http://localhost:8080/x", true)]
    [InlineData("http://127.0.0.1/x", true)]
    [InlineData("http://[::1]:5000/x", true)]
    [InlineData("http://169.254.169.254/latest/meta-data", false)]
    [InlineData("http://10.0.0.1/admin", false)]
    [InlineData("http://localhost.evil.example/x", false)]
    public void By_default_only_loopback_is_allowed(string url, bool allowed) =>
        Assert.Equal(allowed, Create([]).IsAllowed(new Uri(url)));

    [Fact]
    public void The_services_the_worker_is_wired_to_are_always_allowed() =>
        Assert.True(Create(["example.org"], ("services:api:http:0", "http://api-host:5181")).IsAllowed(new Uri("http://api-host:5181/data/1")));

    [Theory]
    [InlineData("http://a.example.com/", true)]
    [InlineData("http://deep.a.example.com/", true)]
    [InlineData("http://example.com/", false)]
    [InlineData("http://badexample.com/", false)]
    [InlineData("http://localhost/", false)] // a configured list replaces the loopback default
    public void Configured_entries_match_exactly_or_by_wildcard_suffix(string url, bool allowed) =>
        Assert.Equal(allowed, Create(["*.example.com", "exact.host"]).IsAllowed(new Uri(url)));
}

public sealed class LoadGeneratorAddressTests
{
    [Theory]
    [InlineData("http://127.0.0.1:5180", "http://127.0.0.1:5180")]
    [InlineData("http://localhost:5180", "http://localhost:5180")]
    [InlineData("http://+:8080", "http://localhost:8080")]
    [InlineData("http://*:8080", "http://localhost:8080")]
    [InlineData("http://0.0.0.0:8080", "http://localhost:8080")]
    [InlineData("http://[::]:8080", "http://localhost:8080")]
    [InlineData("http://[::1]:8080", "http://[::1]:8080")]
    public void A_wildcard_listen_address_is_reached_through_localhost(string bound, string expected) =>
        Assert.Equal(expected, LoadGenerator.LocalAddress(bound));
}
