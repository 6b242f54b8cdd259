using System.Buffers;

namespace ObsStack.ServiceDefaults.Telemetry.Export;

/// <summary>
/// The HTTP handler under one destination's OTLP exporter (set through the exporter's public
/// <c>HttpClientFactory</c>): it counts the items in each export request and reports the request's outcome to the
/// <see cref="ExportGuard"/>. An exporter's own result is not observable without wrapping it, and a wrapped exporter
/// loses its provider's resource (service.name), which only the SDK can hand down (OtlpWireTests prove the resource).
/// </summary>
internal sealed class ExportOutcomeHandler(ExportGuard guard) : DelegatingHandler(new SocketsHttpHandler())
{
    protected override HttpResponseMessage Send(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var items = CountItems(request, cancellationToken);
        try
        {
            var response = base.Send(request, cancellationToken);
            guard.Completed(items, Succeeded(response));
            return response;
        }
        catch
        {
            guard.Completed(items, success: false);
            throw;
        }
    }

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var items = CountItems(request, cancellationToken);
        try
        {
            var response = await base.SendAsync(request, cancellationToken);
            guard.Completed(items, Succeeded(response));
            return response;
        }
        catch
        {
            guard.Completed(items, success: false);
            throw;
        }
    }

    /// <summary>
    /// The exporter's content is a ByteArrayContent over its serialized buffer: read as a stream it is a view of that
    /// buffer, copied once into a pooled array to be counted — no allocation per export, nothing consumed.
    /// </summary>
    private static long CountItems(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        if (request.Content is not { } content)
        {
            return 0;
        }

        using var body = content.ReadAsStream(cancellationToken);
        var length = (int)body.Length;
        var buffer = ArrayPool<byte>.Shared.Rent(length);
        try
        {
            body.ReadExactly(buffer, 0, length);
            var grpc = content.Headers.ContentType?.MediaType?.StartsWith("application/grpc", StringComparison.Ordinal) == true;
            // A gRPC message is framed: one compression flag byte and a four-byte length before the protobuf.
            var message = grpc && length >= 5 ? buffer.AsSpan(5, length - 5) : buffer.AsSpan(0, length);
            return OtlpPayload.CountItems(message);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>2xx, and for gRPC no error status in the headers (a trailers-only error answer carries it there).</summary>
    private static bool Succeeded(HttpResponseMessage response) =>
        response.IsSuccessStatusCode
        && (!response.Headers.TryGetValues("grpc-status", out var status) || status.FirstOrDefault() == "0");
}
