using System.ComponentModel;
using System.Diagnostics;

namespace ObsStack.Tests.AppHost;

/// <summary>
/// Whether the AppHost's containers can run here: the runtime Aspire would use (ASPIRE_CONTAINER_RUNTIME, else
/// Docker, else Podman, as Aspire's own detection) must answer <c>info</c>, which needs its daemon or socket up,
/// not just the command on PATH.
/// </summary>
internal static class ContainerRuntime
{
    private static readonly TimeSpan ProbeTimeout = TimeSpan.FromSeconds(20);

    /// <summary>Returns null when a runtime answers, else the reason none can be used.</summary>
    public static async Task<string?> WhyUnavailableAsync()
    {
        var configured = Environment.GetEnvironmentVariable("ASPIRE_CONTAINER_RUNTIME")
            ?? Environment.GetEnvironmentVariable("DOTNET_ASPIRE_CONTAINER_RUNTIME");
        string[] candidates = string.IsNullOrWhiteSpace(configured) ? ["docker", "podman"] : [configured];

        var problems = new List<string>();
        foreach (var runtime in candidates)
        {
            var problem = await ProbeAsync(runtime);
            if (problem is null)
            {
                return null;
            }

            problems.Add(problem);
        }

        return $"No container runtime for the AppHost's containers: {string.Join("; ", problems)}. "
            + "Start Docker or Podman (or set ASPIRE_CONTAINER_RUNTIME) to run this test.";
    }

    private static async Task<string?> ProbeAsync(string runtime)
    {
        var start = new ProcessStartInfo(runtime)
        {
            ArgumentList = { "info" },
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };

        Process? process;
        try
        {
            process = Process.Start(start);
        }
        catch (Win32Exception)
        {
            return $"{runtime} is not installed";
        }

        if (process is null)
        {
            return $"{runtime} could not be started";
        }

        using (process)
        using (var timeout = new CancellationTokenSource(ProbeTimeout))
        {
            var stdout = process.StandardOutput.ReadToEndAsync(timeout.Token);
            var stderr = process.StandardError.ReadToEndAsync(timeout.Token);
            try
            {
                await process.WaitForExitAsync(timeout.Token);
                await Task.WhenAll(stdout, stderr);
            }
            catch (OperationCanceledException)
            {
                process.Kill(entireProcessTree: true);
                return $"'{runtime} info' did not answer within {ProbeTimeout.TotalSeconds:0} s";
            }

            if (process.ExitCode == 0)
            {
                return null;
            }

            var firstLine = (await stderr)
                .Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
                .FirstOrDefault() ?? "no error output";
            return $"'{runtime} info' failed ({process.ExitCode}): {firstLine}";
        }
    }
}
