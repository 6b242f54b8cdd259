using System.Diagnostics;
using System.Net.Sockets;
using System.Text;

namespace ObsStack.Tests.Infrastructure;

/// <summary>
/// One HTTP/1.1 request written byte by byte on a raw socket — what HttpClient will not send: broken chunk framing, a
/// body shorter than its Content-Length, a body that stalls or trickles. The body writer is canceled as soon as the
/// server answers; the whole exchange is bounded by a deadline.
/// </summary>
public static class RawHttp
{
    public sealed record Answer(int? Status, string Text, TimeSpan Elapsed)
    {
        public bool IsProblemJson => Text.Contains("Content-Type: application/problem+json", StringComparison.OrdinalIgnoreCase);

        public override string ToString() => Status is { } status ? $"{status} after {Elapsed.TotalSeconds:0.0} s" : $"no answer within {Elapsed.TotalSeconds:0.0} s";
    }

    /// <summary>Sends <paramref name="head"/> (request line and headers, with <c>Connection: close</c> added), then lets <paramref name="body"/> write.</summary>
    public static async Task<Answer> SendAsync(Uri server, string head, Func<Socket, CancellationToken, Task> body, TimeSpan deadline)
    {
        var stopwatch = Stopwatch.StartNew();
        using var socket = new Socket(SocketType.Stream, ProtocolType.Tcp);
        using var timeout = new CancellationTokenSource(deadline);
        await socket.ConnectAsync(server.Host, server.Port, timeout.Token);
        var request = head.TrimEnd('\r', '\n') + $"\r\nHost: {server.Authority}\r\nConnection: close\r\n\r\n";
        await socket.SendAsync(Encoding.ASCII.GetBytes(request), SocketFlags.None, timeout.Token);

        using var answered = CancellationTokenSource.CreateLinkedTokenSource(timeout.Token);
        var reading = ReadToEndAsync(socket, answered, timeout.Token);
        try
        {
            await body(socket, answered.Token);
        }
        catch (Exception ex) when (ex is OperationCanceledException or SocketException or IOException)
        {
            // The server answered (or closed) while the body was still being written: expected for most rows.
        }

        var text = await reading;
        var status = text.StartsWith("HTTP/1.1 ", StringComparison.Ordinal) && int.TryParse(text.AsSpan(9, 3), out var code) ? code : (int?)null;
        return new Answer(status, text, stopwatch.Elapsed);
    }

    public static Task WriteAsync(this Socket socket, string text, CancellationToken cancellationToken) =>
        socket.SendAsync(Encoding.ASCII.GetBytes(text), SocketFlags.None, cancellationToken).AsTask();

    private static async Task<string> ReadToEndAsync(Socket socket, CancellationTokenSource answered, CancellationToken timeout)
    {
        var received = new MemoryStream();
        var buffer = new byte[8192];
        try
        {
            int read;
            while ((read = await socket.ReceiveAsync(buffer, SocketFlags.None, timeout)) > 0)
            {
                received.Write(buffer, 0, read);
                await answered.CancelAsync();
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or SocketException)
        {
            // Deadline reached or connection reset: what arrived is the answer.
        }

        await answered.CancelAsync();
        return Encoding.UTF8.GetString(received.GetBuffer(), 0, (int)received.Length);
    }
}
