using System.Buffers;
using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Net.Http.Headers;

namespace ObsStack.ServiceDefaults.Http;

/// <summary>
/// The one request-body reader of every JSON endpoint, in every service. Each way a body can be wrong gets its own
/// status and a problem that says what to fix, and none of them is a 500: Content-Type not JSON, a charset other than
/// UTF-8, or a Content-Encoding / Transfer-Encoding coding the server does not decode → 415; declared or chunked length
/// over the endpoint's limit → 413; a body Kestrel rejects (bad chunk framing, shorter than its Content-Length, the
/// connection dropped) → 400; too slow (Kestrel's minimum data rate, or the request's deadline while the body was still
/// arriving) → 408; empty, not well-formed JSON or not an object → 400; a field that is unknown or of the wrong type
/// (a number sent as a string included) → 400 naming the field. A client's fault is logged at debug, without a stack.
/// </summary>
public static partial class JsonRequestBody
{
    private const int ReadSize = 8192;

    /// <summary>
    /// The rules every JSON endpoint reads with: web naming, and nothing guessed. An unknown member is refused
    /// ("error_rate" silently ignored would look like a setting that does nothing), and so is a number sent as a
    /// string (<see cref="JsonSerializerOptions.Web"/> would read <c>"5"</c> as 5: the README promises mistyped fields get 400).
    /// </summary>
    public static readonly JsonSerializerOptions SerializerOptions = new(JsonSerializerOptions.Web)
    {
        NumberHandling = JsonNumberHandling.Strict,
        UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
    };

    /// <summary>The body as bytes, checked to be one well-formed JSON object; or the problem to answer with.</summary>
    public static async Task<(byte[]? Body, ProblemHttpResult? Problem)> ReadAsync(
        HttpRequest request, int maxBytes, string example, CancellationToken cancellationToken)
    {
        var (body, problem) = await ReadObjectStartAsync(request, maxBytes, example, cancellationToken);
        if (problem is not null)
        {
            return (null, problem);
        }

        try
        {
            // The whole body is checked here: it is passed on as it is (the api forwards it to the worker).
            using var document = JsonDocument.Parse(body);
            return (body, null);
        }
        catch (JsonException ex)
        {
            return (null, Rejected(request, Malformed($"The body is not valid JSON ({ex.Message}); send {example}.")));
        }
    }

    /// <summary>The body deserialized as <typeparamref name="T"/> with <see cref="SerializerOptions"/>; or the problem to answer with.</summary>
    public static async Task<(T? Value, ProblemHttpResult? Problem)> ReadAsync<T>(
        HttpRequest request, int maxBytes, string example, CancellationToken cancellationToken)
        where T : class
    {
        var (body, problem) = await ReadObjectStartAsync(request, maxBytes, example, cancellationToken);
        if (problem is not null)
        {
            return (null, problem);
        }

        // Syntax first, so that what the deserializer refuses afterwards is a field's fault and can be named.
        if (SyntaxError(body!) is { } syntax)
        {
            return (null, Rejected(request, Malformed($"The body is not valid JSON ({syntax}); send {example}.")));
        }

        try
        {
            return JsonSerializer.Deserialize<T>(body, SerializerOptions) is { } value
                ? (value, null)
                : (null, Rejected(request, Malformed($"The body is JSON null; send {example}.")));
        }
        catch (JsonException ex)
        {
            return (null, Rejected(request, InvalidField(typeof(T), ex.Path, example)));
        }
    }

    private static string? SyntaxError(byte[] body)
    {
        try
        {
            var reader = new Utf8JsonReader(body);
            while (reader.Read())
            {
            }

            return null;
        }
        catch (JsonException ex)
        {
            return ex.Message;
        }
    }

