using System.Text.Json;
using Microsoft.AspNetCore.Http.HttpResults;

namespace ObsStack.Api.Apis;

/// <summary>
/// Reads a JSON request body within an explicit size, so each bad request gets its own status and a message that says
/// what to fix: wrong or missing Content-Type → 415, larger than the limit → 413, empty or not well-formed JSON → 400.
/// </summary>
internal static class JsonBody
{
    public static async Task<(byte[]? Body, ProblemHttpResult? Problem)> ReadAsync(
        HttpRequest request, int maxBytes, string example, CancellationToken cancellationToken)
    {
        if (!request.HasJsonContentType())
        {
            return (null, TypedResults.Problem(
                $"Content-Type must be application/json; got '{request.ContentType ?? "none"}'.",
                statusCode: StatusCodes.Status415UnsupportedMediaType, title: "Unsupported media type"));
        }

        // A declared length over the limit is refused before a byte is read.
        if (request.ContentLength > maxBytes)
        {
            return (null, TooLarge(maxBytes));
        }

        byte[] body;
        try
        {
            using var buffer = new MemoryStream();
            var chunk = new byte[8192];
            int read;
            while ((read = await request.Body.ReadAsync(chunk, cancellationToken)) > 0)
            {
                // Chunked bodies have no declared length: stop at the limit rather than buffer what arrives.
                if (buffer.Length + read > maxBytes)
                {
                    return (null, TooLarge(maxBytes));
                }

                buffer.Write(chunk, 0, read);
            }

            body = buffer.ToArray();
        }
        catch (BadHttpRequestException ex) when (ex.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            // Kestrel's own MaxRequestBodySize, the outer bound for every endpoint.
            return (null, TooLarge(maxBytes));
        }

        if (body.Length == 0)
        {
            return (null, Malformed($"The body is empty; send {example}."));
        }

        try
        {
            using var document = JsonDocument.Parse(body);
            return document.RootElement.ValueKind == JsonValueKind.Object
                ? (body, null)
                : (null, Malformed($"The body is JSON {document.RootElement.ValueKind.ToString().ToLowerInvariant()}, not an object; send {example}."));
        }
        catch (JsonException ex)
        {
            return (null, Malformed($"The body is not valid JSON ({ex.Message}); send {example}."));
        }
    }

    public static ProblemHttpResult Malformed(string detail) => TypedResults.Problem(
        detail, statusCode: StatusCodes.Status400BadRequest, title: "Malformed JSON");

    private static ProblemHttpResult TooLarge(int maxBytes) => TypedResults.Problem(
        $"The body exceeds {maxBytes} bytes.",
        statusCode: StatusCodes.Status413PayloadTooLarge, title: "Body too large");
}
