using System.Globalization;
using System.Text;
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

    public override string ToString() => _text.ToString();

    /// <summary>
    /// <c>target_info</c>: the resource attributes as labels, as Prometheus' OTLP receiver writes them, so joins such as
    /// <c>* on (job, instance) group_left(service_version) target_info</c> work for both paths.
    /// <c>service.name</c> and <c>service.instance.id</c> are left out: they are <c>job</c> and <c>instance</c>.
    /// </summary>
    public void WriteTargetInfo(Resource resource)
    {
        var labels = resource.Attributes
            .Where(a => a.Key is not ("service.name" or "service.instance.id" or "service.namespace"))
            .Select(a => new KeyValuePair<string, object?>(a.Key, a.Value))
            .ToList();
        if (labels.Count == 0)
        {
            return;
        }

        WriteHeader("target_info", "Target metadata", "gauge");
        WriteSample("target_info", labels, extraName: null, extraValue: null, 1);
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
            WriteSample(name, Labels(point), null, null, value);
        }
    }

    private void WriteHistogram(Metric metric)
    {
        var name = PrometheusNaming.MetricName(metric.Name, metric.Unit, PrometheusNaming.Kind.Histogram);
        WriteHeader(name, metric.Description, "histogram");

        foreach (ref readonly var point in metric.GetMetricPoints())
        {
            var labels = Labels(point);
            long cumulative = 0;
            foreach (var bucket in point.GetHistogramBuckets())
            {
                cumulative += bucket.BucketCount;
                var le = double.IsPositiveInfinity(bucket.ExplicitBound) ? "+Inf" : FormatDouble(bucket.ExplicitBound);
                WriteSample(name + "_bucket", labels, "le", le, cumulative);
            }

            WriteSample(name + "_sum", labels, null, null, point.GetHistogramSum());
            WriteSample(name + "_count", labels, null, null, point.GetHistogramCount());
        }
    }

    private static List<KeyValuePair<string, object?>> Labels(in MetricPoint point)
    {
        var labels = new List<KeyValuePair<string, object?>>(point.Tags.Count);
        foreach (var tag in point.Tags)
        {
            labels.Add(tag);
        }

        return labels;
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
            AppendEscaped(help, escapeQuotes: false);
            _text.Append('\n');
        }

        _text.Append("# TYPE ").Append(name).Append(' ').Append(type).Append('\n');
    }

    private void WriteSample(string name, List<KeyValuePair<string, object?>> labels, string? extraName, string? extraValue, double value)
    {
        _text.Append(name);
        if (labels.Count > 0 || extraName is not null)
        {
            _text.Append('{');
            var first = true;
            foreach (var (key, raw) in labels)
            {
                if (!first)
                {
                    _text.Append(',');
                }

                first = false;
                _text.Append(PrometheusNaming.LabelName(key)).Append("=\"");
                AppendEscaped(LabelValue(raw), escapeQuotes: true);
                _text.Append('"');
            }

            if (extraName is not null)
            {
                if (!first)
                {
                    _text.Append(',');
                }

                _text.Append(extraName).Append("=\"").Append(extraValue).Append('"');
            }

            _text.Append('}');
        }

        _text.Append(' ').Append(FormatDouble(value)).Append('\n');
    }

    private static string LabelValue(object? value) => value switch
    {
        null => "",
        string s => s,
        bool b => b ? "true" : "false",
        IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
        _ => value.ToString() ?? "",
    };

    private void AppendEscaped(string value, bool escapeQuotes)
    {
        foreach (var c in value)
        {
            switch (c)
            {
                case '\\': _text.Append(@"\\"); break;
                case '\n': _text.Append(@"\n"); break;
                case '"' when escapeQuotes: _text.Append("\\\""); break;
                default: _text.Append(c); break;
            }
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
