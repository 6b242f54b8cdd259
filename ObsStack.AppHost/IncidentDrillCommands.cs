using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;

namespace Aspire.Hosting;

/// <summary>
/// The incident drill as buttons on the Aspire dashboard: the api's chaos knobs (<c>PUT</c>/<c>DELETE /chaos</c> with the
/// <c>chaos-key</c> parameter sent as <c>X-Chaos-Key</c>, so nobody copies the key) and a burst of jobs on the worker.
/// Each command's result is a dashboard notification that says what is now in force and until when.
/// </summary>
public static class IncidentDrillCommands
{
    public const string InjectErrorsCommand = "inject-errors";
    public const string InjectLatencyCommand = "inject-latency";
    public const string StopChaosCommand = "stop-chaos";
    public const string JobBurstCommand = "job-burst";

    /// <summary>Half of <c>GET /data/{id}</c> fail for five minutes: the failure alerts go pending within about 30 s.</summary>
    public const double InjectedErrorRate = 0.5;

    /// <summary>+1.5 s on every <c>GET /data/{id}</c>: over the latency alert's 1 s p95, well under the worker's 10 s job timeout.</summary>
    public const int InjectedLatencyMs = 1500;

    /// <summary>Every injection expires by itself (the api's default for <c>PUT /chaos</c>); "Stop chaos" ends it sooner.</summary>
    public const int DurationSeconds = 300;

    /// <summary>Jobs in one burst: a visible step in <c>jobs_queue_depth</c> and <c>workers_active</c>, far below the queue's 100.</summary>
    public const int BurstSize = 50;

    private const string ChaosKeyHeader = "X-Chaos-Key";

    /// <summary>"Inject errors", "Inject latency" and "Stop chaos" on the api, authorized with <paramref name="chaosKey"/>.</summary>
    public static IResourceBuilder<ProjectResource> WithChaosCommands(
        this IResourceBuilder<ProjectResource> api, IResourceBuilder<ParameterResource> chaosKey)
    {
        api.WithHttpCommand("/chaos", "Inject errors", commandName: InjectErrorsCommand, commandOptions: ChaosCommand(
            chaosKey, HttpMethod.Put, new { errorRate = InjectedErrorRate, durationSeconds = DurationSeconds },
            $"Inject errors: {Percent(InjectedErrorRate)} of GET /data/{{id}} answer 500 for {DurationSeconds / 60} minutes (the worker's jobs fail)",
            "ErrorCircle", highlighted: true));
        api.WithHttpCommand("/chaos", "Inject latency", commandName: InjectLatencyCommand, commandOptions: ChaosCommand(
            chaosKey, HttpMethod.Put, new { latencyMs = InjectedLatencyMs, durationSeconds = DurationSeconds },
            $"Inject latency: +{InjectedLatencyMs} ms on every GET /data/{{id}} for {DurationSeconds / 60} minutes",
            "Timer"));
        api.WithHttpCommand("/chaos", "Stop chaos", commandName: StopChaosCommand, commandOptions: ChaosCommand(
            chaosKey, HttpMethod.Delete, body: null, "Stop chaos: every chaos knob off now", "CheckmarkCircle", highlighted: true));
        return api;
    }

    /// <summary>"Burst of jobs" on the worker: <see cref="BurstSize"/> jobs against the api's <c>/data/{id}</c>.</summary>
    public static IResourceBuilder<ProjectResource> WithJobBurstCommand(
        this IResourceBuilder<ProjectResource> worker, IResourceBuilder<ProjectResource> api)
    {
        var target = api.GetEndpoint("http");
        return worker.WithHttpCommand("/jobs", $"Burst of {BurstSize} jobs", commandName: JobBurstCommand, commandOptions: new HttpCommandOptions
        {
            Method = HttpMethod.Post,
            UpdateState = EnabledWhileRunning,
            Description = $"Burst of jobs: queue {BurstSize} jobs at once against the api's GET /data/{{id}}, beside the load generator's steady rate",
            IconName = "Flash",
            PrepareRequest = context =>
            {
                var urls = Enumerable.Range(1, BurstSize).Select(id => $"{target.Url}/data/{id}").ToArray();
                context.Request.Content = JsonContent.Create(new { urls });
                return Task.CompletedTask;
            },
            GetCommandResult = context => ResultAsync(context,
                _ => $"{BurstSize} jobs queued: watch jobs_queue_depth and workers_active on the worker's metrics"),
        });
    }

