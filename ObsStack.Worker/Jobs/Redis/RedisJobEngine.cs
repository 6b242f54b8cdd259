using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace ObsStack.Worker.Jobs.Redis;

/// <summary>
/// The job engine on Redis, shared by every worker process: the queue is a stream (<c>{prefix}:queue</c>) read by the
/// consumer group <c>workers</c>, one consumer per process; each job's state is a hash (<c>{prefix}:job:{id}</c>) that
/// any process reads; finished jobs are indexed by completion time (<c>{prefix}:done</c>) so the capacity and the
/// retention are enforced in Redis for the whole deployment; entries that are not jobs go to <c>{prefix}:dead</c>.
/// Every call is bounded by <see cref="WorkerPoolOptions.EngineTimeout"/>; see docs/scaling.md.
/// </summary>
public sealed partial class RedisJobEngine : IJobEngine, IJobStateSink
{
    public const string Group = "workers";

    /// <summary>Dead letters kept (approximately: trimmed with MAXLEN ~).</summary>
    public const int DeadLetterCapacity = 1000;

    private static readonly TimeSpan MaxRetryDelay = TimeSpan.FromSeconds(2);

    private readonly IDatabase _db;
    private readonly WorkerPoolOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger<RedisJobEngine> _logger;
    private readonly string _prefix;
    private readonly CancellationTokenSource _giveUp = new();
    private int _closed;
    private int _unavailableLogged;
    private long _depth;
    private long _oldestSubmittedMs = -1;

    public RedisJobEngine(IConnectionMultiplexer redis, IOptions<WorkerPoolOptions> options, TimeProvider time, ILogger<RedisJobEngine> logger)
    {
        _db = redis.GetDatabase();
        _options = options.Value;
        _time = time;
        _logger = logger;
        _prefix = _options.RedisKeyPrefix;
        Stream = $"{_prefix}:queue";
        Finished = $"{_prefix}:done";
        DeadLetters = $"{_prefix}:dead";
        Consumer = $"{Environment.MachineName}-{Environment.ProcessId}-{Guid.NewGuid().ToString("N")[..8]}";
    }

    public RedisKey Stream { get; }

    public RedisKey Finished { get; }

    public RedisKey DeadLetters { get; }

    /// <summary>This process' consumer name in the group: host, pid and a random part (a restarted pid is a new consumer).</summary>
    public string Consumer { get; }

    public RedisKey JobKey(Guid id) => $"{_prefix}:job:{id:D}";

    public long QueueDepth => Volatile.Read(ref _depth);

    public double QueueLagSeconds
    {
        get
        {
            var oldest = Volatile.Read(ref _oldestSubmittedMs);
            return oldest < 0 ? 0 : Math.Max(0, (_time.GetUtcNow().ToUnixTimeMilliseconds() - oldest) / 1000.0);
        }
    }

    /// <summary>Intake refuses from now on (shutting down); jobs already queued stay queued for the other workers.</summary>
    public void Close() => Volatile.Write(ref _closed, 1);

    /// <summary>Stops retrying outcome writes: the process is about to exit, and an unwritten outcome means the job runs again elsewhere.</summary>
    public void GiveUp() => _giveUp.Cancel();

    public async ValueTask<EnqueueOutcome> EnqueueAsync(IReadOnlyList<Job> jobs, CancellationToken cancellationToken)
    {
        if (Volatile.Read(ref _closed) == 1)
        {
            return EnqueueOutcome.ShuttingDown;
        }

        var keys = new RedisKey[jobs.Count + 1];
        keys[0] = Stream;
        var args = new RedisValue[3 + jobs.Count * 6];
        args[0] = _options.QueueCapacity;
        args[1] = Group;
        args[2] = jobs.Count;
        for (var i = 0; i < jobs.Count; i++)
        {
            var job = jobs[i];
            keys[i + 1] = JobKey(job.Id);
            var a = 3 + i * 6;
            args[a] = job.Id.ToString("D");
            args[a + 1] = job.Url.OriginalString;
            args[a + 2] = job.SubmittedAt.ToUnixTimeMilliseconds();
            args[a + 3] = TraceParent(job.Parent);
            args[a + 4] = job.Parent.TraceState ?? "";
            args[a + 5] = job.Parent.TraceId == default ? "" : job.Parent.TraceId.ToHexString();
        }

        try
        {
            var waiting = (long)await _db.ScriptEvaluateAsync(RedisScripts.Enqueue, keys, args).WaitAsync(_options.EngineTimeout, cancellationToken);
            if (waiting < 0)
            {
                return EnqueueOutcome.QueueFull;
            }

            Available();
            return EnqueueOutcome.Accepted;
        }
        catch (Exception ex) when (FailedToAnswer(ex, cancellationToken))
        {
            Unavailable(ex);
            return EnqueueOutcome.Unavailable;
        }
    }

