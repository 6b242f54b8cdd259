using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using StackExchange.Redis;

namespace ObsStack.Worker.Jobs.Redis;

/// <summary>What the engine reads back from Redis: taken stream entries, the jobs they describe, and job states.</summary>
public sealed partial class RedisJobEngine
{
    private static List<TakenEntry> ToTaken(RedisResult result)
    {
        var entries = (RedisResult[])result!;
        var taken = new List<TakenEntry>(entries.Length);
        foreach (var entry in entries)
        {
            var parts = (RedisResult[])entry!;
            var flat = (RedisValue[])parts[1]!;
            var fields = new NameValueEntry[flat.Length / 2];
            for (var i = 0; i < fields.Length; i++)
            {
                fields[i] = new NameValueEntry(flat[2 * i], flat[2 * i + 1]);
            }

            taken.Add(new TakenEntry((string)parts[0]!, fields, (long)parts[2]));
        }

        return taken;
    }

    /// <summary>The job an entry describes, or why it describes none (a poisoned entry: dead-lettered, never retried).</summary>
    public static Job? Parse(TakenEntry entry, out string? problem)
    {
        var id = entry["id"];
        var url = entry["url"];
        var submitted = entry["submitted"];
        problem = null;
        if (!Guid.TryParse((string?)id, out var jobId))
        {
            problem = $"field 'id' is not a job id ('{Truncate(id)}')";
        }
        else if (!Uri.TryCreate((string?)url, UriKind.Absolute, out var jobUrl) || (jobUrl.Scheme != Uri.UriSchemeHttp && jobUrl.Scheme != Uri.UriSchemeHttps))
        {
            problem = $"field 'url' is not an absolute http(s) URL ('{Truncate(url)}')";
        }
        else if (!long.TryParse((string?)submitted, NumberStyles.None, CultureInfo.InvariantCulture, out var submittedMs))
        {
            problem = $"field 'submitted' is not Unix milliseconds ('{Truncate(submitted)}')";
        }
        else
        {
            ActivityContext.TryParse((string?)entry["traceparent"], (string?)entry["tracestate"], isRemote: true, out var parent);
            return new Job
            {
                Id = jobId,
                Url = jobUrl,
                SubmittedAt = DateTimeOffset.FromUnixTimeMilliseconds(submittedMs),
                Parent = parent,
                EntryId = entry.Id,
                Attempt = (int)Math.Min(entry.Attempt, int.MaxValue),
            };
        }

        return null;
    }

    private static JobView ToView(Guid id, HashEntry[] fields)
    {
        string? url = null, trace = null, result = null;
        var state = JobState.Queued;
        long submitted = 0, attempt = 0;
        long? started = null, completed = null;
        foreach (var field in fields)
        {
            switch ((string?)field.Name)
            {
                case "url": url = field.Value; break;
                case "state": Enum.TryParse((string?)field.Value, out state); break;
                case "submitted": submitted = (long)field.Value; break;
                case "started": started = (long)field.Value; break;
                case "completed": completed = (long)field.Value; break;
                case "trace": trace = field.Value.IsNullOrEmpty ? null : (string?)field.Value; break;
                case "result": result = field.Value; break;
                case "attempt": attempt = (long)field.Value; break;
            }
        }

        return new JobView(id, url ?? "", state, DateTimeOffset.FromUnixTimeMilliseconds(submitted),
            started is { } s ? DateTimeOffset.FromUnixTimeMilliseconds(s) : null,
            completed is { } c ? DateTimeOffset.FromUnixTimeMilliseconds(c) : null,
            trace,
            result is null ? null : JsonSerializer.Deserialize<JobResult>(result, JsonSerializerOptions.Web),
            (int)attempt);
    }

    private static string TraceParent(ActivityContext parent) =>
        parent.TraceId == default ? "" : $"00-{parent.TraceId.ToHexString()}-{parent.SpanId.ToHexString()}-{(byte)parent.TraceFlags:x2}";

    private static string Truncate(RedisValue value)
    {
        var text = value.IsNull ? "" : value.ToString();
        return text.Length <= 64 ? text : text[..64] + "…";
    }
}
