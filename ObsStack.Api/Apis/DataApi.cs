using System.Globalization;
using Microsoft.AspNetCore.Http.HttpResults;
using ObsStack.Api.Chaos;
using ObsStack.Api.Data;

namespace ObsStack.Api.Apis;

public static class DataApi
{
    public static IEndpointRouteBuilder MapDataApi(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("").WithTags("Data");

        // {id} is not constrained to int in the route: a constraint would answer 404 where the client deserves 400.
        api.MapGet("/data/{id}", GetData).WithName("GetData").WithSummary("Simulated work; the worker's default job target");

        return app;
    }

    public static async Task<Results<Ok<DataItem>, ProblemHttpResult>> GetData(
        string id, ChaosInjector chaos, DataSimulator data, CancellationToken cancellationToken)
    {
        // NumberStyles.None: digits only, so "+5", " 5" and "1e3" are refused like "abc".
        if (!int.TryParse(id, NumberStyles.None, CultureInfo.InvariantCulture, out var dataId) || dataId < 1)
        {
            return TypedResults.Problem(
                $"'{Truncate(id)}' is not a data id; ids are positive integers up to {int.MaxValue}, e.g. /data/42.",
                statusCode: StatusCodes.Status400BadRequest, title: "Invalid data id");
        }

        if (await chaos.InjectAsync(dataId, cancellationToken) == ChaosFault.Error)
        {
            return TypedResults.Problem(
                $"Chaos injected this failure of data {dataId}; GET /chaos shows the knobs, DELETE /chaos resets them.",
                statusCode: StatusCodes.Status500InternalServerError, title: "Injected failure");
        }

        return await data.LoadAsync(dataId, cancellationToken) is { } item
            ? TypedResults.Ok(item)
            : TypedResults.Problem(
                $"Simulated failure of data {dataId} (Data:ErrorRate); retrying usually succeeds.",
                statusCode: StatusCodes.Status500InternalServerError, title: "Simulated failure");
    }

    /// <summary>An echoed id is cut short: a problem body must not grow with whatever a client sends.</summary>
    private static string Truncate(string value) => value.Length <= 64 ? value : value[..64] + "…";
}
