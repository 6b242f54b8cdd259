using System.Diagnostics;
using System.Text.Json.Serialization;

namespace ObsStack.Worker.Jobs;

[JsonConverter(typeof(JsonStringEnumConverter<JobState>))]
public enum JobState
{
    Queued,
    Running,
    Completed,
}

/// <summary>Outcome of a job; the lower-case names are the <c>status</c> label of <c>jobs_total</c>.</summary>
public static class JobStatus
{
    public const string Success = "success";
    public const string Failed = "failed";
    public const string Timeout = "timeout";
    /// <summary>
    /// Accepted but never to run: stopped by an in-process worker's shutdown (before it started, or after the grace
    /// period), or, with Redis, given up after <see cref="WorkerPoolOptions.MaxAttempts"/> attempts that each ended without an outcome.
    /// </summary>
    public const string Canceled = "canceled";
}

public sealed record JobResult(
    string Status,
    int? HttpStatusCode,
    double DurationSeconds,
    long Bytes,
    string? Error,
    int? WorkerId);

/// <summary>One HTTP-fetch job, from acceptance to result. Mutated only through <see cref="JobStore"/>.</summary>
public sealed class Job
{
    public required Guid Id { get; init; }
    public required Uri Url { get; init; }
    public required DateTimeOffset SubmittedAt { get; init; }

    /// <summary>The submitting request's span: the job's span continues its trace.</summary>
    [JsonIgnore]
    public ActivityContext Parent { get; init; }

    /// <summary>With Redis: the stream entry this delivery came from (acknowledged when the job's outcome is recorded).</summary>
    [JsonIgnore]
    public string? EntryId { get; init; }

    /// <summary>Which run of the job this is: above 1 only when an earlier run ended without an outcome (a worker died).</summary>
    [JsonIgnore]
    public int Attempt { get; set; } = 1;

    /// <summary>With Redis: the worker will be free after this job, so recording its outcome may take the next one too.</summary>
    [JsonIgnore]
    internal bool TakeNext { get; set; }

    /// <summary>With Redis: the entry taken with this job's outcome (<see cref="TakeNext"/>), for the same worker slot.</summary>
    [JsonIgnore]
    internal Redis.TakenEntry? Next { get; set; }

    /// <summary>Redis: the outcome was handed to the pool's writer; the job's slot is released once it is written.</summary>
    internal bool WrittenBehind { get; set; }

    public JobState State { get; internal set; } = JobState.Queued;
    public DateTimeOffset? StartedAt { get; internal set; }
    public DateTimeOffset? CompletedAt { get; internal set; }
    public JobResult? Result { get; internal set; }

    /// <summary>Trace of the job (hex), so a client can open it in Tempo.</summary>
    public string? TraceId { get; internal set; }
}
