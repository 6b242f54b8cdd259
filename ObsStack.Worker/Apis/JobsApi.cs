using Microsoft.AspNetCore.Http.HttpResults;
using ObsStack.ServiceDefaults.Http;
using ObsStack.Worker.Jobs;

namespace ObsStack.Worker.Apis;

public sealed record SubmitJobsRequest(IReadOnlyList<string?>? Urls);

public sealed record AcceptedJob(Guid Id, string Url, string Location);

public sealed record SubmitJobsResponse(IReadOnlyList<AcceptedJob> Jobs);

public static class JobsApi
{
    /// <summary>Largest accepted <c>POST /jobs</c> body; 100 URLs of 2 KB fit with room to spare.</summary>
    public const int MaxBodyBytes = HttpRequestLimits.MaxRequestBodyBytes;

    private const string Example = "{\"urls\": [\"http://host/path\"]}";

    /// <summary>Seconds a client is asked to wait when the queue is full: about one job's time at the default rate.</summary>
    public const int RetryAfterSeconds = 1;

    /// <summary>Seconds a client is asked to wait when the job engine (Redis) is unreachable: a restart's usual length.</summary>
    public const int UnavailableRetryAfterSeconds = 5;

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
        var (body, problem) = await JsonRequestBody.ReadAsync<SubmitJobsRequest>(request, MaxBodyBytes, Example, cancellationToken);
        if (problem is not null)
        {
            return problem;
        }

        switch (await intake.SubmitAsync(body!.Urls, cancellationToken))
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

            case IntakeResult.Refused { Reason: EnqueueOutcome.Unavailable }:
                request.HttpContext.Response.Headers.RetryAfter = UnavailableRetryAfterSeconds.ToString();
                // Unreachable: the client fails fast and nothing was sent. Only slow: the batch may still land, which the
                // answer says rather than promise "nothing queued".
                return EngineUnavailable("nothing from this request was queued if Redis was unreachable; if it was only slow (past WorkerPool:EngineTimeout), the batch may still have been queued");

            default:
                request.HttpContext.Response.Headers.RetryAfter = "5";
                return TypedResults.Problem(
                    "The worker is shutting down and accepts no new jobs; nothing from this request was queued. Retry against a running instance.",
                    statusCode: StatusCodes.Status503ServiceUnavailable, title: "Shutting down");
        }
    }

    public static async Task<Results<Ok<JobView>, ProblemHttpResult>> GetJob(
        string id, IJobEngine engine, HttpResponse response, CancellationToken cancellationToken)
    {
        if (!Guid.TryParse(id, out var jobId))
        {
            return TypedResults.Problem($"'{id}' is not a job id; ids are GUIDs as returned by POST /jobs.",
                statusCode: StatusCodes.Status400BadRequest, title: "Invalid job id");
        }

        JobView? job;
        try
        {
            job = await engine.GetAsync(jobId, cancellationToken);
        }
        catch (JobEngineUnavailableException)
        {
            response.Headers.RetryAfter = UnavailableRetryAfterSeconds.ToString();
            return EngineUnavailable("the job's state cannot be read now");
        }

        return job is not null
            ? TypedResults.Ok(job)
            : TypedResults.Problem($"No job {jobId}: it never existed or is older than the most recent WorkerPool:ResultCapacity jobs (with Redis: or than WorkerPool:ResultRetention).",
                statusCode: StatusCodes.Status404NotFound, title: "Job not found");
    }

    private static ProblemHttpResult EngineUnavailable(string consequence) =>
        TypedResults.Problem(
            $"The job engine (Redis) is unreachable; {consequence}. Retry after the Retry-After delay.",
            statusCode: StatusCodes.Status503ServiceUnavailable, title: "Job engine unavailable");
}