    public async ValueTask<JobView?> GetAsync(Guid id, CancellationToken cancellationToken)
    {
        HashEntry[] fields;
        try
        {
            fields = await _db.HashGetAllAsync(JobKey(id)).WaitAsync(_options.EngineTimeout, cancellationToken);
        }
        catch (Exception ex) when (FailedToAnswer(ex, cancellationToken))
        {
            Unavailable(ex);
            throw new JobEngineUnavailableException("Redis is unreachable.", ex);
        }

        return fields.Length == 0 ? null : ToView(id, fields);
    }

    /// <summary>Up to <paramref name="count"/> entries never delivered to any consumer of the group, each with its run started.</summary>
    public async Task<List<TakenEntry>> TakeAsync(int count)
    {
        var result = await _db.ScriptEvaluateAsync(RedisScripts.Take, [Stream],
            [Group, Consumer, count, _time.GetUtcNow().ToUnixTimeMilliseconds(), $"{_prefix}:job:"]);
        return ToTaken(result);
    }

    /// <summary>
    /// Up to <paramref name="count"/> entries another consumer has held longer than the visibility timeout, now this
    /// one's, each with its run started (attempt 0: no job state, a poisoned entry).
    /// </summary>
    public async Task<List<TakenEntry>> ReclaimAsync(int count)
    {
        var claimed = await _db.StreamAutoClaimAsync(Stream, Group, Consumer, (long)_options.VisibilityTimeout.TotalMilliseconds, "0-0", count);
        var taken = new List<TakenEntry>(claimed.ClaimedEntries.Length);
        foreach (var entry in claimed.ClaimedEntries)
        {
            var id = entry["id"];
            var attempt = Guid.TryParse((string?)id, out var jobId)
                ? (long)await _db.ScriptEvaluateAsync(RedisScripts.Start, [JobKey(jobId)], [_time.GetUtcNow().ToUnixTimeMilliseconds()])
                : 0;
            taken.Add(new TakenEntry(entry.Id!, entry.Values, attempt));
        }

        return taken;
    }

    /// <summary>Creates the stream and the group if missing (a fresh Redis, or one restarted without persistence).</summary>
    public async Task EnsureGroupAsync()
    {
        try
        {
            await _db.StreamCreateConsumerGroupAsync(Stream, Group, "0-0", createStream: true);
        }
        catch (RedisServerException ex) when (ex.Message.StartsWith("BUSYGROUP", StringComparison.Ordinal))
        {
            // Another process created it first.
        }
    }

    /// <summary>Reads the queue's depth and its oldest waiting job for the gauges (one script, once a second per process).</summary>
    public async Task RefreshStatsAsync()
    {
        var stats = (RedisResult[])(await _db.ScriptEvaluateAsync(RedisScripts.Stats, [Stream], [Group]))!;
        Volatile.Write(ref _depth, (long)stats[0]);
        Volatile.Write(ref _oldestSubmittedMs, (long)stats[1]);
    }

    /// <summary>The trace id is known at intake when the job was submitted within a trace; otherwise written now, not waited for.</summary>
    public void MarkRunning(Job job, string? traceId)
    {
        if (traceId is not null && job.Parent.TraceId == default)
        {
            _db.HashSet(JobKey(job.Id), "trace", traceId, flags: CommandFlags.FireAndForget);
        }
    }

    /// <summary>
    /// Set by the pool when it takes entries ahead (<see cref="WorkerPoolOptions.Prefetch"/>): outcomes of jobs taken
    /// from the queue go to it with the job's span, to be written behind in batches; the job's slot stays held until then.
    /// </summary>
    public Action<Job, string, ActivityContext>? WriteBehind { get; set; }

    /// <summary>
    /// Writes the outcome and acknowledges the entry in one step, retrying while Redis is unreachable until
    /// <see cref="GiveUp"/>: the outcome of a job that ran is not dropped because Redis restarted meanwhile. When the job
    /// asks for it (<see cref="Job.TakeNext"/>), the same step takes the worker's next entry into <see cref="Job.Next"/>.
    /// With <see cref="WriteBehind"/> set, a worker's job is handed to it instead and this returns at once.
    /// </summary>
    public async ValueTask CompleteAsync(Job job, JobResult result)
    {
        var json = JsonSerializer.Serialize(result, JsonSerializerOptions.Web);
        if (WriteBehind is { } writeBehind && job.TakeNext)
        {
            job.WrittenBehind = true;
            writeBehind(job, json, Activity.Current?.Context ?? default);
            return;
        }

        job.Next = await CompleteAsync([(job, json)], job.TakeNext ? 1 : 0) is [var next] ? next : null;
    }

