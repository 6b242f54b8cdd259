using System.Net;
using System.Net.Http.Headers;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;

namespace ObsStack.Api.Apis;

/// <summary>
/// The api's view of the worker's job API. Every call ends within <see cref="ApiOptions.WorkerTimeout"/>: the worker's
/// answer (status, body, Location, Retry-After as the worker sent them), or a problem+json saying what went wrong —
/// 503 when the worker is not configured or unreachable, 504 when it is too slow, 502 when it failed.
/// </summary>
public sealed partial class WorkerClient(HttpClient http, IOptions<ApiOptions> options, ILogger<WorkerClient> logger)
{
    /// <summary>The Aspire resource name, and the <c>services:{name}</c> configuration the address comes from.</summary>
    public const string ServiceName = "worker";

    public const string AddressKey = "services__worker__http__0";

    /// <summary>Largest worker answer buffered; a job view is a few hundred bytes, a batch of 100 accepted jobs ~20 KB.</summary>
    public const int MaxResponseBytes = 1024 * 1024;

    private readonly TimeSpan _timeout = options.Value.WorkerTimeout;

    public async Task<Results<WorkerResponse, ProblemHttpResult>> SendAsync(
        HttpMethod method, string path, byte[]? jsonBody, CancellationToken cancellationToken)
    {
        if (http.BaseAddress is null)
        {
            return TypedResults.Problem(
                $"The api does not know where the worker is. Set {AddressKey} (configuration key services:worker:http:0) to the worker's base URL, e.g. http://localhost:5180; under Aspire, WithReference(worker) sets it.",
                statusCode: StatusCodes.Status503ServiceUnavailable, title: "Worker not configured");
        }

        using var request = new HttpRequestMessage(method, path);
        if (jsonBody is not null)
        {
            request.Content = new ByteArrayContent(jsonBody);
            request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        }

        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(_timeout);
        try
        {
            // ResponseContentRead: the whole answer arrives within the deadline, buffered up to MaxResponseBytes.
            using var response = await http.SendAsync(request, HttpCompletionOption.ResponseContentRead, deadline.Token);
            var body = await response.Content.ReadAsByteArrayAsync(deadline.Token);

            if ((int)response.StatusCode >= 500 && response.StatusCode != HttpStatusCode.ServiceUnavailable)
            {
                LogWorkerFailed(method.Method, path, (int)response.StatusCode);
                return TypedResults.Problem(
                    $"The worker answered {method.Method} {path} with HTTP {(int)response.StatusCode}; nothing was changed by the api.",
                    statusCode: StatusCodes.Status502BadGateway, title: "Worker failed");
            }

            // 2xx, 4xx (its validation problems, 404, 429) and 503 (shutting down, with Retry-After) mean the same to
            // the client as they meant to the api: passed through unchanged.
            return new WorkerResponse(
                (int)response.StatusCode,
                response.Content.Headers.ContentType?.ToString(),
                response.Headers.Location?.OriginalString,
                response.Headers.RetryAfter?.ToString(),
                body);
        }
        catch (OperationCanceledException) when (deadline.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            LogWorkerTimedOut(method.Method, path, _timeout.TotalSeconds);
            return TypedResults.Problem(
                $"The worker did not answer {method.Method} {path} within {_timeout.TotalSeconds:0.###} s ({ApiOptions.SectionName}:WorkerTimeout). A POST may still have been accepted: check GET /jobs/{{id}} before retrying.",
                statusCode: StatusCodes.Status504GatewayTimeout, title: "Worker timeout");
        }
        catch (HttpRequestException ex)
        {
            LogWorkerUnreachable(method.Method, path, http.BaseAddress, ex.HttpRequestError, ex.Message);
            return TypedResults.Problem(
                $"The worker at {http.BaseAddress} is unreachable ({ex.HttpRequestError}: {ex.Message}). Nothing was forwarded; retry when it is up.",
                statusCode: StatusCodes.Status503ServiceUnavailable, title: "Worker unavailable");
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Worker unreachable: {Method} {Path} to {WorkerAddress} failed with {HttpRequestError}: {Error}")]
    private partial void LogWorkerUnreachable(string method, string path, Uri workerAddress, HttpRequestError httpRequestError, string error);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Worker timeout: {Method} {Path} got no complete answer within {TimeoutSeconds} s")]
    private partial void LogWorkerTimedOut(string method, string path, double timeoutSeconds);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Worker failed: {Method} {Path} answered HTTP {StatusCode}")]
    private partial void LogWorkerFailed(string method, string path, int statusCode);
}

/// <summary>The worker's answer, written back as it came: status, Content-Type, Location, Retry-After and body.</summary>
public sealed class WorkerResponse(int statusCode, string? contentType, string? location, string? retryAfter, byte[] body)
    : IResult, IStatusCodeHttpResult
{
    public int StatusCode { get; } = statusCode;

    int? IStatusCodeHttpResult.StatusCode => StatusCode;

    public string? ContentType { get; } = contentType;

    public byte[] Body { get; } = body;

    public async Task ExecuteAsync(HttpContext httpContext)
    {
        var response = httpContext.Response;
        response.StatusCode = StatusCode;
        if (ContentType is not null)
        {
            response.ContentType = ContentType;
        }

        if (location is not null)
        {
            response.Headers.Location = location;
        }

        if (retryAfter is not null)
        {
            response.Headers.RetryAfter = retryAfter;
        }

        response.ContentLength = Body.Length;
        await response.Body.WriteAsync(Body, httpContext.RequestAborted);
    }
}
