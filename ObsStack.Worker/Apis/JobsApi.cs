using System.Text.Json;
using Microsoft.AspNetCore.Http.HttpResults;
using ObsStack.Worker.Jobs;

namespace Microsoft.AspNetCore.Builder;

public sealed record SubmitJobsRequest(IReadOnlyList<string?>? Urls);

public sealed record AcceptedJob(Guid Id, string Url, string Location);

public sealed record SubmitJobsResponse(IReadOnlyList<AcceptedJob> Jobs);

public static class JobsApi
{
    /// <summary>Largest accepted <c>POST /jobs</c> body; 100 URLs of 2 KB fit with room to spare.</summary>
    public const int MaxBodyBytes = 256 * 1024;

    /// <summary>Seconds a client is asked to wait when the queue is full: about one job's time at the default rate.</summary>
    public const int RetryAfterSeconds = 1;

    public static IEndpointRouteBuilder MapJobsApi(this IEndpointRouteBuilder app)
    {
        // Full paths rather than a "/jobs" prefix: a group's "" route would be reported as http.route "/jobs/".
        var api = app.MapGroup("").WithTags("Jobs");

        api.MapPost("/jobs", SubmitJobs).WithName("SubmitJobs").WithSummary("Queue HTTP-fetch jobs: {\"urls\": [...]}");
        api.MapGet("/jobs/{id}", GetJob).WithName("GetJob").WithSummary("State and result of one job");

        return app;
    }

    public static async Task<Results<Accepted<SubmitJobsResponse>, ValidationProblem, ProblemHttpResult>> SubmitJobs(
        HttpRequest request, JobIntake intake, CancellationToken cancellationToken)
    {
        var (body, problem) = await ReadBodyAsync(request, cancellationToken);
        if (problem is not null)
        {
            return problem;
        }

        switch (intake.Submit(body!.Urls))
        {
            case IntakeResult.Accepted accepted:
                var jobs = accepted.Jobs.Select(j => new AcceptedJob(j.Id, j.Url.ToString(), $"/jobs/{j.Id}")).ToList();
                return TypedResults.Accepted(jobs.Count == 1 ? jobs[0].Location : null, new SubmitJobsResponse(jobs));

            case IntakeResult.Invalid invalid:
                return TypedResults.ValidationProblem(invalid.Errors, title: "The job request is invalid.");

            case IntakeResult.Refused { Reason: EnqueueOutcome.QueueFull }:
                request.HttpContext.Response.Headers.RetryAfter = RetryAfterSeconds.ToString();
                return TypedResults.Problem(
                    "The job queue is full; nothing from this request was queued. Retry after the Retry-After delay.",
                    statusCode: StatusCodes.Status429TooManyRequests, title: "Queue full");

            default:
                request.HttpContext.Response.Headers.RetryAfter = "5";
                return TypedResults.Problem(
                    "The worker is shutting down and accepts no new jobs; nothing from this request was queued. Retry against a running instance.",
                    statusCode: StatusCodes.Status503ServiceUnavailable, title: "Shutting down");
        }
    }

    public static Results<Ok<JobView>, ProblemHttpResult> GetJob(string id, JobStore store)
    {
        if (!Guid.TryParse(id, out var jobId))
        {
            return TypedResults.Problem($"'{id}' is not a job id; ids are GUIDs as returned by POST /jobs.",
                statusCode: StatusCodes.Status400BadRequest, title: "Invalid job id");
        }

        return store.Get(jobId) is { } job
            ? TypedResults.Ok(job)
            : TypedResults.Problem($"No job {jobId}: it never existed or is older than the most recent WorkerPool:ResultCapacity jobs.",
                statusCode: StatusCodes.Status404NotFound, title: "Job not found");
    }

    /// <summary>Reads the body with explicit limits so each bad request gets its own status and a message that says what to fix.</summary>
    private static async Task<(SubmitJobsRequest? Body, ProblemHttpResult? Problem)> ReadBodyAsync(HttpRequest request, CancellationToken cancellationToken)
    {
        if (!request.HasJsonContentType())
        {
            return (null, TypedResults.Problem(
                $"Content-Type must be application/json; got '{request.ContentType ?? "none"}'.",
                statusCode: StatusCodes.Status415UnsupportedMediaType, title: "Unsupported media type"));
        }

        if (request.ContentLength > MaxBodyBytes)
        {
            return (null, TooLarge());
        }

        using var buffer = new MemoryStream();
        var chunk = new byte[8192];
        int read;
        while ((read = await request.Body.ReadAsync(chunk, cancellationToken)) > 0)
        {
            if (buffer.Length + read > MaxBodyBytes)
            {
                return (null, TooLarge());
            }

            buffer.Write(chunk, 0, read);
        }

        try
        {
            var body = JsonSerializer.Deserialize<SubmitJobsRequest>(buffer.GetBuffer().AsSpan(0, (int)buffer.Length), JsonSerializerOptions.Web);
            return body is null
                ? (null, Malformed("The body is JSON null; send {\"urls\": [\"http://host/path\"]}."))
                : (body, null);
        }
        catch (JsonException ex)
        {
            return (null, Malformed($"The body is not valid JSON for {{\"urls\": [\"...\"]}}: {ex.Message}"));
        }
    }

    private static ProblemHttpResult TooLarge() => TypedResults.Problem(
        $"The body exceeds {MaxBodyBytes} bytes. Send fewer URLs per request.",
        statusCode: StatusCodes.Status413PayloadTooLarge, title: "Body too large");

    private static ProblemHttpResult Malformed(string detail) => TypedResults.Problem(
        detail, statusCode: StatusCodes.Status400BadRequest, title: "Malformed JSON");
}
