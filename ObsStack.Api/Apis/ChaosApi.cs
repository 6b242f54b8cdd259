using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;
using ObsStack.Api.Chaos;
using ObsStack.ServiceDefaults.Http;

namespace ObsStack.Api.Apis;

/// <summary>
/// Body of <c>PUT /chaos</c>. A PUT replaces the knobs whole: an omitted knob is 0 (off); an omitted duration is
/// <see cref="ChaosSettings.DefaultDurationSeconds"/>.
/// </summary>
public sealed record ChaosRequest(int? LatencyMs, double? ErrorRate, double? ExceptionRate, int? DurationSeconds);

public sealed record ChaosView(bool Active, int LatencyMs, double ErrorRate, double ExceptionRate, DateTimeOffset? ExpiresAt)
{
    public static ChaosView From(ChaosSettings settings) =>
        new(settings.IsActive, settings.LatencyMs, settings.ErrorRate, settings.ExceptionRate, settings.ExpiresAt);
}

/// <summary>
/// The incident knobs: <c>PUT /chaos</c> makes <c>GET /data/{id}</c> slower, failing (500) or throwing (an unhandled
/// exception, for the recovery path), <c>DELETE /chaos</c> resets, <c>GET /chaos</c> shows what is in force.
/// Changing them needs the key (<see cref="ChaosGuard"/>); every change expires.
/// </summary>
public static class ChaosApi
{
    public const int MaxBodyBytes = 4 * 1024;

    private const string Example = "{\"latencyMs\": 500, \"errorRate\": 0.5, \"exceptionRate\": 0, \"durationSeconds\": 300}";

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
        HttpRequest request, ChaosState state, ChaosGuard guard, IOptions<ApiOptions> options, CancellationToken cancellationToken)
    {
        if (guard.Refuse(request) is { } refused)
        {
            return refused;
        }

        var (knobs, problem) = await JsonRequestBody.ReadAsync<ChaosRequest>(request, MaxBodyBytes, Example, cancellationToken);
        if (problem is not null)
        {
            return problem;
        }

        if (Validate(knobs!, MaxLatencyMs(options.Value)) is { Count: > 0 } errors)
        {
            return TypedResults.ValidationProblem(errors, title: "The chaos settings are invalid.");
        }

        var duration = TimeSpan.FromSeconds(knobs!.DurationSeconds ?? ChaosSettings.DefaultDurationSeconds);
        var settings = state.Set(knobs.LatencyMs ?? 0, knobs.ErrorRate ?? 0, knobs.ExceptionRate ?? 0, duration);
        return TypedResults.Ok(ChaosView.From(settings));
    }

    public static Results<Ok<ChaosView>, ProblemHttpResult> ResetChaos(HttpRequest request, ChaosState state, ChaosGuard guard) =>
        guard.Refuse(request) is { } refused ? refused : TypedResults.Ok(ChaosView.From(state.Reset()));

    /// <summary>Injected latency stays under half the request deadline, so a slowed request is slow, not a 504.</summary>
    private static int MaxLatencyMs(ApiOptions options) =>
        (int)Math.Min(ChaosSettings.MaxLatencyMs, options.RequestTimeout.TotalMilliseconds / 2);

    private static Dictionary<string, string[]> Validate(ChaosRequest knobs, int maxLatencyMs)
    {
        var errors = new Dictionary<string, string[]>();
        if (knobs.LatencyMs < 0 || knobs.LatencyMs > maxLatencyMs)
        {
            errors["latencyMs"] = [$"Must be between 0 and {maxLatencyMs} (milliseconds added to every GET /data/{{id}}; at most {ChaosSettings.MaxLatencyMs} and half of {ApiOptions.SectionName}:RequestTimeout)."];
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
            errors["durationSeconds"] = [$"Must be between 1 and {ChaosSettings.MaxDurationSeconds}, or omitted for {ChaosSettings.DefaultDurationSeconds}: every change expires."];
        }

        return errors;
    }
}
