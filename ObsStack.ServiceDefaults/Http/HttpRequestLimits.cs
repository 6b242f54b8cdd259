using Microsoft.AspNetCore.Server.Kestrel.Core;

namespace ObsStack.ServiceDefaults.Http;

/// <summary>
/// Kestrel's limits, the same in every service, chosen on purpose (docs/http-api.md, "HTTP limits"): what a slow or careless
/// client may hold before the server lets go.
/// </summary>
public static class HttpRequestLimits
{
    /// <summary>The largest body any endpoint accepts (<c>POST /jobs</c>: 100 URLs of 2 KB fit); endpoints enforce smaller ones themselves.</summary>
    public const int MaxRequestBodyBytes = 256 * 1024;

    /// <summary>
    /// Time a client gets to send its request line and headers. 10 s, not Kestrel's 30 s: every client of these services
    /// is a program on a nearby network, and a slow-header client holds a connection for as long as this allows.
    /// </summary>
    public static readonly TimeSpan RequestHeadersTimeout = TimeSpan.FromSeconds(10);

    /// <summary>
    /// Kestrel's default minimum body rate, stated so it is a decision: below 240 bytes/s after a 5 s grace the body read
    /// fails with 408. A body trickled one byte at a time, or one that stalls short of its length, is cut off within ~6 s.
    /// </summary>
    public static readonly MinDataRate MinRequestBodyDataRate = new(bytesPerSecond: 240, gracePeriod: TimeSpan.FromSeconds(5));

    internal static void Apply(KestrelServerLimits limits)
    {
        limits.MaxRequestBodySize = MaxRequestBodyBytes;
        limits.RequestHeadersTimeout = RequestHeadersTimeout;
        limits.MinRequestBodyDataRate = MinRequestBodyDataRate;
    }
}