    /// <summary>
    /// Records outcomes and takes up to <paramref name="take"/> next entries (none once intake closed for shutdown) in
    /// one script call, retrying while Redis is unreachable until <see cref="GiveUp"/>.
    /// </summary>
    public async Task<List<TakenEntry>> CompleteAsync(IReadOnlyList<(Job Job, string Result)> outcomes, int take)
    {
        var keys = new RedisKey[2 + outcomes.Count];
        keys[0] = Stream;
        keys[1] = Finished;
        var args = new RedisValue[7 + 2 * outcomes.Count];
        args[0] = Group;
        args[1] = _time.GetUtcNow().ToUnixTimeMilliseconds();
        args[2] = (long)_options.ResultRetention.TotalSeconds;
        args[3] = _options.ResultCapacity;
        args[4] = Volatile.Read(ref _closed) == 0 ? take : 0;
        args[5] = Consumer;
        args[6] = $"{_prefix}:job:";
        for (var i = 0; i < outcomes.Count; i++)
        {
            keys[2 + i] = JobKey(outcomes[i].Job.Id);
            args[7 + 2 * i] = outcomes[i].Job.EntryId ?? "";
            args[8 + 2 * i] = outcomes[i].Result;
        }

        RedisResult? taken = null;
        await RetryWhileUnavailableAsync(async () => taken = await _db.ScriptEvaluateAsync(RedisScripts.Complete, keys, args));
        return ToTaken(taken!);
    }

    public bool HandsBackAborted => true;

    public async ValueTask HandBackAsync(Job job)
    {
        if (job.EntryId is null)
        {
            return;
        }

        await _db.ScriptEvaluateAsync(RedisScripts.HandBack, [Stream, JobKey(job.Id)],
        [
            Group, job.EntryId, job.Id.ToString("D"), job.Url.OriginalString, job.SubmittedAt.ToUnixTimeMilliseconds(),
            TraceParent(job.Parent), job.Parent.TraceState ?? "",
        ]);
    }

    /// <summary>Moves an entry that is not a job to the dead-letter stream, with the reason and its fields as they were.</summary>
    public async Task DeadLetterAsync(TakenEntry entry, string reason)
    {
        var args = new List<RedisValue> { Group, entry.Id, reason, DeadLetterCapacity };
        foreach (var field in entry.Fields)
        {
            args.Add(field.Name);
            args.Add(field.Value);
        }

        await _db.ScriptEvaluateAsync(RedisScripts.DeadLetter, [Stream, DeadLetters], [.. args]);
    }

    /// <summary>Removes this process' consumer from the group when it holds nothing (a clean exit leaves no trace).</summary>
    public async Task RemoveConsumerAsync() =>
        await _db.ScriptEvaluateAsync(RedisScripts.RemoveIdleConsumer, [Stream], [Group, Consumer]);

    /// <summary>
    /// Removes consumers of processes gone long ago: nothing pending (their entries were reclaimed) and idle for longer
    /// than <paramref name="idleFor"/>, so the group's consumer list stays bounded however often workers restart.
    /// </summary>
    public async Task RemoveGoneConsumersAsync(TimeSpan idleFor)
    {
        foreach (var consumer in await _db.StreamConsumerInfoAsync(Stream, Group))
        {
            if (consumer.PendingMessageCount == 0 && consumer.IdleTimeInMilliseconds > idleFor.TotalMilliseconds && consumer.Name != Consumer)
            {
                await _db.StreamDeleteConsumerAsync(Stream, Group, consumer.Name);
            }
        }
    }

    /// <summary>A connection that is down, a command that timed out, or a server still loading its data after a restart.</summary>
    public static bool IsUnavailable(Exception ex) => ex is RedisException or TimeoutException;

    /// <summary>
    /// For the calls a request waits on (intake, reading a state): any failure but the request's own cancellation means
    /// Redis did not answer, so the request gets 503 with Retry-After rather than 500. Besides its own exceptions the
    /// client can surface others from its socket pipes while a connection drops: a CI run of DistributedPoolTests'
    /// Redis-down test once answered 500 for one. The outage line names the type.
    /// </summary>
    private static bool FailedToAnswer(Exception ex, CancellationToken cancellationToken) =>
        ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested;

    /// <summary>Runs <paramref name="write"/> until it succeeds, waiting longer after each failure, up to <see cref="GiveUp"/>.</summary>
    private async Task RetryWhileUnavailableAsync(Func<Task> write)
    {
        var delay = TimeSpan.FromMilliseconds(50);
        while (true)
        {
            try
            {
                await write();
                Available();
                return;
            }
            catch (Exception ex) when (IsUnavailable(ex) && !_giveUp.IsCancellationRequested)
            {
                Unavailable(ex);
                await Task.Delay(delay, _time, _giveUp.Token).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
                delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, MaxRetryDelay.Ticks));
            }
        }
    }

    /// <summary>Logs the outage once, not per call; <see cref="Available"/> logs its end.</summary>
    public void Unavailable(Exception ex)
    {
        if (Interlocked.Exchange(ref _unavailableLogged, 1) == 0)
        {
            LogUnavailable(ex.GetType().Name, ex.Message);
        }
    }

    public void Available()
    {
        if (Interlocked.Exchange(ref _unavailableLogged, 0) == 1)
        {
            LogAvailable();
        }
    }
}
