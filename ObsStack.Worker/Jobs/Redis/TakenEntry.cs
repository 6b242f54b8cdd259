using StackExchange.Redis;

namespace ObsStack.Worker.Jobs.Redis;

/// <summary>A stream entry this process took (read or reclaimed), with the attempt its run is (0: the entry names no job).</summary>
public sealed record TakenEntry(string Id, NameValueEntry[] Fields, long Attempt)
{
    public RedisValue this[string name] => Fields.FirstOrDefault(f => f.Name == name).Value;
}