    /// <summary>
    /// The problem for a well-formed body the deserializer refused at <paramref name="path"/> (<c>$.latencyMs</c>,
    /// <c>$.urls[0]</c>): a top-level name the request type lacks is an unknown field, anything else a wrong type.
    /// The field is named in the detail and, as in a validation problem, under <c>errors</c>.
    /// </summary>
    private static ProblemHttpResult InvalidField(Type requestType, string? path, string example)
    {
        var field = path is { Length: > 2 } && path.StartsWith("$.", StringComparison.Ordinal) ? path[2..] : path ?? "$";
        var member = SerializerOptions.GetTypeInfo(requestType).Properties.FirstOrDefault(p => p.Name == field);
        var known = member is not null || field.IndexOfAny(['.', '[']) >= 0;
        var message = !known
            ? $"Unknown field '{field}'; the fields are: {string.Join(", ", SerializerOptions.GetTypeInfo(requestType).Properties.Select(p => p.Name))}."
            : member is null
                ? $"Field '{field}' has the wrong type."
                : $"Field '{field}' must be {Expected(member.PropertyType)}.";
        return TypedResults.Problem($"{message} Send {example}.",
            statusCode: StatusCodes.Status400BadRequest, title: "Invalid JSON field",
            extensions: new Dictionary<string, object?> { ["errors"] = new Dictionary<string, string[]> { [field] = [message] } });
    }

    private static string Expected(Type type)
    {
        type = Nullable.GetUnderlyingType(type) ?? type;
        return type == typeof(string) ? "a JSON string"
            : type == typeof(bool) ? "true or false"
            : type.IsPrimitive || type == typeof(decimal) ? "a JSON number (not a string)"
            : type.IsAssignableTo(typeof(System.Collections.IEnumerable)) ? "a JSON array"
            : "a JSON object";
    }

    /// <summary>The body's bytes when it is not empty and starts a JSON object (only its first token is read).</summary>
    private static async Task<(byte[]? Body, ProblemHttpResult? Problem)> ReadObjectStartAsync(
        HttpRequest request, int maxBytes, string example, CancellationToken cancellationToken)
    {
        var (body, problem) = await ReadBytesAsync(request, maxBytes, cancellationToken);
        if (problem is not null)
        {
            return (null, Rejected(request, problem));
        }

        if (body!.Length == 0)
        {
            return (null, Rejected(request, Malformed($"The body is empty; send {example}.")));
        }

        try
        {
            var reader = new Utf8JsonReader(body);
            reader.Read();
            return reader.TokenType == JsonTokenType.StartObject
                ? (body, null)
                : (null, Rejected(request, Malformed($"The body is JSON {Kind(reader.TokenType)}, not an object; send {example}.")));
        }
        catch (JsonException ex)
        {
            return (null, Rejected(request, Malformed($"The body is not valid JSON ({ex.Message}); send {example}.")));
        }
    }

    private static string Kind(JsonTokenType token) => token switch
    {
        JsonTokenType.StartArray => "array",
        JsonTokenType.String => "string",
        JsonTokenType.Number => "number",
        JsonTokenType.True => "true",
        JsonTokenType.False => "false",
        _ => "null",
    };

    public static ProblemHttpResult Malformed(string detail) => TypedResults.Problem(
        detail, statusCode: StatusCodes.Status400BadRequest, title: "Malformed JSON");

    internal static string TitleFor(int status) => status switch
    {
        StatusCodes.Status408RequestTimeout => "Request body too slow",
        StatusCodes.Status413PayloadTooLarge => "Body too large",
        _ => "Bad request body",
    };

