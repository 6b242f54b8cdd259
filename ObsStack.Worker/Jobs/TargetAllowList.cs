using System.Globalization;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.Options;
using ObsStack.ServiceDefaults.Discovery;

namespace ObsStack.Worker.Jobs;

/// <summary>
/// The targets the worker may fetch, by host <b>and</b> port. An open URL fetcher is an SSRF hole (cloud metadata
/// endpoints, internal admin ports), and "all of loopback" is a port scanner of every local backend, so only these
/// pass intake: the services the worker is wired to (<c>services__{name}__{scheme}__{i}</c>, their exact host and port),
/// its own demo target (<c>/demo/work/{id}</c> on the address it listens on), and the entries of
/// <c>WorkerPool:AllowedTargetHosts</c>. Anything else — other loopback ports included — is refused with 400.
/// </summary>
public sealed class TargetAllowList
{
    private static readonly string[] LoopbackNames = ["localhost", "127.0.0.1", "::1"];

    private readonly List<HostPattern> _patterns = [];
    private readonly IServer? _server;
    private HashSet<(string Host, int Port)>? _own;

    public TargetAllowList(IOptions<WorkerPoolOptions> options, IConfiguration configuration, IServer? server = null)
    {
        _server = server;
        foreach (var entry in options.Value.AllowedTargetHosts.Where(h => !string.IsNullOrWhiteSpace(h)))
        {
            // Validated at start (WorkerPool:AllowedTargetHosts), so a bad entry never reaches here.
            if (HostPattern.TryParse(entry.Trim(), out var pattern))
            {
                _patterns.Add(pattern);
            }
        }

        foreach (var peer in ServiceEndpoints.All(configuration))
        {
            _patterns.Add(new HostPattern(Normalize(peer.IdnHost), Wildcard: false, peer.Port));
        }
    }

    /// <summary>An entry of <c>WorkerPool:AllowedTargetHosts</c>: <c>host</c> (ports 80/443), <c>host:port</c>, <c>host:*</c>, <c>*.domain[:port]</c>.</summary>
    public static bool IsValidEntry(string? entry) => string.IsNullOrWhiteSpace(entry) || HostPattern.TryParse(entry.Trim(), out _);

    public bool IsAllowed(Uri url)
    {
        var host = Normalize(url.IdnHost);
        return _patterns.Any(p => p.Matches(host, url.Port, url.IsDefaultPort)) || IsOwnDemoTarget(url, host);
    }

    private bool IsOwnDemoTarget(Uri url, string host)
    {
        var path = url.AbsolutePath;
        const string prefix = "/demo/work/";
        if (!path.StartsWith(prefix, StringComparison.Ordinal) || path.Length == prefix.Length
            || path.AsSpan(prefix.Length).ContainsAnyExceptInRange('0', '9'))
        {
            return false;
        }

        return OwnAddresses().Contains((host, url.Port));
    }

    /// <summary>Where this worker listens, known once the server has started; a wildcard binding is reached through loopback.</summary>
    private HashSet<(string Host, int Port)> OwnAddresses()
    {
        if (_own is { } own)
        {
            return own;
        }

        var addresses = _server?.Features.Get<IServerAddressesFeature>()?.Addresses;
        var found = new HashSet<(string, int)>();
        foreach (var address in addresses ?? [])
        {
            // The same reading of a wildcard binding as the load generator's own target (LoadGenerator.LocalAddress).
            var bound = new Uri(LoadGenerator.LocalAddress(address));
            var host = Normalize(bound.IdnHost);
            foreach (var name in LoopbackNames.Contains(host) ? LoopbackNames : [host])
            {
                found.Add((name, bound.Port));
            }
        }

        // Cached only once the addresses exist (after start); before that nothing of our own is allowed.
        if (found.Count > 0)
        {
            _own = found;
        }

        return found;
    }

    private static string Normalize(string host) => host.Trim('[', ']').TrimEnd('.').ToLowerInvariant();

    /// <summary>One allowed host (exact or <c>*.suffix</c>) with its port: a number, any (<c>*</c>), or null for the scheme's default.</summary>
    private readonly record struct HostPattern(string Host, bool Wildcard, int? Port)
    {
        private const int AnyPort = -1;

        public bool Matches(string host, int port, bool isDefaultPort)
        {
            var hostMatches = Wildcard
                ? host.EndsWith(Host, StringComparison.Ordinal) && host.Length > Host.Length
                : host == Host;
            return hostMatches && Port switch
            {
                null => isDefaultPort,
                AnyPort => true,
                { } p => p == port,
            };
        }

        public static bool TryParse(string entry, out HostPattern pattern)
        {
            pattern = default;
            string host;
            string? port = null;
            if (entry.StartsWith('['))
            {
                var close = entry.IndexOf(']');
                if (close < 0)
                {
                    return false;
                }

                host = entry[1..close];
                var rest = entry[(close + 1)..];
                if (rest.Length > 0)
                {
                    if (rest[0] != ':')
                    {
                        return false;
                    }

                    port = rest[1..];
                }
            }
            else if (entry.Count(c => c == ':') == 1)
            {
                var colon = entry.IndexOf(':');
                host = entry[..colon];
                port = entry[(colon + 1)..];
            }
            else
            {
                host = entry; // a name, or a bare IPv6 literal (ports 80/443)
            }

            int? parsedPort = port switch
            {
                null => null,
                "*" => AnyPort,
                _ when int.TryParse(port, NumberStyles.None, CultureInfo.InvariantCulture, out var p) && p is > 0 and <= 65535 => p,
                _ => 0,
            };
            if (parsedPort == 0)
            {
                return false;
            }

            var wildcard = host.StartsWith("*.", StringComparison.Ordinal);
            var name = Normalize(wildcard ? host[1..] : host);
            if (name.Length == 0 || name == "." || name.Contains('*') || name.Contains('/'))
            {
                return false;
            }

            pattern = new HostPattern(name, wildcard, parsedPort);
            return true;
        }
    }
}
