using System.Net;
using System.Net.Http;
using System.Net.Sockets;

namespace ObsStack.Tests.Infrastructure;

/// <summary>
/// The connect step of every job a test worker runs: loopback addresses only, checked before any DNS query or socket.
/// Tests that try SSRF targets (169.254.169.254, <c>*.invalid</c> names) therefore cannot leave the machine, even if the
/// allow-list under test regressed and let them through: such a job fails with <see cref="RefusedMessage"/>.
/// </summary>
public static class LoopbackOnly
{
    public const string RefusedMessage = "test guard: not a loopback address";

    public static async ValueTask<Stream> ConnectAsync(SocketsHttpConnectionContext context, CancellationToken cancellationToken)
    {
        var host = context.DnsEndPoint.Host.Trim('[', ']');
        IPAddress[] addresses = IPAddress.TryParse(host, out var literal) ? [literal]
            : string.Equals(host, "localhost", StringComparison.OrdinalIgnoreCase) ? [IPAddress.Loopback, IPAddress.IPv6Loopback]
            : [];
        if (addresses.Length == 0 || !addresses.All(IPAddress.IsLoopback))
        {
            throw new HttpRequestException($"{RefusedMessage}: {context.DnsEndPoint.Host}");
        }

        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            await socket.ConnectAsync(addresses, context.DnsEndPoint.Port, cancellationToken);
            return new NetworkStream(socket, ownsSocket: true);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }
}
