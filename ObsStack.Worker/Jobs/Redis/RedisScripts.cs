namespace ObsStack.Worker.Jobs.Redis;

/// <summary>
/// The Lua scripts of the Redis job engine. Each runs atomically in Redis, so a check and the write it guards can never
/// interleave with another worker's or api's (two intakes cannot both see room for the last slot). Every key a script
/// touches is passed in KEYS except the evicted job states of <see cref="Complete"/> (named by the index it reads):
/// the engine targets one Redis server or a primary with replicas, not Redis Cluster.
/// </summary>
internal static class RedisScripts
{
    /// <summary>
    /// KEYS: stream, then one job-state hash per job. ARGV: capacity, group, count, then per job id, url, submitted
    /// (Unix ms), traceparent, tracestate, trace id. Returns the number of waiting jobs after the batch, or -1 when the
    /// batch does not fit: nothing of it is written. Waiting = stream length minus entries delivered and not yet
    /// acknowledged (acknowledged entries are deleted), so it never counts a job a worker has taken.
    /// </summary>
    public const string Enqueue = """
        local stream = KEYS[1]
        if redis.call('EXISTS', stream) == 0 then
          redis.call('XGROUP', 'CREATE', stream, ARGV[2], '0', 'MKSTREAM')
        end
        local waiting = redis.call('XLEN', stream) - redis.call('XPENDING', stream, ARGV[2])[1]
        local n = tonumber(ARGV[3])
        if waiting + n > tonumber(ARGV[1]) then
          return -1
        end
        for i = 1, n do
          local a = 3 + (i - 1) * 6
          local id, url, submitted, parent, state, trace = ARGV[a + 1], ARGV[a + 2], ARGV[a + 3], ARGV[a + 4], ARGV[a + 5], ARGV[a + 6]
          redis.call('HSET', KEYS[1 + i], 'url', url, 'submitted', submitted, 'state', 'Queued', 'trace', trace)
          redis.call('XADD', stream, '*', 'id', id, 'url', url, 'submitted', submitted, 'traceparent', parent, 'tracestate', state)
        end
        return waiting + n
        """;

    /// <summary>
    /// The start of a run, shared by <see cref="Start"/> and the take step: state Running, attempt + 1 (returned); 0 when
    /// the key holds no job state (a poisoned entry's id). The write comes first and tells which case it is: a job's
    /// state always has its <c>state</c> field, so only a missing hash gains two fields (and is removed again at once).
    /// Two commands per run instead of an EXISTS before them.
    /// </summary>
    private const string StartFunction = """
        local function start(key, started)
          if redis.call('HSET', key, 'state', 'Running', 'started', started) == 2 then
            redis.call('DEL', key)
            return 0
          end
          return redis.call('HINCRBY', key, 'attempt', 1)
        end

        """;

    /// <summary>
    /// The take step shared by <see cref="Take"/> and <see cref="Complete"/>: up to count new entries for the consumer,
    /// each with its run started; {entry id, fields, attempt} per entry, attempt 0 when the entry names no job with a
    /// state (a poisoned entry).
    /// </summary>
    private const string TakeFunction = StartFunction + """
        local function take(stream, group, consumer, count, started, prefix)
          local read = redis.call('XREADGROUP', 'GROUP', group, consumer, 'COUNT', count, 'STREAMS', stream, '>')
          if not read then
            return {}
          end
          local taken = {}
          for _, entry in ipairs(read[1][2]) do
            local fields = entry[2]
            local id
            for i = 1, #fields, 2 do
              if fields[i] == 'id' then id = fields[i + 1] end
            end
            local attempt = 0
            if id then
              attempt = start(prefix .. id, started)
            end
            taken[#taken + 1] = {entry[1], fields, attempt}
          end
          return taken
        end

        """;

    /// <summary>
    /// KEYS: stream. ARGV: group, consumer, count, started (Unix ms), job-state key prefix. Takes up to count new
    /// entries for this consumer and starts a run of each in the same step (one round trip for the batch).
    /// </summary>
    public const string Take = TakeFunction + """
        return take(KEYS[1], ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5])
        """;

    /// <summary>
    /// KEYS: job-state hash. ARGV: started (Unix ms). A run begins: the attempt count goes up by one and is returned;
    /// 0 when the job has no state (it was never accepted through intake, or was evicted).
    /// </summary>
    public const string Start = StartFunction + """
        return start(KEYS[1], ARGV[1])
        """;

