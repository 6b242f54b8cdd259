using System.Diagnostics.Metrics;
using ObsStack.ServiceDefaults.Metrics;
using ObsStack.Tests.Infrastructure;
using OpenTelemetry;
using OpenTelemetry.Metrics;

namespace ObsStack.Tests.ServiceDefaults;

/// <summary>The <c>/metrics</c> text, rendered from a real OpenTelemetry SDK pipeline.</summary>
public sealed class PrometheusExpositionTests
{
    private static string Render(Action<Meter> record)
    {
        // Not "ObsStack.*": service hosts running in parallel tests subscribe to every meter of that name.
        var meterName = "Tests.Exposition." + Guid.NewGuid().ToString("N");
        var exporter = new PrometheusPullExporter();
        using var provider = Sdk.CreateMeterProviderBuilder()
            .AddMeter(meterName)
            .AddReader(new BaseExportingMetricReader(exporter) { TemporalityPreference = MetricReaderTemporalityPreference.Cumulative })
            .Build();
        using var meter = new Meter(meterName);
        record(meter);
        return exporter.Scrape() ?? throw new InvalidOperationException("collection failed");
    }

    [Fact]
    public void Counters_histograms_and_gauges_have_exact_values_and_types()
    {
        var text = Render(meter =>
        {
            var counter = meter.CreateCounter<long>("jobs", "{job}", "Jobs finished.");
            counter.Add(2, new KeyValuePair<string, object?>("status", "success"));
            counter.Add(1, new KeyValuePair<string, object?>("status", "failed"));
            var histogram = meter.CreateHistogram("job.duration", "s", "Duration.",
                advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.1, 1] });
            histogram.Record(0.05);
            histogram.Record(0.5);
            histogram.Record(3);
            meter.CreateObservableGauge("jobs.queue.depth", () => 7, "{job}");
            var upDown = meter.CreateUpDownCounter<int>("workers.active", "{worker}");
            upDown.Add(3);
            upDown.Add(-1);
        });

        Assert.Contains("# TYPE jobs_total counter\n", text);
        Assert.Contains("# HELP jobs_total Jobs finished.\n", text);
        Assert.Contains("jobs_total{status=\"success\"} 2\n", text);
        Assert.Contains("jobs_total{status=\"failed\"} 1\n", text);
        Assert.Contains("# TYPE job_duration_seconds histogram\n", text);
        Assert.Contains("job_duration_seconds_bucket{le=\"0.1\"} 1\n", text);
        Assert.Contains("job_duration_seconds_bucket{le=\"1\"} 2\n", text);
        Assert.Contains("job_duration_seconds_bucket{le=\"+Inf\"} 3\n", text);
        Assert.Contains("job_duration_seconds_sum 3.55\n", text);
        Assert.Contains("job_duration_seconds_count 3\n", text);
        Assert.Contains("# TYPE jobs_queue_depth gauge\njobs_queue_depth 7\n", text);
        Assert.Contains("# TYPE workers_active gauge\nworkers_active 2\n", text);
    }

    [Fact]
    public void Label_values_and_help_text_are_escaped()
    {
        var text = Render(meter =>
        {
            var counter = meter.CreateCounter<long>("escapes", null, "Help with \\ backslash\nand newline.");
            counter.Add(1, new KeyValuePair<string, object?>("path", "C:\\dir\\\"quoted\"\nline"));
        });

        Assert.Contains("# HELP escapes_total Help with \\\\ backslash\\nand newline.\n", text);
        Assert.Contains("escapes_total{path=\"C:\\\\dir\\\\\\\"quoted\\\"\\nline\"} 1\n", text);
    }

    [Fact]
    public void Special_values_use_the_exposition_spelling() => Assert.Equal(
        ["+Inf", "-Inf", "NaN", "0.1", "1E+20"],
        new[] { double.PositiveInfinity, double.NegativeInfinity, double.NaN, 0.1, 1e20 }.Select(PrometheusTextSerializer.FormatDouble));

    [SkippableFact]
    public async Task Promtool_accepts_the_rendered_text_with_every_kind_and_awkward_labels()
    {
        Skip.If(Tools.Find("promtool") is null && !Tools.IsCi, "promtool is not installed (apt-get install prometheus); CI runs this test.");
        var text = Render(meter =>
        {
            meter.CreateCounter<long>("requests", "{request}", "Requests.").Add(5, new KeyValuePair<string, object?>("route", "/data/{id}"), new KeyValuePair<string, object?>("odd", "a\"b\\c\nd"));
            meter.CreateHistogram<double>("latency", "s", "Latency.").Record(0.012);
            meter.CreateObservableGauge("temperature", () => -3.5, "Cel", "Temperature.");
            meter.CreateUpDownCounter<long>("items.in.flight", "{item}", "In flight.").Add(4);
        });

        var (exitCode, output) = await Tools.PromtoolCheckMetricsAsync(text);

        Assert.True(exitCode == 0, $"promtool check metrics failed ({exitCode}):\n{output}\n--- input ---\n{text}");
    }
}
