using System.Diagnostics;
using System.Runtime.InteropServices;

namespace ObsStack.Benchmarks.Harness;

/// <summary>What the numbers were measured on, and how busy the whole machine was.</summary>
internal static class Machine
{
    /// <summary>Busy and total jiffies of all CPUs from <c>/proc/stat</c> (Linux); null elsewhere.</summary>
    public static (long Busy, long Total)? CpuJiffies()
    {
        try
        {
            var line = File.ReadLines("/proc/stat").First(l => l.StartsWith("cpu ", StringComparison.Ordinal));
            var fields = line.Split(' ', StringSplitOptions.RemoveEmptyEntries).Skip(1).Select(long.Parse).ToArray();
            // user nice system idle iowait irq softirq steal: idle + iowait are not busy; guest is already in user.
            var total = fields.Take(8).Sum();
            var idle = fields[3] + fields[4];
            return (total - idle, total);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or InvalidOperationException or FormatException)
        {
            return null;
        }
    }

    /// <summary>Busy cores of the whole machine over <paramref name="period"/>, or NaN where /proc/stat is missing.</summary>
    public static async Task<double> BusyCoresAsync(TimeSpan period)
    {
        var before = CpuJiffies();
        await Task.Delay(period);
        var after = CpuJiffies();
        return before is { } a && after is { } b && b.Total > a.Total
            ? (double)(b.Busy - a.Busy) / (b.Total - a.Total) * Environment.ProcessorCount
            : double.NaN;
    }

    /// <summary>
    /// Waits (at most <paramref name="patience"/>) until the machine is nearly idle before a measurement starts, so
    /// that other work on a shared machine (builds, test runs) does not land in it. Returns the last busy reading.
    /// </summary>
    public static async Task<double> WaitForQuietAsync(double maxBusyCores, TimeSpan patience)
    {
        var deadline = DateTime.UtcNow + patience;
        while (true)
        {
            var busy = await BusyCoresAsync(TimeSpan.FromSeconds(2));
            if (double.IsNaN(busy) || busy <= maxBusyCores || DateTime.UtcNow >= deadline)
            {
                return busy;
            }

            Console.WriteLine($"   machine busy with other work ({busy:F2} cores); waiting for it to settle…");
        }
    }

    public static string Describe()
    {
        var lines = new List<string>
        {
            $"- OS: {RuntimeInformation.OSDescription} ({RuntimeInformation.OSArchitecture})",
            $"- CPUs (Environment.ProcessorCount): {Environment.ProcessorCount}",
            $"- .NET runtime: {RuntimeInformation.FrameworkDescription}",
        };

        if (Run("nproc", "") is { } nproc)
        {
            lines.Add($"- nproc: {nproc.Trim()}");
        }

        if (Run("lscpu", "") is { } lscpu)
        {
            var model = lscpu.Split('\n').FirstOrDefault(l => l.StartsWith("Model name", StringComparison.Ordinal));
            var hypervisor = lscpu.Split('\n').FirstOrDefault(l => l.StartsWith("Hypervisor vendor", StringComparison.Ordinal));
            if (model is not null)
            {
                lines.Add($"- CPU: {Squeeze(model)}{(hypervisor is null ? "" : $" ({Squeeze(hypervisor)})")}");
            }
        }

        if (File.Exists("/proc/meminfo"))
        {
            var total = File.ReadLines("/proc/meminfo").FirstOrDefault(l => l.StartsWith("MemTotal", StringComparison.Ordinal));
            if (total is not null)
            {
                lines.Add($"- Memory: {Squeeze(total)}");
            }
        }

        return string.Join('\n', lines);
    }

    private static string Squeeze(string line) => string.Join(' ', line.Split(' ', StringSplitOptions.RemoveEmptyEntries));

    private static string? Run(string file, string arguments)
    {
        try
        {
            using var process = Process.Start(new ProcessStartInfo(file, arguments) { RedirectStandardOutput = true, UseShellExecute = false });
            if (process is null)
            {
                return null;
            }

            var output = process.StandardOutput.ReadToEnd();
            process.WaitForExit(5000);
            return output;
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return null;
        }
    }
}