    private static async Task<(byte[]? Body, ProblemHttpResult? Problem)> ReadBytesAsync(
        HttpRequest request, int maxBytes, CancellationToken cancellationToken)
    {
        if (!request.HasJsonContentType())
        {
            return (null, Unsupported($"Content-Type must be application/json; got '{request.ContentType ?? "none"}'."));
        }

        if (UnsupportedEncoding(request) is { } unsupported)
        {
            return (null, Unsupported(unsupported));
        }

        // A declared length over the limit is refused before a byte is read.
        if (request.ContentLength > maxBytes)
        {
            return (null, TooLarge(maxBytes));
        }

        var chunk = ArrayPool<byte>.Shared.Rent(ReadSize);
        try
        {
            using var buffer = new MemoryStream(request.ContentLength is { } length ? (int)length : ReadSize);
            int read;
            while ((read = await request.Body.ReadAsync(chunk.AsMemory(0, ReadSize), cancellationToken)) > 0)
            {
                // A chunked body has no declared length: stop at the limit rather than buffer what arrives.
                if (buffer.Length + read > maxBytes)
                {
                    return (null, TooLarge(maxBytes));
                }

                buffer.Write(chunk, 0, read);
            }

            // A body that filled its declared length exactly is handed out without another copy.
            return (buffer.Length == buffer.Capacity ? buffer.GetBuffer() : buffer.ToArray(), null);
        }
        catch (BadHttpRequestException ex)
        {
            // Kestrel's verdict: malformed chunk framing or a body cut short (400), below the minimum data rate (408),
            // over its MaxRequestBodySize (413). Its messages name the fault and carry nothing of ours.
            return (null, ex.StatusCode == StatusCodes.Status413PayloadTooLarge
                ? TooLarge(maxBytes)
                : TypedResults.Problem($"The request body could not be read: {ex.Message}",
                    statusCode: ex.StatusCode, title: TitleFor(ex.StatusCode)));
        }
        catch (IOException ex)
        {
            // The connection was reset mid-body; nobody may be left to read this, but the request is recorded as what it was.
            return (null, TypedResults.Problem($"The connection broke before the body was complete: {ex.Message}",
                statusCode: StatusCodes.Status400BadRequest, title: TitleFor(StatusCodes.Status400BadRequest)));
        }
        catch (OperationCanceledException)
        {
            // The client went away, or the request's deadline passed while its body was still arriving: its fault, not ours.
            return (null, TypedResults.Problem("The request body did not arrive completely before the request was canceled.",
                statusCode: StatusCodes.Status408RequestTimeout, title: TitleFor(StatusCodes.Status408RequestTimeout)));
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(chunk);
        }
    }

    /// <summary>
    /// Why the body's bytes would not be what the client meant, or null. Neither service decodes compressed bodies, and
    /// only UTF-8 is JSON on the wire (RFC 8259): a gzip or UTF-16 body read as UTF-8 JSON would be garbage or, worse,
    /// a different value. Kestrel itself only undoes <c>chunked</c>; any other transfer coding is left in the bytes.
    /// </summary>
    private static string? UnsupportedEncoding(HttpRequest request)
    {
        if (MediaTypeHeaderValue.TryParse(request.ContentType, out var mediaType)
            && mediaType.Charset is { Length: > 0 } charset
            && !charset.Equals("utf-8", StringComparison.OrdinalIgnoreCase)
            && !charset.Equals("\"utf-8\"", StringComparison.OrdinalIgnoreCase))
        {
            return $"Content-Type charset must be utf-8 (or absent); got '{charset}'.";
        }

        foreach (var coding in Codings(request.Headers.ContentEncoding))
        {
            if (!coding.Equals("identity", StringComparison.OrdinalIgnoreCase))
            {
                return $"Content-Encoding '{coding}' is not supported; send the body uncompressed.";
            }
        }

        foreach (var coding in Codings(request.Headers.TransferEncoding))
        {
            if (!coding.Equals("chunked", StringComparison.OrdinalIgnoreCase))
            {
                return $"Transfer-Encoding '{coding}' is not supported; only chunked is.";
            }
        }

        return null;
    }

    private static IEnumerable<string> Codings(Microsoft.Extensions.Primitives.StringValues header) =>
        header.SelectMany(value => (value ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));

    private static ProblemHttpResult Unsupported(string detail) => TypedResults.Problem(
        detail, statusCode: StatusCodes.Status415UnsupportedMediaType, title: "Unsupported media type");

    private static ProblemHttpResult TooLarge(int maxBytes) => TypedResults.Problem(
        $"The body exceeds {maxBytes} bytes.",
        statusCode: StatusCodes.Status413PayloadTooLarge, title: TitleFor(StatusCodes.Status413PayloadTooLarge));

    private static ProblemHttpResult Rejected(HttpRequest request, ProblemHttpResult problem)
    {
        var logger = request.HttpContext.RequestServices.GetService<ILoggerFactory>()?.CreateLogger(typeof(JsonRequestBody))
            ?? NullLogger.Instance;
        LogRejected(logger, request.Method, request.Path, problem.StatusCode, problem.ProblemDetails.Detail);
        return problem;
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "{Method} {Path}: request body refused ({StatusCode}): {Reason}")]
    private static partial void LogRejected(ILogger logger, string method, string path, int statusCode, string? reason);
}
