using System.Diagnostics;
using Microsoft.Extensions.Options;

namespace ObsStack.Worker.Jobs;

public abstract record IntakeResult
{
    public sealed record Accepted(IReadOnlyList<Job> Jobs) : IntakeResult;
    public sealed record Invalid(IDictionary<string, string[]> Errors) : IntakeResult;
    public sealed record Refused(EnqueueOutcome Reason) : IntakeResult;
}

/// <summary>
/// The one way jobs enter the queue, for <c>POST /jobs</c> and the load generator alike: validate every URL
/// (absolute http/https, host on the allow-list), then enqueue the batch whole or refuse it.
/// </summary>
public sealed class JobIntake(
    IJobEngine engine,
    TargetAllowList allowList,
    WorkerTelemetry telemetry,
    IOptions<WorkerPoolOptions> options)
{
    public const int MaxUrlLength = 2048;

    public async ValueTask<IntakeResult> SubmitAsync(IReadOnlyList<string?>? urls, CancellationToken cancellationToken = default)
    {
        var errors = Validate(urls, out var parsed);
        if (errors.Count > 0)
        {
            return new IntakeResult.Invalid(errors);
        }

        var parent = Activity.Current?.Context ?? default;
        var now = DateTimeOffset.UtcNow;
        var ids = JobIds.New(parsed.Count, now);
        var jobs = parsed.Select((url, i) => new Job { Id = ids[i], Url = url, SubmittedAt = now, Parent = parent }).ToList();

        // The engine stores a job only once its batch is accepted, just before it becomes readable: a worker that takes
        // a job at once always finds it, and a refused batch leaves nothing behind.
        var outcome = await engine.EnqueueAsync(jobs, cancellationToken);
        if (outcome == EnqueueOutcome.Accepted)
        {
            return new IntakeResult.Accepted(jobs);
        }

        telemetry.Rejected.Add(jobs.Count, new KeyValuePair<string, object?>("reason", outcome switch
        {
            EnqueueOutcome.QueueFull => "queue_full",
            EnqueueOutcome.Unavailable => "unavailable",
            _ => "shutting_down",
        }));
        return new IntakeResult.Refused(outcome);
    }

    private Dictionary<string, string[]> Validate(IReadOnlyList<string?>? urls, out List<Uri> parsed)
    {
        parsed = [];
        var errors = new Dictionary<string, string[]>();
        var max = options.Value.MaxBatchSize;

        if (urls is null || urls.Count == 0)
        {
            errors["urls"] = ["At least one URL is required: {\"urls\": [\"http://host/path\"]}."];
            return errors;
        }

        if (urls.Count > max)
        {
            errors["urls"] = [$"At most {max} URLs per request ({WorkerPoolOptions.SectionName}:MaxBatchSize); got {urls.Count}. Split the batch."];
            return errors;
        }

        for (var i = 0; i < urls.Count; i++)
        {
            var raw = urls[i];
            var error = raw switch
            {
                null or "" => "The URL is empty.",
                { Length: > MaxUrlLength } => $"The URL is longer than {MaxUrlLength} characters.",
                _ when !Uri.TryCreate(raw, UriKind.Absolute, out var url) || (url.Scheme != Uri.UriSchemeHttp && url.Scheme != Uri.UriSchemeHttps)
                    => $"'{raw}' is not an absolute http or https URL.",
                _ => null,
            };

            if (error is null)
            {
                var url = new Uri(raw!, UriKind.Absolute);
                if (!allowList.IsAllowed(url))
                {
                    // Which key to change, never the list itself: the caller may be anyone who can reach the api.
                    error = $"'{url.Host}:{url.Port}' is not on the allow-list. The worker fetches only the services it is wired to, " +
                        $"its own /demo/work/{{id}}, and what {WorkerPoolOptions.SectionName}:AllowedTargetHosts lists (host:port); add the target there.";
                }
                else
                {
                    parsed.Add(url);
                }
            }

            if (error is not null)
            {
                errors[$"urls[{i}]"] = [error];
            }
        }

        return errors;
    }
}
