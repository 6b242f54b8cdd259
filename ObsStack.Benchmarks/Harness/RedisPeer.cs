using System.Diagnostics;
using System.Globalization;

namespace ObsStack.Benchmarks.Harness;

/// <summary>
/// A real Redis (Debian's <c>redis-server</c>) on a free loopback port for the Redis job engine's scenarios: append-only
/// file on with the given fsync policy (<c>everysec</c>, the usual production choice, or <c>always</c>), no snapshots,
/// in a temporary directory. Its CPU time comes from the OS; its command counts from <c>INFO commandstats</c>.
/// </summary>
internal sealed class RedisPeer : IAsyncDisposable
{
    /// <summary>Commands the engine issues only inside its Lua scripts: each script call is one request, these are its steps.</summary>
    private static readonly HashSet<string> ScriptedOnly =
    [
        "xreadgroup", "xadd", "xack", "xdel", "xlen", "xpending", "xrange", "exists", "hset", "hincrby", "expire", "del",
        "zadd", "zcard", "zrange", "zremrangebyscore", "zremrangebyrank", "xgroup|create", "xgroup|delconsumer", "xinfo|groups",
    ];

    private readonly ChildProcess _process;
    private readonly string _directory;

    private RedisPeer(ChildProcess process, string directory, int port)
    {
        _process = process;
        _directory = directory;
        Port = port;
    }

    public static bool Installed => File.Exists("/usr/bin/redis-server") || File.Exists("/usr/local/bin/redis-server");

    public int Port { get; }

    public string ConnectionString => $"127.0.0.1:{Port}";

    public TimeSpan CpuTime => _process.CpuTime;

    public static async Task<RedisPeer> StartAsync(string fsync)
    {
        var directory = Directory.CreateTempSubdirectory("obsstack-bench-redis-").FullName;
        var port = LoopbackPeers.FreePort();
        var process = ChildProcess.Start("redis-server",
            ["--port", port.ToString(CultureInfo.InvariantCulture), "--bind", "127.0.0.1", "--dir", directory,
             "--appendonly", "yes", "--appendfsync", fsync, "--save", "", "--loglevel", "warning"],
            directory, new Dictionary<string, string>(), _ => true);
        var peer = new RedisPeer(process, directory, port);
        var started = Stopwatch.StartNew();
        while ((await peer.CliAsync("ping")).Trim() != "PONG")
        {
            if (started.Elapsed > TimeSpan.FromSeconds(20) || process.HasExited)
            {
                await peer.DisposeAsync();
                throw new InvalidOperationException($"redis-server did not answer on port {port}.");
            }

            await Task.Delay(20);
        }

        return peer;
    }

    /// <summary>Calls per command since start (<c>INFO commandstats</c>): the requests the engine sent and the commands its scripts ran.</summary>
    public async Task<(long Requests, long Commands)> CallsAsync()
    {
        long requests = 0, commands = 0;
        foreach (var line in (await CliAsync("info", "commandstats")).Split('\n'))
        {
            // cmdstat_evalsha:calls=123,usec=...
            if (!line.StartsWith("cmdstat_", StringComparison.Ordinal))
            {
                continue;
            }

            var name = line[8..line.IndexOf(':')];
            var calls = long.Parse(line.Split("calls=")[1].Split(',')[0], CultureInfo.InvariantCulture);
            commands += calls;
            if (!ScriptedOnly.Contains(name) && name is not ("info" or "ping"))
            {
                requests += calls;
            }
        }

        return (requests, commands);
    }

    private async Task<string> CliAsync(params string[] arguments)
    {
        var start = new ProcessStartInfo("redis-cli", ["-p", Port.ToString(CultureInfo.InvariantCulture), .. arguments])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        using var cli = Process.Start(start)!;
        var output = await cli.StandardOutput.ReadToEndAsync();
        await cli.WaitForExitAsync();
        return output;
    }

    public async ValueTask DisposeAsync()
    {
        await _process.DisposeAsync();
        try
        {
            Directory.Delete(_directory, recursive: true);
        }
        catch (IOException)
        {
            // A temp directory left behind is harmless.
        }
    }
}
