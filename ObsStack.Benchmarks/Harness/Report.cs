using System.Globalization;
using System.Text;

namespace ObsStack.Benchmarks.Harness;

/// <summary>Markdown written to the console and to <c>BenchmarkDotNet.Artifacts/obsstack/</c>, so a run leaves its numbers behind.</summary>
internal sealed class Report(string suite)
{
    private readonly StringBuilder _text = new();

    public static readonly CultureInfo Invariant = CultureInfo.InvariantCulture;

    public void Line(string line = "")
    {
        Console.WriteLine(line);
        _text.Append(line).Append('\n');
    }

    public string Save()
    {
        var folder = Path.Combine(Directory.GetCurrentDirectory(), "BenchmarkDotNet.Artifacts", "obsstack");
        Directory.CreateDirectory(folder);
        var path = Path.Combine(folder, $"{suite}-{DateTime.UtcNow:yyyyMMdd-HHmmss}.md");
        File.WriteAllText(path, _text.ToString());
        return path;
    }

    public static string F(double value, int decimals = 1) => double.IsNaN(value) ? "n/a" : value.ToString("F" + decimals, Invariant);

    public static string Ratio(double value) => double.IsNaN(value) ? "n/a" : value.ToString("F3", Invariant);

    public static string Percent(double ratio) => double.IsNaN(ratio) ? "n/a" : (ratio - 1).ToString("+0.0%;-0.0%;0.0%", Invariant);

    public static string Mb(double bytes) => (bytes / (1024 * 1024)).ToString("F1", Invariant);
}

/// <summary>Summary statistics over the finite values only: a window whose counter did not move yields NaN, not a sample.</summary>
internal static class Stats
{
    public static double Mean(this IReadOnlyCollection<double> values)
    {
        values = Finite(values);
        return values.Count == 0 ? double.NaN : values.Average();
    }

    /// <summary>Sample standard deviation.</summary>
    public static double StdDev(this IReadOnlyCollection<double> values)
    {
        values = Finite(values);
        if (values.Count < 2)
        {
            return double.NaN;
        }

        var mean = values.Average();
        return Math.Sqrt(values.Sum(v => (v - mean) * (v - mean)) / (values.Count - 1));
    }

    public static double Median(this IReadOnlyCollection<double> values)
    {
        values = Finite(values);
        if (values.Count == 0)
        {
            return double.NaN;
        }

        var sorted = values.Order().ToArray();
        return sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[sorted.Length / 2 - 1] + sorted[sorted.Length / 2]) / 2;
    }

    private static List<double> Finite(IEnumerable<double> values) => [.. values.Where(double.IsFinite)];
}
