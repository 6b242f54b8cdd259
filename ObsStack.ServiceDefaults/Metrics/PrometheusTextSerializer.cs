using System.Globalization;
using System.Text;
using OpenTelemetry;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;

namespace ObsStack.ServiceDefaults.Metrics;

/// <summary>
/// Writes OpenTelemetry metric points in the Prometheus text exposition format 0.0.4
/// (https://prometheus.io/docs/instrumenting/exposition_formats/), named by <see cref="PrometheusNaming"/>.
/// Cumulative temporality is required, which is what the pull reader asks the SDK for.
/// </summary>
internal sealed class PrometheusTextSerializer
{
    public const string ContentType = "text/plain; version=0.0.4; charset=utf-8";

    private readonly StringBuilder _text = new(16 * 1024);
    private readonly HashSet<string> _families = new(StringComparer.Ordinal);

    // Per scrape: a label key is translated once, not once per sample line that carries it.
    private readonly Dictionary<string, string> _labelNames = new(StringComparer.Ordinal);

    // One point's label block (k="v",...), written once per point and copied into each of its lines.
    private readonly StringBuilder _labels = new(256);

    public override string ToString() => _text.ToString();

    /// <summary>
    /// <c>target_info</c>: the resource attributes as labels, as Prometheus' OTLP receiver writes them, so joins such as
    /// <c>* on (job, instance) group_left(service_version) target_info</c> work for both paths.
    /// <c>service.name</c> and <c>service.instance.id</c> are left out: they are <c>job</c> and <c>instance</c>.
    /// </summary>
    public void WriteTargetInfo(Resource resource)
    {
        _labels.Clear();
        foreach (var (key, value) in resource.Attributes)
        {
            if (key is not ("service.name" or "service.instance.id" or "service.namespace"))
            {
                AppendLabel(key, value);
            }
        }

        if (_labels.Length == 0)
        {
            return;
        }

        WriteHeader("target_info", "Target metadata", "gauge");
        WriteSample("target_info", _labels.ToString(), 1);
    }

    public void Write(Metric metric)
    {
        switch (metric.MetricType)
        {
            case MetricType.LongSum:
            case MetricType.DoubleSum:
                WriteSimple(metric, PrometheusNaming.Kind.Counter, "counter");
                break;
            case MetricType.LongSumNonMonotonic:
            case MetricType.DoubleSumNonMonotonic:
            case MetricType.LongGauge:
            case MetricType.DoubleGauge:
                // An UpDownCounter is a gauge to Prometheus (it can go down), exactly as the OTLP receiver maps it.
                WriteSimple(metric, PrometheusNaming.Kind.Gauge, "gauge");
                break;
            case MetricType.Histogram:
                WriteHistogram(metric);
                break;
            default:
                // Exponential histograms have no text-format equivalent; nothing in ObsStack records them.
                break;
        }
    }

    private void WriteSimple(Metric metric, PrometheusNaming.Kind kind, string type)
    {
        var name = PrometheusNaming.MetricName(metric.Name, metric.Unit, kind);
        WriteHeader(name, metric.Description, type);

        foreach (ref readonly var point in metric.GetMetricPoints())
        {
            double value = metric.MetricType switch
            {
                MetricType.LongSum or MetricType.LongSumNonMonotonic => point.GetSumLong(),
                MetricType.DoubleSum or MetricType.DoubleSumNonMonotonic => point.GetSumDouble(),
                MetricType.LongGauge => point.GetGaugeLastValueLong(),
                _ => point.GetGaugeLastValueDouble(),
            };
            WriteSample(name, LabelBlock(point.Tags), value);
        }
    }

    private void WriteHistogram(Metric metric)
    {
        var name = PrometheusNaming.MetricName(metric.Name, metric.Unit, PrometheusNaming.Kind.Histogram);
        WriteHeader(name, metric.Description, "histogram");

        var bucketName = name + "_bucket";
        var sumName = name + "_sum";
        var countName = name + "_count";
        foreach (ref readonly var point in metric.GetMetricPoints())
        {
            var labels = LabelBlock(point.Tags);
            long cumulative = 0;
            foreach (var bucket in point.GetHistogramBuckets())
            {
                cumulative += bucket.BucketCount;
                WriteBucket(bucketName, labels, bucket.ExplicitBound, cumulative);
            }

            WriteSample(sumName, labels, point.GetHistogramSum());
            WriteSample(countName, labels, point.GetHistogramCount());
        }
    }

    /// <summary><c>k1="v1",k2="v2"</c> for one point (empty without labels), escaped and with translated names.</summary>
    private string LabelBlock(ReadOnlyTagCollection tags)
    {
        _labels.Clear();
        foreach (var (key, value) in tags)
        {
            AppendLabel(key, value);
        }

        return _labels.ToString();
    }

    private void AppendLabel(string key, object? value)
    {
        if (_labels.Length > 0)
        {
            _labels.Append(',');
        }

        if (!_labelNames.TryGetValue(key, out var labelName))
        {
            labelName = PrometheusNaming.LabelName(key);
            _labelNames.Add(key, labelName);
        }

        _labels.Append(labelName).Append("=\"");
        AppendEscaped(_labels, LabelValue(value), escapeQuotes: true);
        _labels.Append('"');
    }

    private void WriteHeader(string name, string? help, string type)
    {
        if (!_families.Add(name))
        {
            return; // Two instruments translating to one name (e.g. from two meters) share one family header.
        }

        if (!string.IsNullOrEmpty(help))
        {
            _text.Append("# HELP ").Append(name).Append(' ');
            AppendEscaped(_text, help, escapeQuotes: false);
            _text.Append('\n');
        }

        _text.Append("# TYPE ").Append(name).Append(' ').Append(type).Append('\n');
    }

    private void WriteSample(string name, string labels, double value)
    {
        _text.Append(name);
        if (labels.Length > 0)
        {
            _text.Append('{').Append(labels).Append('}');
        }

        _text.Append(' ');
        AppendDouble(value);
        _text.Append('\n');
    }

    private void WriteBucket(string name, string labels, double upperBound, long cumulativeCount)
    {
        _text.Append(name).Append('{');
        if (labels.Length > 0)
        {
            _text.Append(labels).Append(',');
        }

        _text.Append("le=\"");
        AppendDouble(upperBound);
        _text.Append("\"} ").Append(cumulativeCount).Append('\n');
    }

    private static string LabelValue(object? value) => value switch
    {
        null => "",
        string s => s,
        bool b => b ? "true" : "false",
        IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
        _ => value.ToString() ?? "",
    };

    private static void AppendEscaped(StringBuilder text, string value, bool escapeQuotes)
    {
        foreach (var c in value)
        {
            switch (c)
            {
                case '\\': text.Append(@"\\"); break;
                case '\n': text.Append(@"\n"); break;
                case '"' when escapeQuotes: text.Append("\\\""); break;
                default: text.Append(c); break;
            }
        }
    }

    /// <summary><see cref="FormatDouble"/> without a string per number: samples are most of the text.</summary>
    private void AppendDouble(double value)
    {
        Span<char> digits = stackalloc char[32];
        if (double.IsFinite(value) && value.TryFormat(digits, out var length, "R", CultureInfo.InvariantCulture))
        {
            _text.Append(digits[..length]);
        }
        else
        {
            _text.Append(FormatDouble(value));
        }
    }

    internal static string FormatDouble(double value) => value switch
    {
        double.PositiveInfinity => "+Inf",
        double.NegativeInfinity => "-Inf",
        double.NaN => "NaN",
        _ => value.ToString("R", CultureInfo.InvariantCulture),
    };
}