    private static HttpCommandOptions ChaosCommand(
        IResourceBuilder<ParameterResource> chaosKey, HttpMethod method, object? body, string description, string icon,
        bool highlighted = false) => new()
    {
        Method = method,
        // Highlighted: a button on the api's row in the resources list, one click away, whose tooltip is the description
        // (so each description starts with the command's name); the others are under Actions → Commands.
        IsHighlighted = highlighted,
        UpdateState = EnabledWhileRunning,
        Description = description,
        IconName = icon,
        PrepareRequest = async context =>
        {
            context.Request.Headers.Add(ChaosKeyHeader, await chaosKey.Resource.GetValueAsync(context.CancellationToken));
            if (body is not null)
            {
                context.Request.Content = JsonContent.Create(body);
            }
        },
        GetCommandResult = context => ResultAsync(context, Describe),
    };

    /// <summary>A command on a service that is not running would only fail: it is shown disabled until the service runs.</summary>
    private static ResourceCommandState EnabledWhileRunning(UpdateCommandStateContext context) =>
        context.ResourceSnapshot.State?.Text == KnownResourceStates.Running ? ResourceCommandState.Enabled : ResourceCommandState.Disabled;

    /// <summary>The api's answers are a few hundred bytes; anything far larger is not one of them and is not read whole.</summary>
    public const int MaxAnswerBytes = 64 * 1024;

    private static async Task<ExecuteCommandResult> ResultAsync(HttpCommandResultContext context, Func<JsonElement, string> describe)
    {
        var response = context.Response;
        try
        {
            await response.Content.LoadIntoBufferAsync(MaxAnswerBytes, context.CancellationToken);
        }
        catch (HttpRequestException)
        {
            return CommandResults.Failure($"{(int)response.StatusCode} {response.ReasonPhrase}: an answer over {MaxAnswerBytes} bytes");
        }

        var body = await response.Content.ReadAsStringAsync(context.CancellationToken);
        return Result(response.StatusCode, response.ReasonPhrase, body, describe);
    }

    /// <summary>
    /// What a chaos command answers for the api's response: on success what is now in force and until when; on a
    /// refusal the status and the api's own problem detail (a wrong key: 403 and which setting to send).
    /// </summary>
    public static ExecuteCommandResult ChaosCommandResult(HttpStatusCode status, string? reasonPhrase, string body) =>
        Result(status, reasonPhrase, body, Describe);

    private static ExecuteCommandResult Result(HttpStatusCode status, string? reasonPhrase, string body, Func<JsonElement, string> describe)
    {
        JsonElement json = default;
        try
        {
            using var document = JsonDocument.Parse(body);
            json = document.RootElement.Clone();
        }
        catch (JsonException)
        {
            // Not JSON (a proxy's error page, an empty body): the status alone says what happened.
        }

        if ((int)status is < 200 or > 299)
        {
            var detail = json.ValueKind == JsonValueKind.Object && json.TryGetProperty("detail", out var d) ? d.GetString() : null;
            return CommandResults.Failure($"{(int)status} {reasonPhrase}: {detail ?? "no detail"}");
        }

        return CommandResults.Success(describe(json));
    }

    private static string Percent(double rate) => (rate * 100).ToString("0.#", CultureInfo.InvariantCulture) + "%";

    /// <summary>The api's <c>ChaosView</c> in words: what is injected and until when.</summary>
    private static string Describe(JsonElement view)
    {
        if (view.ValueKind != JsonValueKind.Object || !view.TryGetProperty("active", out var active) || !active.GetBoolean())
        {
            return "Chaos off: GET /data/{id} runs normally.";
        }

        var parts = new List<string>();
        if (view.GetProperty("errorRate").GetDouble() is > 0 and var errorRate)
        {
            parts.Add($"{Percent(errorRate)} errors");
        }

        if (view.GetProperty("latencyMs").GetInt32() is > 0 and var latency)
        {
            parts.Add($"+{latency} ms latency");
        }

        if (view.GetProperty("exceptionRate").GetDouble() is > 0 and var exceptionRate)
        {
            parts.Add($"{Percent(exceptionRate)} exceptions");
        }

        var until = view.TryGetProperty("expiresAt", out var expires) && expires.ValueKind == JsonValueKind.String
            ? $" until {expires.GetDateTimeOffset().ToUniversalTime().ToString("HH:mm:ss", CultureInfo.InvariantCulture)} UTC"
            : "";
        return $"Chaos on: {string.Join(", ", parts)} on GET /data/{{id}}{until}.";
    }
}
