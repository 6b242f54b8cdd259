using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text.Json;

namespace ObsStack.Tests.Infrastructure;

/// <summary>
/// A real Prometheus (the Debian <c>prometheus</c> package) on a free loopback port with a generated config that
/// scrapes the given services every second, job label = service name, exactly as the PromQL of docs/architecture.md expects, and
/// evaluates the given rule files every second.
/// </summary>
public sealed class PrometheusServer : IAsyncDisposable
{
    private readonly Process _process;
    private readonly string _directory;
    private readonly HttpClient _http;

    private PrometheusServer(Process process, string directory, Uri address)
    {
        _process = process;
        _directory = directory;
        Address = address;
        _http = new HttpClient { BaseAddress = address, Timeout = TimeSpan.FromSeconds(10) };
    }

    public Uri Address { get; }

    /// <summary>Skips the test when Prometheus is not installed — except in CI, where that is a failure.</summary>
    public static void SkipIfUnavailable()
    {
        if (Tools.Find("prometheus") is not null)
        {
            return;
        }

        if (Tools.IsCi)
        {
            throw new InvalidOperationException("CI=true but 'prometheus' is not on PATH: .ci/run must install the Debian package 'prometheus'.");
        }

        Skip.If(true, "Prometheus is not installed (apt-get install prometheus); CI runs this test.");
    }

    public static Task<PrometheusServer> StartAsync(
        IReadOnlyDictionary<string, Uri> targets, IEnumerable<string>? ruleFiles = null) =>
        StartAsync(targets.ToDictionary(t => t.Key, t => (IReadOnlyList<Uri>)[t.Value]), ruleFiles);

