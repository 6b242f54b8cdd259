using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;

namespace ObsStack.Benchmarks.Throughput;

/// <summary>
/// The machine's ceiling for this target: <c>wrk</c> (Debian package <c>wrk</c>), a C load generator with no
/// per-request work beyond HTTP itself. One run of wrk per window; its CPU time is read from the shell that waited for
/// it (<c>cutime + cstime</c> of <c>/proc/$$/stat</c>), so nothing is sampled while it runs; its context switches from
/// <c>/usr/bin/time</c> (Debian package <c>time</c>) when installed.
/// </summary>
internal static partial class WrkClient
{
    public sealed record Result(double Seconds, long Requests, long Errors, TimeSpan Cpu, long? ContextSwitches);

    public static bool Installed => ResolveOnPath("wrk") is not null;

    public const string InstallHint = "wrk is not installed: `apt-get install -y wrk` (Debian/Ubuntu) or `brew install wrk`, then run again.";

    /// <summary>Runs <c>wrk -t{threads} -c{connections} -d{duration}</c> against <paramref name="url"/> and parses its summary.</summary>
    public static async Task<Result> RunAsync(string url, int threads, int connections, TimeSpan duration)
    {
        var seconds = Math.Max(1, (int)Math.Round(duration.TotalSeconds));
        var info = new ProcessStartInfo("sh")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        // $$ is the shell: once wrk has been waited for, its CPU time is in the shell's cutime/cstime.
        const string Wrk = "if [ -x /usr/bin/time ]; then /usr/bin/time -f 'ctxt %w %c' wrk \"$@\" 2>&1; else wrk \"$@\"; fi";
        foreach (var argument in new[] { "-c", $"{Wrk} && echo && cat /proc/$$/stat", "sh", $"-t{threads}", $"-c{connections}", $"-d{seconds}s", url })
        {
            info.ArgumentList.Add(argument);
        }

        using var process = Process.Start(info) ?? throw new InvalidOperationException("Could not start sh for wrk.");
        var output = process.StandardOutput.ReadToEndAsync();
        var errors = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(duration + TimeSpan.FromSeconds(30));
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"wrk did not finish within {duration.TotalSeconds + 30:0} s.");
        }

        var text = await output;
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"wrk failed (exit {process.ExitCode}): {await errors}{text}");
        }

        return Parse(text);
    }

    /// <summary>wrk's summary ("N requests in 15.00s", non-2xx and socket errors) and the shell's stat line.</summary>
    internal static Result Parse(string text)
    {
        var total = RequestsIn().Match(text);
        if (!total.Success)
        {
            throw new FormatException($"No \"N requests in Xs\" line in wrk's output:{Environment.NewLine}{text}");
        }

        var requests = long.Parse(total.Groups[1].Value, CultureInfo.InvariantCulture);
        var seconds = Duration(total.Groups[2].Value, total.Groups[3].Value);
        long errors = 0;
        if (Non2xx().Match(text) is { Success: true } non2xx)
        {
            errors += long.Parse(non2xx.Groups[1].Value, CultureInfo.InvariantCulture);
        }

        if (SocketErrors().Match(text) is { Success: true } socket)
        {
            errors += Enumerable.Range(1, 4).Sum(i => long.Parse(socket.Groups[i].Value, CultureInfo.InvariantCulture));
        }

        // /proc/<pid>/stat: "pid (comm) state ..." — fields after the comm; cutime and cstime are fields 16 and 17.
        var stat = text.Split('\n').Last(line => line.Contains(") ", StringComparison.Ordinal) && line.Contains('(', StringComparison.Ordinal));
        var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        var ticks = long.Parse(fields[13], CultureInfo.InvariantCulture) + long.Parse(fields[14], CultureInfo.InvariantCulture);
        // USER_HZ is 100 on every Linux this runs on (sysconf(_SC_CLK_TCK)).
        var switches = ContextSwitches().Match(text) is { Success: true } ctxt
            ? long.Parse(ctxt.Groups[1].Value, CultureInfo.InvariantCulture) + long.Parse(ctxt.Groups[2].Value, CultureInfo.InvariantCulture)
            : (long?)null;
        return new Result(seconds, requests - errors, errors, TimeSpan.FromMilliseconds(ticks * 10), switches);
    }

    private static double Duration(string value, string unit)
    {
        var number = double.Parse(value, CultureInfo.InvariantCulture);
        return unit switch { "ms" => number / 1000, "m" => number * 60, _ => number };
    }

    private static string? ResolveOnPath(string name) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator)
            .Select(dir => Path.Combine(dir, name)).FirstOrDefault(File.Exists);

    [GeneratedRegex(@"(\d+) requests in ([\d.]+)(ms|s|m)")]
    private static partial Regex RequestsIn();

    [GeneratedRegex(@"Non-2xx or 3xx responses: (\d+)")]
    private static partial Regex Non2xx();

    /// <summary>/usr/bin/time's <c>%w %c</c>: voluntary and involuntary context switches of wrk.</summary>
    [GeneratedRegex(@"^ctxt (\d+) (\d+)$", RegexOptions.Multiline)]
    private static partial Regex ContextSwitches();

    [GeneratedRegex(@"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)")]
    private static partial Regex SocketErrors();
}
