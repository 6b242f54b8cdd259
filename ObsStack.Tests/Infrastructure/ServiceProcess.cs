using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Reflection;
using ObsStack.Tests.Api;

namespace ObsStack.Tests.Infrastructure;

/// <summary>
/// A service (ObsStack.Worker or ObsStack.Api) as a real process of its own, started from its own output folder and
/// configured only through environment variables, as Aspire or a container runs it: what a test needs to SIGKILL or
/// SIGTERM one of several instances. Its log lines (JSON, one per line) are kept, up to a bound.
/// </summary>
public sealed class ServiceProcess : IAsyncDisposable
{
    private const int KeptLines = 20_000;

    private static readonly string[] ComplaintLevels = ["\"level\":\"warn\"", "\"level\":\"error\"", "\"level\":\"fatal\""];

    private readonly Process _process;
    private readonly ConcurrentQueue<string> _lines = new();

    private ServiceProcess(Process process, Uri address, string name)
    {
        _process = process;
        Address = address;
        Name = name;
        process.OutputDataReceived += (_, e) => Keep(e.Data);
        process.ErrorDataReceived += (_, e) => Keep(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
    }

    public Uri Address { get; }

    public string Name { get; }

    public bool HasExited => _process.HasExited;

    public IReadOnlyCollection<string> Lines => _lines;

    public HttpClient Client() => new() { BaseAddress = Address, Timeout = TimeSpan.FromSeconds(30) };

    /// <param name="project">"ObsStack.Worker" or "ObsStack.Api".</param>
    public static async Task<ServiceProcess> StartAsync(string project, string serviceName, IReadOnlyDictionary<string, string> settings)
    {
        var path = typeof(ServiceProcess).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
            .Single(a => a.Key == $"{project}.Path").Value!;
        var port = ApiTest.ClosedPort();
        var address = new Uri($"http://127.0.0.1:{port}");
        var start = new ProcessStartInfo("dotnet", ["exec", path])
        {
            WorkingDirectory = Path.GetDirectoryName(path)!,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        // Nothing of the test runner's own environment that configures a service leaks in.
        foreach (var key in start.Environment.Keys.Where(k => k.StartsWith("OTEL_", StringComparison.OrdinalIgnoreCase)
            || k.StartsWith("ASPNETCORE_", StringComparison.OrdinalIgnoreCase) || k.StartsWith("services__", StringComparison.OrdinalIgnoreCase)
            || k.StartsWith("ConnectionStrings__", StringComparison.OrdinalIgnoreCase)).ToList())
        {
            start.Environment.Remove(key);
        }

        start.Environment["ASPNETCORE_URLS"] = address.ToString();
        start.Environment["ASPNETCORE_ENVIRONMENT"] = "Production";
        start.Environment["OTEL_SERVICE_NAME"] = serviceName;
        start.Environment["LoadGenerator__Enabled"] = "false";
        foreach (var (key, value) in settings)
        {
            start.Environment[key] = value;
        }

        var service = new ServiceProcess(Process.Start(start)!, address, serviceName);
        using var client = service.Client();
        await Poll.UntilAsync(async () =>
        {
            if (service.HasExited)
            {
                throw new InvalidOperationException($"{serviceName} exited at start:\n{string.Join('\n', service.Lines.Take(20))}");
            }

            using var alive = await client.GetAsync("/alive");
            return alive.StatusCode == HttpStatusCode.OK;
        }, $"{serviceName} /alive", TimeSpan.FromSeconds(60));
        return service;
    }

    /// <summary>SIGKILL: the process dies at once, as under OOM or a lost machine; nothing of its shutdown runs.</summary>
    public async Task KillAsync()
    {
        _process.Kill();
        await _process.WaitForExitAsync();
    }

    /// <summary>SIGTERM, as a container runtime or Aspire stops it; completes when the process has exited.</summary>
    public async Task TerminateAsync(TimeSpan timeout)
    {
        if (!_process.HasExited)
        {
            using var term = Process.Start(new ProcessStartInfo("kill", ["-TERM", _process.Id.ToString()]) { UseShellExecute = false });
            await term!.WaitForExitAsync();
        }

        await _process.WaitForExitAsync().WaitAsync(timeout);
    }

    public bool Logged(string text) => _lines.Any(l => l.Contains(text, StringComparison.Ordinal));

    /// <summary>Its last warning and error lines, for a failed assertion's message: what the service said went wrong.</summary>
    public string Complaints(int count = 10) =>
        $"{Name} said:\n" + string.Join('\n', _lines
            .Where(l => !l.StartsWith('{') || ComplaintLevels.Any(level => l.Contains(level, StringComparison.Ordinal)))
            .TakeLast(count));

    private void Keep(string? line)
    {
        if (line is not null && _lines.Count < KeptLines)
        {
            _lines.Enqueue(line);
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }

        _process.Dispose();
    }
}
