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
        // The exporter's content is its serialized buffer: reading it completes synchronously.
        var items = CountItems(request, cancellationToken).GetAwaiter().GetResult();
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
        var items = await CountItems(request, cancellationToken);
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

    private static async Task<long> CountItems(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        if (request.Content is null)
        {
            return 0;
        }

        var body = await request.Content.ReadAsByteArrayAsync(cancellationToken);
        var grpc = request.Content.Headers.ContentType?.MediaType?.StartsWith("application/grpc", StringComparison.Ordinal) == true;
        // A gRPC message is framed: one compression flag byte and a four-byte length before the protobuf.
        return OtlpPayload.CountItems(grpc && body.Length >= 5 ? body.AsSpan(5) : body);
    }

    /// <summary>2xx, and for gRPC no error status in the headers (a trailers-only error answer carries it there).</summary>
    private static bool Succeeded(HttpResponseMessage response) =>
        response.IsSuccessStatusCode
        && (!response.Headers.TryGetValues("grpc-status", out var status) || status.FirstOrDefault() == "0");
}
