using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;
using ObsStack.Api.Chaos;

namespace ObsStack.Api.Apis;

/// <summary>Body of <c>PUT /chaos</c>. A PUT replaces the knobs whole: an omitted knob is 0 (off).</summary>
public sealed record ChaosRequest(int? LatencyMs, double? ErrorRate, double? ExceptionRate, int? DurationSeconds);

public sealed record ChaosView(bool Active, int LatencyMs, double ErrorRate, double ExceptionRate, DateTimeOffset? ExpiresAt)
{
    public static ChaosView From(ChaosSettings settings) =>
        new(settings.IsActive, settings.LatencyMs, settings.ErrorRate, settings.ExceptionRate, settings.ExpiresAt);
}

/// <summary>
/// The incident knobs: <c>PUT /chaos</c> makes <c>GET /data/{id}</c> slower, failing (500) or throwing (an unhandled
/// exception, for the recovery path), <c>DELETE /chaos</c> resets, <c>GET /chaos</c> shows what is in force.
/// </summary>
public static class ChaosApi
{
    public const int MaxBodyBytes = 4 * 1024;

    private const string Example = "{\"latencyMs\": 500, \"errorRate\": 0.5, \"exceptionRate\": 0, \"durationSeconds\": 300}";

    // Unknown members are refused: "error_rate" silently ignored would look like a knob that does nothing.
    private static readonly JsonSerializerOptions Strict = new(JsonSerializerOptions.Web)
    {
        UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
    };

    public static IEndpointRouteBuilder MapChaosApi(this IEndpointRouteBuilder app)
    {
        // Full paths rather than a "/chaos" prefix: a group's "" route would be reported as http.route "/chaos/".
        var api = app.MapGroup("").WithTags("Chaos");

        api.MapGet("/chaos", GetChaos).WithName("GetChaos").WithSummary("The chaos knobs in force");
        api.MapPut("/chaos", SetChaos).WithName("SetChaos").WithSummary("Set latency, error and exception injection on GET /data/{id}: " + Example);
        api.MapDelete("/chaos", ResetChaos).WithName("ResetChaos").WithSummary("Turn every chaos knob off");

        return app;
    }

    public static Ok<ChaosView> GetChaos(ChaosState state) => TypedResults.Ok(ChaosView.From(state.Current));

    public static async Task<Results<Ok<ChaosView>, ValidationProblem, ProblemHttpResult>> SetChaos(
        HttpRequest request, ChaosState state, IOptions<ApiOptions> options, CancellationToken cancellationToken)
    {
        if (!options.Value.ChaosEnabled)
        {
            return TypedResults.Problem(
                $"Chaos knobs are disabled on this instance ({ApiOptions.SectionName}:ChaosEnabled=false). DELETE /chaos still resets them.",
                statusCode: StatusCodes.Status403Forbidden, title: "Chaos disabled");
        }

        var (body, problem) = await JsonBody.ReadAsync(request, MaxBodyBytes, Example, cancellationToken);
        if (problem is not null)
        {
            return problem;
        }

        ChaosRequest knobs;
        try
        {
            knobs = JsonSerializer.Deserialize<ChaosRequest>(body!, Strict)!;
        }
        catch (JsonException ex)
        {
            return JsonBody.Malformed($"The body does not match {Example}: {ex.Message}");
        }

        if (Validate(knobs) is { Count: > 0 } errors)
        {
            return TypedResults.ValidationProblem(errors, title: "The chaos settings are invalid.");
        }

        var duration = knobs.DurationSeconds is { } seconds ? TimeSpan.FromSeconds(seconds) : (TimeSpan?)null;
        var settings = state.Set(knobs.LatencyMs ?? 0, knobs.ErrorRate ?? 0, knobs.ExceptionRate ?? 0, duration);
        return TypedResults.Ok(ChaosView.From(settings));
    }

    public static Ok<ChaosView> ResetChaos(ChaosState state) => TypedResults.Ok(ChaosView.From(state.Reset()));

    private static Dictionary<string, string[]> Validate(ChaosRequest knobs)
    {
        var errors = new Dictionary<string, string[]>();
        if (knobs.LatencyMs is < 0 or > ChaosSettings.MaxLatencyMs)
        {
            errors["latencyMs"] = [$"Must be between 0 and {ChaosSettings.MaxLatencyMs} (milliseconds added to every GET /data/{{id}})."];
        }

        if (knobs.ErrorRate is { } errorRate && !(errorRate is >= 0 and <= 1))
        {
            errors["errorRate"] = ["Must be between 0 and 1 (the share of GET /data/{id} answered with 500)."];
        }

        if (knobs.ExceptionRate is { } exceptionRate && !(exceptionRate is >= 0 and <= 1))
        {
            errors["exceptionRate"] = ["Must be between 0 and 1 (the share of GET /data/{id} that throw an unhandled exception)."];
        }

        if (!errors.ContainsKey("errorRate") && !errors.ContainsKey("exceptionRate") && (knobs.ErrorRate ?? 0) + (knobs.ExceptionRate ?? 0) > 1)
        {
            errors["errorRate"] = ["errorRate + exceptionRate must not exceed 1: one request fails one way."];
        }

        if (knobs.DurationSeconds is < 1 or > ChaosSettings.MaxDurationSeconds)
        {
            errors["durationSeconds"] = [$"Must be between 1 and {ChaosSettings.MaxDurationSeconds}, or omitted to keep the knobs until DELETE /chaos."];
        }

        return errors;
    }
}
