using Microsoft.Extensions.Options;
using ObsStack.ServiceDefaults.Discovery;

namespace ObsStack.Worker.Jobs;

/// <summary>
/// The hosts the worker may fetch. An open URL fetcher is an SSRF hole (cloud metadata endpoints, internal admin
/// ports), so anything not listed is refused at intake with 400.
/// </summary>
public sealed class TargetAllowList
{
    private static readonly string[] Loopback = ["localhost", "127.0.0.1", "[::1]", "::1"];

    private readonly HashSet<string> _exact = new(StringComparer.OrdinalIgnoreCase);
    private readonly List<string> _suffixes = [];

    public TargetAllowList(IOptions<WorkerPoolOptions> options, IConfiguration configuration)
    {
        var configured = options.Value.AllowedTargetHosts.Where(h => !string.IsNullOrWhiteSpace(h)).ToList();
        foreach (var host in configured.Count > 0 ? configured : [.. Loopback])
        {
            Add(host.Trim());
        }

        foreach (var peer in ServiceEndpoints.All(configuration))
        {
            Add(peer.Host);
        }
    }

    public IReadOnlyCollection<string> Hosts => [.. _exact, .. _suffixes.Select(s => "*" + s)];

    public bool IsAllowed(Uri url)
    {
        var host = url.Host;
        return _exact.Contains(host)
            || _exact.Contains(url.IdnHost)
            || _suffixes.Any(suffix => host.EndsWith(suffix, StringComparison.OrdinalIgnoreCase));
    }

    private void Add(string host)
    {
        if (host.StartsWith("*.", StringComparison.Ordinal))
        {
            _suffixes.Add(host[1..]);
        }
        else
        {
            _exact.Add(host);
        }
    }
}
