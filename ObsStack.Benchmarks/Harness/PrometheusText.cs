using System.Globalization;

namespace ObsStack.Benchmarks.Harness;

/// <summary>The samples of one <c>/metrics</c> scrape: series (name with labels, as written) → value.</summary>
internal sealed class PrometheusText
{
    private readonly Dictionary<string, double> _samples = new(StringComparer.Ordinal);

    public PrometheusText(string text)
    {
        foreach (var raw in text.Split('\n'))
        {
            var line = raw.Trim();
            if (line.Length == 0 || line[0] == '#')
            {
                continue;
            }

            var space = line.LastIndexOf(' ');
            if (space > 0 && double.TryParse(line[(space + 1)..], NumberStyles.Float, CultureInfo.InvariantCulture, out var value))
            {
                _samples[line[..space]] = value;
            }
        }
    }

    public int SeriesCount => _samples.Count;

    /// <summary>Sum of every series of the family <paramref name="name"/> whose labels contain all of <paramref name="labels"/>.</summary>
    public double Sum(string name, params string[] labels)
    {
        double sum = 0;
        foreach (var (series, value) in _samples)
        {
            if (Family(series) == name && labels.All(l => series.Contains(l, StringComparison.Ordinal)))
            {
                sum += value;
            }
        }

        return sum;
    }

    /// <summary>Every series of the family, e.g. each <c>{signal,destination}</c> of the drop counter.</summary>
    public IEnumerable<(string Series, double Value)> Series(string name) =>
        _samples.Where(s => Family(s.Key) == name).Select(s => (s.Key, s.Value)).OrderBy(s => s.Key, StringComparer.Ordinal);

    private static string Family(string series)
    {
        var brace = series.IndexOf('{');
        return brace < 0 ? series : series[..brace];
    }
}
