using Microsoft.AspNetCore.Http.HttpResults;

namespace ObsStack.Worker.Apis;

/// <summary>
/// The load generator's own target when the worker runs alone: a little latency and the occasional error, so a
/// newcomer sees successes, failures and a latency distribution without any other service.
/// </summary>
public static class DemoTargetApi
{
    public static IEndpointRouteBuilder MapDemoTargetApi(this IEndpointRouteBuilder app)
    {
        app.MapGet("/demo/work/{id:int}", DoWork).WithName("DemoWork").WithSummary("Simulated work for the standalone load generator");
        return app;
    }

    public static async Task<Results<Ok<DemoWorkResult>, ProblemHttpResult>> DoWork(int id, CancellationToken cancellationToken)
    {
        // Mostly fast, a long tail, 5% errors: enough shape for p50/p95/p99 and the failure ratio to mean something.
        var roll = Random.Shared.NextDouble();
        var delay = roll < 0.9 ? Random.Shared.Next(5, 60) : Random.Shared.Next(100, 600);
        await Task.Delay(delay, cancellationToken);

        return roll > 0.95
            ? TypedResults.Problem($"Simulated failure for item {id}.", statusCode: StatusCodes.Status500InternalServerError)
            : TypedResults.Ok(new DemoWorkResult(id, delay));
    }
}

public sealed record DemoWorkResult(int Id, int DelayMs);
