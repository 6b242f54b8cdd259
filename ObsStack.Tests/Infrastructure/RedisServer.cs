using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using ObsStack.Tests.Api;
using StackExchange.Redis;

namespace ObsStack.Tests.Infrastructure;

/// <summary>
/// A real Redis (the Debian <c>redis-server</c> package) on a free loopback port, in a temporary directory, with the
/// append-only file on (fsync on every write, so a stop and restart loses nothing it acknowledged). One is shared per
/// collection (<see cref="RedisCollection"/>); tests keep apart by key prefix (<c>WorkerPool:RedisKeyPrefix</c>).
/// </summary>
public sealed class RedisServer : IAsyncLifetime
{
    private readonly string _directory = Directory.CreateTempSubdirectory("obsstack-redis-").FullName;
    private Process? _process;
    private ConnectionMultiplexer? _client;

    public int Port { get; } = ApiTest.ClosedPort();

    /// <summary>The value of <c>ConnectionStrings:redis</c> for a service using this server.</summary>
    public string ConnectionString => $"127.0.0.1:{Port}";

    public IDatabase Db => (_client ?? throw new InvalidOperationException("Redis has not started.")).GetDatabase();

    /// <summary>Skips the test when redis-server is not installed — except in CI, where that is a failure.</summary>
    public static void SkipIfUnavailable()
    {
        if (Tools.Find("redis-server") is not null)
        {
            return;
        }

        if (Tools.IsCi)
        {
            throw new InvalidOperationException("CI=true but 'redis-server' is not on PATH: .ci/run must install the Debian package 'redis-server'.");
        }

        Skip.If(true, "redis-server is not installed (apt-get install redis-server); CI runs this test.");
    }

    public async Task InitializeAsync()
    {
        if (Tools.Find("redis-server") is null)
        {
            return;
        }

        await StartAsync();
        _client = await ConnectionMultiplexer.ConnectAsync($"{ConnectionString},abortConnect=false");
    }

    /// <summary>Starts (or restarts, on the same port and data) the server and waits until it answers.</summary>
    public async Task StartAsync()
    {
        var start = new ProcessStartInfo(Tools.Find("redis-server")!)
        {
            ArgumentList =
            {
                "--port", Port.ToString(), "--bind", "127.0.0.1", "--dir", _directory,
                "--appendonly", "yes", "--appendfsync", "always", "--save", "",
                "--protected-mode", "yes", "--daemonize", "no", "--loglevel", "warning",
            },
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        _process = Process.Start(start) ?? throw new InvalidOperationException("redis-server did not start.");
        _process.OutputDataReceived += (_, _) => { };
        _process.ErrorDataReceived += (_, _) => { };
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
        var process = _process;
        await Poll.UntilAsync(async () =>
        {
            if (process.HasExited)
            {
                throw new InvalidOperationException($"redis-server exited with {process.ExitCode}.");
            }

            using var probe = new TcpClient();
            try
            {
                await probe.ConnectAsync(IPAddress.Loopback, Port);
                return true;
            }
            catch (SocketException)
            {
                return false;
            }
        }, $"redis-server on port {Port}", TimeSpan.FromSeconds(20));
        if (_client is not null)
        {
            await Poll.UntilAsync(() => _client.IsConnected, "the test's Redis client to reconnect", TimeSpan.FromSeconds(20));
        }
    }

    /// <summary>Stops the server as an operator would (SIGTERM: it flushes the append-only file and exits).</summary>
    public async Task StopAsync()
    {
        if (_process is { HasExited: false } process)
        {
            using var term = Process.Start(new ProcessStartInfo("kill", ["-TERM", process.Id.ToString()]) { UseShellExecute = false });
            await term!.WaitForExitAsync();
            await process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(20));
        }
    }

    public async Task DisposeAsync()
    {
        _client?.Dispose();
        if (_process is { HasExited: false } process)
        {
            process.Kill();
            await process.WaitForExitAsync();
        }

        _process?.Dispose();
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

[CollectionDefinition(Name)]
public sealed class RedisCollection : ICollectionFixture<RedisServer>
{
    public const string Name = "Redis";
}
