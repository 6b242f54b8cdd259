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
    [InlineData("http://localhost:8080/x")]
    [InlineData("http://127.0.0.1/x")]
    [InlineData("http://[::1]:5000/x")]
    [InlineData("http://169.254.169.254/latest/meta-data")]
    [InlineData("http://10.0.0.1/admin")]
    [InlineData("http://localhost.evil.invalid/x")]
    public void By_default_nothing_is_allowed_not_even_loopback(string url) =>
        Assert.False(Create([]).IsAllowed(new Uri(url)));

    [Theory]
    [InlineData("http://api-host:5181/data/1", true)]
    [InlineData("http://API-HOST:5181/other", true)]
    [InlineData("http://api-host:5182/data/1", false)] // same host, another port: refused
    [InlineData("http://api-host/data/1", false)]
    [InlineData("http://127.0.0.1:5181/data/1", false)] // another name for the host is another target
    public void The_services_the_worker_is_wired_to_are_allowed_by_host_and_port(string url, bool allowed) =>
        Assert.Equal(allowed, Create([], ("services:api:http:0", "http://api-host:5181")).IsAllowed(new Uri(url)));

    [Theory]
    [InlineData("http://a.example.invalid/", true)]
    [InlineData("https://deep.a.example.invalid/", true)]
    [InlineData("http://a.example.invalid:8080/", false)] // a host without a port: 80/443 only
    [InlineData("http://example.invalid/", false)]
    [InlineData("http://badexample.invalid/", false)]
    [InlineData("http://exact.invalid/", true)]
    [InlineData("http://localhost:8080/", true)]
    [InlineData("http://localhost:8081/", false)]
    [InlineData("http://localhost/", false)]
    [InlineData("http://any.invalid:1/", true)]
    [InlineData("http://any.invalid:65535/", true)]
    [InlineData("http://[::1]:9000/", true)]
    [InlineData("http://[::1]:9001/", false)]
    public void Configured_entries_match_host_and_port_exactly_or_by_wildcard(string url, bool allowed) =>
        Assert.Equal(allowed, Create(["*.example.invalid", "exact.invalid", "localhost:8080", "any.invalid:*", "[::1]:9000"]).IsAllowed(new Uri(url)));

    [Theory]
    [InlineData("localhost:0")]
    [InlineData("localhost:65536")]
    [InlineData("localhost:http")]
    [InlineData("*")]
    [InlineData("*.")]
    [InlineData("[::1")]
    [InlineData("host/path")]
    public void A_malformed_entry_is_invalid(string entry) => Assert.False(TargetAllowList.IsValidEntry(entry));
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