    /// <summary>Scrapes several instances per job (the instance label is each one's host:port), as with worker replicas.</summary>
    public static async Task<PrometheusServer> StartAsync(
        IReadOnlyDictionary<string, IReadOnlyList<Uri>> targets, IEnumerable<string>? ruleFiles = null)
    {
        var binary = Tools.Find("prometheus") ?? throw new InvalidOperationException("prometheus is not on PATH.");
        var directory = Directory.CreateTempSubdirectory("obsstack-prometheus-").FullName;
        var port = FreePort();

        var config = "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n  evaluation_interval: 1s\n" +
            (ruleFiles?.ToList() is { Count: > 0 } rules ? "rule_files:\n" + string.Concat(rules.Select(file => $"  - '{file}'\n")) : "") +
            "scrape_configs:\n" +
            string.Concat(targets.Select(t =>
                $"  - job_name: {t.Key}\n    metrics_path: /metrics\n    static_configs:\n      - targets: [{string.Join(", ", t.Value.Select(u => $"'{u.Authority}'"))}]\n"));
        var configPath = Path.Combine(directory, "prometheus.yml");
        await File.WriteAllTextAsync(configPath, config);

        var start = new ProcessStartInfo(binary)
        {
            ArgumentList =
            {
                $"--config.file={configPath}",
                $"--storage.tsdb.path={Path.Combine(directory, "data")}",
                $"--web.listen-address=127.0.0.1:{port}",
                "--enable-feature=exemplar-storage",
                "--log.level=warn",
            },
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        var process = Process.Start(start) ?? throw new InvalidOperationException("prometheus did not start.");
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();

        var server = new PrometheusServer(process, directory, new Uri($"http://127.0.0.1:{port}/"));
        await Poll.UntilAsync(async () =>
        {
            if (process.HasExited)
            {
                throw new InvalidOperationException($"prometheus exited with {process.ExitCode}; config:\n{config}");
            }

            using var ready = await server._http.GetAsync("-/ready");
            return ready.IsSuccessStatusCode;
        }, "Prometheus /-/ready", TimeSpan.FromSeconds(30));
        return server;
    }

    /// <summary>Runs an instant query; returns the result vector (empty when no series match).</summary>
    public async Task<JsonElement[]> QueryAsync(string promql)
    {
        using var response = await _http.GetAsync("api/v1/query?query=" + Uri.EscapeDataString(promql));
        var body = await response.Content.ReadAsStringAsync();
        using var document = JsonDocument.Parse(body);
        var root = document.RootElement;
        if (root.GetProperty("status").GetString() != "success")
        {
            throw new InvalidOperationException($"Query failed: {promql}\n{body}");
        }

        var data = root.GetProperty("data");
        return data.GetProperty("resultType").GetString() switch
        {
            "vector" or "matrix" => [.. data.GetProperty("result").EnumerateArray().Select(e => e.Clone())],
            _ => [data.GetProperty("result").Clone()],
        };
    }

    /// <summary>The active alerts (<c>/api/v1/alerts</c>): labels, annotations, state pending or firing, activeAt.</summary>
    public async Task<JsonElement[]> AlertsAsync() =>
        [.. (await GetDataAsync("api/v1/alerts")).GetProperty("alerts").EnumerateArray()];

    /// <summary>Every loaded rule (<c>/api/v1/rules</c>), each with its group name, health and last error.</summary>
    public async Task<JsonElement[]> RulesAsync() =>
        [.. (await GetDataAsync("api/v1/rules")).GetProperty("groups").EnumerateArray()
            .SelectMany(group => group.GetProperty("rules").EnumerateArray())];

    private async Task<JsonElement> GetDataAsync(string path)
    {
        using var response = await _http.GetAsync(path);
        var body = await response.Content.ReadAsStringAsync();
        using var document = JsonDocument.Parse(body);
        if (document.RootElement.GetProperty("status").GetString() != "success")
        {
            throw new InvalidOperationException($"GET {path} failed:\n{body}");
        }

        return document.RootElement.GetProperty("data").Clone();
    }

    /// <summary>Polls the query until it returns at least one series.</summary>
    public async Task<JsonElement[]> WaitForDataAsync(string promql, TimeSpan timeout)
    {
        JsonElement[] result = [];
        await Poll.UntilAsync(async () => (result = await QueryAsync(promql)).Length > 0, $"PromQL with data: {promql}", timeout);
        return result;
    }

    public static double Value(JsonElement sample) =>
        double.Parse(sample.GetProperty("value")[1].GetString()!, System.Globalization.CultureInfo.InvariantCulture);

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    public async ValueTask DisposeAsync()
    {
        _http.Dispose();
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }

        _process.Dispose();
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

public static class Tools
{
    public static bool IsCi => string.Equals(Environment.GetEnvironmentVariable("CI"), "true", StringComparison.OrdinalIgnoreCase);

    public static string? Find(string name) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "")
            .Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
            .Select(dir => Path.Combine(dir, name))
            .FirstOrDefault(File.Exists);

    /// <summary>Runs promtool with the arguments (e.g. <c>check rules a.yaml</c>); returns (exit code, output).</summary>
    public static async Task<(int ExitCode, string Output)> PromtoolAsync(params string[] arguments)
    {
        var promtool = Find("promtool") ?? throw new InvalidOperationException("promtool is not on PATH (Debian package 'prometheus').");
        var start = new ProcessStartInfo(promtool)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        return (process.ExitCode, await stdout + await stderr);
    }

    /// <summary>Skips the test when promtool is not installed — except in CI, where that is a failure.</summary>
    public static void SkipIfNoPromtool()
    {
        if (Find("promtool") is not null)
        {
            return;
        }

        if (IsCi)
        {
            throw new InvalidOperationException("CI=true but 'promtool' is not on PATH: .ci/run must install the Debian package 'prometheus'.");
        }

        Skip.If(true, "promtool is not installed (apt-get install prometheus); CI runs this test.");
    }

    /// <summary>Runs <c>promtool check metrics</c> on the text; returns (exit code, output).</summary>
    public static async Task<(int ExitCode, string Output)> PromtoolCheckMetricsAsync(string exposition)
    {
        var promtool = Find("promtool") ?? throw new InvalidOperationException("promtool is not on PATH (Debian package 'prometheus').");
        var start = new ProcessStartInfo(promtool)
        {
            ArgumentList = { "check", "metrics" },
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        using var process = Process.Start(start)!;
        await process.StandardInput.WriteAsync(exposition);
        process.StandardInput.Close();
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        return (process.ExitCode, await stdout + await stderr);
    }
}