    /// <summary>
    /// KEYS: stream, finished index (sorted set by completion time), then one job-state hash per outcome. ARGV: group,
    /// completed (Unix ms), retention (s), capacity, entries to take next, consumer, job-state key prefix, then per
    /// outcome its entry id and its result (JSON). Records each outcome, acknowledges and deletes its entry in the same
    /// step (an outcome without its acknowledgement would run the job again), gives the state its TTL and indexes it.
    /// Then takes up to that many next entries as <see cref="Take"/> does: one round trip per job instead of two on a
    /// busy queue, and one per batch when outcomes are written behind (<see cref="WorkerPoolOptions.Prefetch"/>).
    /// The index is trimmed in steps of a hundredth of the capacity (one for a capacity under 200), not per job: entries
    /// past the retention (their states already expired with their TTL), then the oldest states beyond the capacity,
    /// deleted with their entries. So at most capacity + a hundredth finished states exist, and a busy queue pays the
    /// trim's five commands once per step instead of once per job.
    /// </summary>
    public const string Complete = TakeFunction + """
        local stream, finished, group = KEYS[1], KEYS[2], ARGV[1]
        local completed, retention, capacity = tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
        local entries, scored = {}, {}
        for i = 3, #KEYS do
          local a = 8 + (i - 3) * 2
          redis.call('HSET', KEYS[i], 'state', 'Completed', 'completed', ARGV[2], 'result', ARGV[a + 1])
          redis.call('EXPIRE', KEYS[i], retention)
          if ARGV[a] ~= '' then
            entries[#entries + 1] = ARGV[a]
          end
          scored[#scored + 1] = completed
          scored[#scored + 1] = KEYS[i]
        end
        if #entries > 0 then
          redis.call('XACK', stream, group, unpack(entries))
          redis.call('XDEL', stream, unpack(entries))
        end
        redis.call('ZADD', finished, unpack(scored))
        if redis.call('ZCARD', finished) - capacity >= math.max(1, math.floor(capacity / 100)) then
          redis.call('ZREMRANGEBYSCORE', finished, '-inf', completed - retention * 1000)
          local excess = redis.call('ZCARD', finished) - capacity
          if excess > 0 then
            local oldest = redis.call('ZRANGE', finished, 0, math.min(excess, 1000) - 1)
            redis.call('DEL', unpack(oldest))
            redis.call('ZREMRANGEBYRANK', finished, 0, #oldest - 1)
          end
        end
        if tonumber(ARGV[5]) > 0 then
          return take(stream, group, ARGV[6], ARGV[5], ARGV[2], ARGV[7])
        end
        return {}
        """;

    /// <summary>
    /// KEYS: stream, job-state hash. ARGV: group, entry id, then the entry's fields (id, url, submitted, traceparent,
    /// tracestate). The job goes back to the end of the queue, the taken entry is acknowledged and deleted: another
    /// worker runs it without waiting for the visibility timeout.
    /// </summary>
    public const string HandBack = """
        redis.call('XACK', KEYS[1], ARGV[1], ARGV[2])
        if redis.call('XDEL', KEYS[1], ARGV[2]) == 1 then
          redis.call('XADD', KEYS[1], '*', 'id', ARGV[3], 'url', ARGV[4], 'submitted', ARGV[5], 'traceparent', ARGV[6], 'tracestate', ARGV[7])
          if redis.call('EXISTS', KEYS[2]) == 1 then
            redis.call('HSET', KEYS[2], 'state', 'Queued')
          end
        end
        return 1
        """;

    /// <summary>
    /// KEYS: stream, dead-letter stream. ARGV: group, entry id, reason, dead-letter length bound, then the entry's
    /// fields as name/value pairs. Moves an entry that is not a job out of the queue, so it is never retried.
    /// </summary>
    public const string DeadLetter = """
        redis.call('XACK', KEYS[1], ARGV[1], ARGV[2])
        redis.call('XDEL', KEYS[1], ARGV[2])
        local fields = {'entry', ARGV[2], 'reason', ARGV[3]}
        for i = 5, #ARGV do
          fields[#fields + 1] = ARGV[i]
        end
        redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[4], '*', unpack(fields))
        return 1
        """;

    /// <summary>
    /// KEYS: stream. ARGV: group. Returns {waiting jobs, submitted (Unix ms) of the oldest waiting job or -1}. The oldest
    /// waiting entry is the first after the group's last delivered id.
    /// </summary>
    public const string Stats = """
        if redis.call('EXISTS', KEYS[1]) == 0 then
          return {0, -1}
        end
        local waiting = redis.call('XLEN', KEYS[1]) - redis.call('XPENDING', KEYS[1], ARGV[1])[1]
        local last = '0-0'
        for _, group in ipairs(redis.call('XINFO', 'GROUPS', KEYS[1])) do
          local name, delivered
          for i = 1, #group, 2 do
            if group[i] == 'name' then name = group[i + 1] end
            if group[i] == 'last-delivered-id' then delivered = group[i + 1] end
          end
          if name == ARGV[1] then last = delivered end
        end
        local first = redis.call('XRANGE', KEYS[1], '(' .. last, '+', 'COUNT', 1)
        if #first == 0 then
          return {waiting, -1}
        end
        local fields = first[1][2]
        for i = 1, #fields, 2 do
          if fields[i] == 'submitted' then
            return {waiting, tonumber(fields[i + 1]) or -1}
          end
        end
        return {waiting, -1}
        """;

    /// <summary>
    /// KEYS: stream. ARGV: group, consumer. Removes this process' consumer from the group, but only when it holds no
    /// entry (deleting a consumer drops its pending entries, and with them their jobs).
    /// </summary>
    public const string RemoveIdleConsumer = """
        if #redis.call('XPENDING', KEYS[1], ARGV[1], '-', '+', 1, ARGV[2]) == 0 then
          redis.call('XGROUP', 'DELCONSUMER', KEYS[1], ARGV[1], ARGV[2])
          return 1
        end
        return 0
        """;
}
