using Microsoft.AspNetCore.Http.HttpResults;
using ObsStack.ServiceDefaults.Http;

namespace ObsStack.Api.Apis;

/// <summary>
/// The public job intake, forwarded to the worker. The api checks the envelope (Content-Type, size, well-formed JSON,
/// id format) so those answers do not depend on the worker being up; the worker judges the content (URLs, allow-list,
/// batch size, queue room) and its answers pass through unchanged.
/// </summary>
public static class JobsApi
{
    /// <summary>The worker's own limit for <c>POST /jobs</c>; a larger body would only be refused one hop later.</summary>
    public const int MaxBodyBytes = HttpRequestLimits.MaxRequestBodyBytes;

    private const string Example = "{\"urls\": [\"http://host/path\"]}";

    public static IEndpointRouteBuilder MapJobsApi(this IEndpointRouteBuilder app)
    {
        // Full paths rather than a "/jobs" prefix: a group's "" route would be reported as http.route "/jobs/".
        var api = app.MapGroup("").WithTags("Jobs");

        api.MapPost("/jobs", SubmitJobs).WithName("SubmitJobs").WithSummary("Queue HTTP-fetch jobs on the worker: " + Example);
        api.MapGet("/jobs/{id}", GetJob).WithName("GetJob").WithSummary("State and result of one job, from the worker");

        return app;
    }

    public static async Task<Results<WorkerResponse, ProblemHttpResult>> SubmitJobs(
        HttpRequest request, WorkerClient worker, CancellationToken cancellationToken)
    {
        var (body, problem) = await JsonRequestBody.ReadAsync(request, MaxBodyBytes, Example, cancellationToken);
        if (problem is not null)
        {
            return problem;
        }

        return await worker.SendAsync(HttpMethod.Post, "/jobs", body, cancellationToken);
    }

    public static async Task<Results<WorkerResponse, ProblemHttpResult>> GetJob(
        string id, WorkerClient worker, CancellationToken cancellationToken)
    {
        if (!Guid.TryParse(id, out var jobId))
        {
            return TypedResults.Problem(
                $"'{(id.Length <= 64 ? id : id[..64] + "…")}' is not a job id; ids are GUIDs as returned by POST /jobs.",
                statusCode: StatusCodes.Status400BadRequest, title: "Invalid job id");
        }

        return await worker.SendAsync(HttpMethod.Get, $"/jobs/{jobId}", null, cancellationToken);
    }
}
