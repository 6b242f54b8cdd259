using System.Buffers;
using System.Diagnostics;
using Microsoft.Extensions.Options;

namespace ObsStack.Worker.Jobs;

/// <summary>Runs one job: an HTTP GET with a deadline, recorded in the store, the metrics, one span and one log line.</summary>
public sealed partial class JobRunner(
    IHttpMessageHandlerFactory handlers,
    IJobStateSink states,
    WorkerTelemetry telemetry,
    IOptions<WorkerPoolOptions> options,
    ILogger<JobRunner> logger)
{
    public const string HttpClientName = "jobs";

    private readonly TimeSpan _timeout = options.Value.JobTimeout;

    /// <summary>A deadline for one worker's jobs, canceled by <paramref name="abort"/> too; reused for every job it runs.</summary>
    public JobDeadline CreateDeadline(CancellationToken abort) => new(abort, _timeout);

    /// <summary>
    /// Never throws for the job's own outcome: every one, shutdown included, becomes a recorded result — or, where the
    /// sink hands aborted jobs back (Redis), a job queued again for another worker. Throws only when the sink cannot
    /// record (Redis unreachable until shutdown); the job then stays unacknowledged and runs again elsewhere.
    /// </summary>
    public async Task RunAsync(Job job, int workerId, JobDeadline deadline)
    {
        telemetry.WorkerBusy();
        using var activity = telemetry.Source.StartActivity(WorkerTelemetry.ProcessJobSpan, ActivityKind.Internal, job.Parent);
        activity?.SetTag("worker.id", workerId);
        activity?.SetTag("job.id", job.Id.ToString());
        activity?.SetTag("job.url", job.Url.ToString());
        activity?.SetTag("attempt", job.Attempt);
        states.MarkRunning(job, activity?.TraceId.ToHexString());

        var started = Stopwatch.GetTimestamp();
        string status;
        int? httpStatus = null;
        long bytes = 0;
        string? error = null;

        var cancellation = deadline.Start();
        try
        {
            // The handler chain without an HttpClient around it: HttpClient links a CancellationTokenSource of its own
            // to every request that has a cancelable token. Headers first, the body drained after (no buffering),
            // like GetAsync(ResponseHeadersRead); spans and http.client.* metrics come from the handler chain itself.
            using var invoker = new HttpMessageInvoker(handlers.CreateHandler(HttpClientName), disposeHandler: false);
            using var request = new HttpRequestMessage(HttpMethod.Get, job.Url);
            using var response = await invoker.SendAsync(request, cancellation);
            httpStatus = (int)response.StatusCode;
            bytes = await DrainAsync(response.Content, cancellation);
            if (response.IsSuccessStatusCode)
            {
                status = JobStatus.Success;
            }
            else
            {
                status = JobStatus.Failed;
                error = $"HTTP {httpStatus} {response.ReasonPhrase}".TrimEnd();
            }
        }
        catch (OperationCanceledException) when (deadline.Aborted && states.HandsBackAborted)
        {
            activity?.SetTag("job.status", "handed_back");
            activity?.SetStatus(ActivityStatusCode.Error, "Handed back: the shutdown grace period elapsed; another worker runs it.");
            telemetry.WorkerIdle();
            await states.HandBackAsync(job);
            LogHandedBack(job.Id, job.Url, workerId);
            return;
        }
        catch (OperationCanceledException) when (deadline.Aborted)
        {
            status = JobStatus.Canceled;
            error = "Canceled: the shutdown grace period elapsed before the job finished.";
        }
        catch (OperationCanceledException) when (cancellation.IsCancellationRequested)
        {
            status = JobStatus.Timeout;
            error = $"No complete response within {_timeout.TotalSeconds:0.###} s ({WorkerPoolOptions.SectionName}:JobTimeout).";
        }
        catch (Exception ex)
        {
            status = JobStatus.Failed;
            error = ex is HttpRequestException { HttpRequestError: not HttpRequestError.Unknown } http
                ? $"{http.HttpRequestError}: {http.Message}"
                : $"{ex.GetType().Name}: {ex.Message}";
        }
        finally
        {
            deadline.Finish();
        }

        var duration = Stopwatch.GetElapsedTime(started).TotalSeconds;
        try
        {
            await RecordAsync(job, workerId, activity, new JobResult(status, httpStatus, duration, bytes, error, workerId));
        }
        finally
        {
            telemetry.WorkerIdle();
        }
    }

    /// <summary>Records a job that was accepted but will never run (in-process shutdown; Redis: attempts exhausted).</summary>
    public async Task RecordNotStartedAsync(Job job, string error)
    {
        using var activity = telemetry.Source.StartActivity(WorkerTelemetry.ProcessJobSpan, ActivityKind.Internal, job.Parent);
        activity?.SetTag("job.id", job.Id.ToString());
        activity?.SetTag("job.url", job.Url.ToString());
        activity?.SetTag("attempt", job.Attempt);
        states.MarkRunning(job, activity?.TraceId.ToHexString());
        await RecordAsync(job, null, activity, new JobResult(JobStatus.Canceled, null, 0, 0, error, null));
    }

    private async ValueTask RecordAsync(Job job, int? workerId, Activity? activity, JobResult result)
    {
        var statusTag = new KeyValuePair<string, object?>("status", result.Status);
        telemetry.Jobs.Add(1, statusTag);
        telemetry.Duration.Record(result.DurationSeconds, statusTag);

        if (activity is not null)
        {
            activity.SetTag("job.status", result.Status);
            if (result.HttpStatusCode is { } code)
            {
                activity.SetTag("http.response.status_code", code);
            }

            if (result.Status == JobStatus.Success)
            {
                activity.SetStatus(ActivityStatusCode.Ok);
            }
            else
            {
                activity.SetStatus(ActivityStatusCode.Error, result.Error);
            }
        }

        await states.CompleteAsync(job, result);

        // Rounded as the message shows it ({DurationMs:0.0}): the JSON field then reads 122.3, not 122.28559999999999.
        var ms = Math.Round(result.DurationSeconds * 1000, 1);
        if (result.Status == JobStatus.Success)
        {
            LogSucceeded(job.Id, job.Url, result.HttpStatusCode, ms, result.Bytes, workerId);
        }
        else
        {
            LogNotSucceeded(job.Id, result.Status, job.Url, result.HttpStatusCode, ms, result.Error, workerId);
        }
    }

    private static async Task<long> DrainAsync(HttpContent content, CancellationToken cancellationToken)
    {
        // Counted, not kept: a large body costs one pooled buffer, not its size in memory.
        await using var stream = await content.ReadAsStreamAsync(cancellationToken);
        var buffer = ArrayPool<byte>.Shared.Rent(16 * 1024);
        try
        {
            long total = 0;
            int read;
            while ((read = await stream.ReadAsync(buffer, cancellationToken)) > 0)
            {
                total += read;
            }

            return total;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    [LoggerMessage(EventId = 1, Level = LogLevel.Information,
        Message = "Job {JobId} success: GET {JobUrl} returned {HttpStatusCode} with {Bytes} bytes in {DurationMs:0.0} ms (worker {WorkerId})")]
    private partial void LogSucceeded(Guid jobId, Uri jobUrl, int? httpStatusCode, double durationMs, long bytes, int? workerId);

    [LoggerMessage(EventId = 2, Level = LogLevel.Warning,
        Message = "Job {JobId} {JobStatus}: GET {JobUrl} returned {HttpStatusCode} in {DurationMs:0.0} ms (worker {WorkerId}): {Error}")]
    private partial void LogNotSucceeded(Guid jobId, string jobStatus, Uri jobUrl, int? httpStatusCode, double durationMs, string? error, int? workerId);

    [LoggerMessage(EventId = 3, Level = LogLevel.Warning,
        Message = "Job {JobId} handed back: GET {JobUrl} was still running when the shutdown grace period elapsed (worker {WorkerId}); another worker runs it")]
    private partial void LogHandedBack(Guid jobId, Uri jobUrl, int workerId);
}
