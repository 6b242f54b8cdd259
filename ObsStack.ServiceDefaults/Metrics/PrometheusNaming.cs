using System.Text;

namespace ObsStack.ServiceDefaults.Metrics;

/// <summary>
/// The OTLP → Prometheus name translation that Prometheus' own OTLP receiver applies
/// (prometheus/otlptranslator, strategy <c>UnderscoreEscapingWithSuffixes</c>, the default), so that a metric has
/// the same name whether Prometheus scrapes <c>/metrics</c> or receives it over OTLP.
/// </summary>
internal static class PrometheusNaming
{
    private static readonly Dictionary<string, string> UnitMap = new(StringComparer.Ordinal)
    {
        ["d"] = "days", ["h"] = "hours", ["min"] = "minutes", ["s"] = "seconds", ["ms"] = "milliseconds",
        ["us"] = "microseconds", ["ns"] = "nanoseconds",
        ["By"] = "bytes", ["KiBy"] = "kibibytes", ["MiBy"] = "mebibytes", ["GiBy"] = "gibibytes", ["TiBy"] = "tibibytes",
        ["KBy"] = "kilobytes", ["MBy"] = "megabytes", ["GBy"] = "gigabytes", ["TBy"] = "terabytes",
        ["m"] = "meters", ["V"] = "volts", ["A"] = "amperes", ["J"] = "joules", ["W"] = "watts", ["g"] = "grams",
        ["Cel"] = "celsius", ["Hz"] = "hertz", ["1"] = "", ["%"] = "percent",
    };

    private static readonly Dictionary<string, string> PerUnitMap = new(StringComparer.Ordinal)
    {
        ["s"] = "second", ["m"] = "minute", ["h"] = "hour", ["d"] = "day", ["w"] = "week", ["mo"] = "month", ["y"] = "year",
    };

    public enum Kind
    {
        Counter,
        Gauge,
        Histogram,
    }

    /// <summary>
    /// <c>job.duration</c> (unit <c>s</c>, histogram) → <c>job_duration_seconds</c>;
    /// <c>jobs</c> (unit <c>{job}</c>, counter) → <c>jobs_total</c>.
    /// </summary>
    public static string MetricName(string name, string? unit, Kind kind)
    {
        var tokens = Tokens(name);

        var (main, per) = UnitSuffixes(unit);
        if (main.Length > 0 && !tokens.Contains(main))
        {
            tokens.Add(main);
        }

        if (per.Length > 0 && !tokens.Contains(per))
        {
            tokens.Add("per");
            tokens.Add(per);
        }

        if (kind == Kind.Counter)
        {
            tokens.RemoveAll(t => t == "total");
            tokens.Add("total");
        }

        if (unit == "1" && kind == Kind.Gauge)
        {
            tokens.RemoveAll(t => t == "ratio");
            tokens.Add("ratio");
        }

        var result = string.Join('_', tokens);
        return result.Length > 0 && char.IsAsciiDigit(result[0]) ? "_" + result : result;
    }

    /// <summary><c>http.response.status_code</c> → <c>http_response_status_code</c>.</summary>
    public static string LabelName(string key)
    {
        var builder = new StringBuilder(key.Length + 4);
        foreach (var c in key)
        {
            builder.Append(char.IsAsciiLetterOrDigit(c) || c == '_' ? c : '_');
        }

        if (builder.Length > 0 && char.IsAsciiDigit(builder[0]))
        {
            builder.Insert(0, "key_");
        }
        else if (builder.Length > 1 && builder[0] == '_' && builder[1] != '_')
        {
            builder.Insert(0, "key");
        }

        return builder.ToString();
    }

    private static List<string> Tokens(string name) =>
        name.Split(c => !(char.IsAsciiLetterOrDigit(c) || c == ':')).Where(t => t.Length > 0).ToList();

    private static (string Main, string Per) UnitSuffixes(string? unit)
    {
        if (string.IsNullOrWhiteSpace(unit))
        {
            return ("", "");
        }

        var parts = unit.Split('/', 2);
        var main = parts[0].Trim();
        var per = parts.Length > 1 ? parts[1].Trim() : "";

        // Annotations in braces ({job}, {request}) carry no unit: they are dropped, as the translator does.
        var mainSuffix = main.Length == 0 || main.Contains('{') || main.Contains('}')
            ? ""
            : CleanUp(UnitMap.GetValueOrDefault(main, main));
        var perSuffix = per.Length == 0 || per.Contains('{') || per.Contains('}')
            ? ""
            : CleanUp(PerUnitMap.GetValueOrDefault(per, per));
        return (mainSuffix, perSuffix);
    }

    private static string CleanUp(string value) =>
        string.Join('_', value.Split(c => !(char.IsAsciiLetterOrDigit(c) || c == ':')).Where(t => t.Length > 0));

    private static string[] Split(this string value, Func<char, bool> isSeparator)
    {
        var parts = new List<string>();
        var start = 0;
        for (var i = 0; i <= value.Length; i++)
        {
            if (i == value.Length || isSeparator(value[i]))
            {
                parts.Add(value[start..i]);
                start = i + 1;
            }
        }

        return [.. parts];
    }
}
