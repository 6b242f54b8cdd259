using System.Diagnostics;
using System.Net;
using System.Reflection;

namespace ObsStack.Benchmarks.Harness;

/// <summary>
/// The real ObsStack.Worker binary of this build (or of a baseline build, or the empty web app of the startup floor),
/// started from its own output folder (its runtimeconfig: Server GC; its appsettings.json: log levels, service name)
/// on a free loopback port, configured only through environment variables — exactly how Aspire or a container runs
/// it. Never the benchmark's own process: CPU time, allocations, memory and the profiler's EventPipe session then
/// belong to the worker alone.
/// </summary>
internal sealed class WorkerProcess : IAsyncDisposable
{
    private readonly ChildProcess _process;

    private WorkerProcess(ChildProcess process, Uri address)
    {
        _process = process;
        Address = address;
        Client = new HttpClient(new SocketsHttpHandler { PooledConnectionLifetime = Timeout.InfiniteTimeSpan })
        {
            BaseAddress = address,
            Timeout = TimeSpan.FromSeconds(30),
        };
    }

    public static string AssemblyPath { get; } =
        Assembly.GetExecutingAssembly().GetCustomAttributes<AssemblyMetadataAttribute>()
            .Single(a => a.Key == "ObsStack.Worker.Path").Value
        ?? throw new InvalidOperationException("The build did not record the worker's path.");

    public Uri Address { get; }

    public HttpClient Client { get; }

    public int Pid => _process.Id;

    public TimeSpan CpuTime => _process.CpuTime;

    public long? ContextSwitches => _process.ContextSwitches;

    public long WorkingSetBytes => _process.WorkingSetBytes;

    /// <summary>From <c>dotnet exec</c> to the first 200 on <c>/alive</c> (polled every 10 ms).</summary>
    public TimeSpan StartupTime { get; private set; }

    /// <summary>Log lines the worker wrote (stdout + stderr).</summary>
    public long LogLines => _process.Lines;

    /// <summary>Warnings and errors the worker logged (first few), to show e.g. "dropping telemetry" once per exporter.</summary>
    public IReadOnlyList<string> Warnings => _process.NotableLines;

    /// <param name="alsoKeep">Further log lines to keep beside warnings and errors (see <see cref="Warnings"/>).</param>
    /// <param name="assemblyPath">Another build of the worker (a baseline to compare with); this build's by default.</param>
    /// <param name="arguments">Command-line arguments after the assembly (a child role of the benchmarks' own assembly).</param>
    public static async Task<WorkerProcess> StartAsync(IReadOnlyDictionary<string, string> settings, TimeSpan startTimeout,
        Func<string, bool>? alsoKeep = null, string? assemblyPath = null, IReadOnlyList<string>? arguments = null)
    {
        assemblyPath ??= AssemblyPath;
        if (!File.Exists(assemblyPath))
        {
            throw new FileNotFoundException($"The worker was not built at {assemblyPath}; build the solution in this configuration first.");
        }

        var port = LoopbackPeers.FreePort();
        var address = new Uri($"http://127.0.0.1:{port}");
        var environment = new Dictionary<string, string>(settings)
        {
            ["ASPNETCORE_URLS"] = address.ToString(),
            ["ASPNETCORE_ENVIRONMENT"] = "Production",
            ["DOTNET_NOLOGO"] = "1",
        };

        var process = ChildProcess.Start("dotnet", ["exec", assemblyPath, .. arguments ?? []], Path.GetDirectoryName(assemblyPath)!, environment,
            line => line.Contains("\"level\":\"warn\"", StringComparison.Ordinal)
                || line.Contains("\"level\":\"error\"", StringComparison.Ordinal)
                || line.Contains("\"level\":\"fatal\"", StringComparison.Ordinal)
                || (alsoKeep?.Invoke(line) ?? false));
        var worker = new WorkerProcess(process, address);

        var started = Stopwatch.StartNew();
        while (true)
        {
            if (process.HasExited)
            {
                await worker.DisposeAsync();
                throw new InvalidOperationException($"The worker exited at start: {string.Join(Environment.NewLine, worker.Warnings)}");
            }

            try
            {
                using var alive = await worker.Client.GetAsync("/alive");
                if (alive.StatusCode == HttpStatusCode.OK)
                {
                    worker.StartupTime = started.Elapsed;
                    return worker;
                }
            }
            catch (HttpRequestException)
            {
                // Not listening yet.
            }

            if (started.Elapsed > startTimeout)
            {
                await worker.DisposeAsync();
                throw new TimeoutException($"The worker did not answer /alive within {startTimeout.TotalSeconds} s.");
            }

            // Often enough to time the start (10 ms resolution) without competing with it for the cores.
            await Task.Delay(10);
        }
    }

    public async Task<PrometheusText> ScrapeAsync()
    {
        var text = await Client.GetStringAsync("/metrics");
        return new PrometheusText(text);
    }

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        await _process.DisposeAsync();
    }
}
