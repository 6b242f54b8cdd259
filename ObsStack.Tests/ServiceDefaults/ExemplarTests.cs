using System.Diagnostics;
using System.Diagnostics.Metrics;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using ObsStack.ServiceDefaults.Telemetry;
using ObsStack.Tests.Infrastructure;
using OpenTelemetry.Metrics;

namespace ObsStack.Tests.ServiceDefaults;

/// <summary>
/// Exemplars are recorded where they can be seen (OTLP to Prometheus or the dashboard) and nowhere else: /metrics is
/// the text format, which carries none, so without an OTLP metrics destination collecting them is pure cost.
/// </summary>
public sealed class ExemplarTests
{
    [Theory]
    [InlineData(null, null, null, ExemplarFilterType.AlwaysOff)]
    [InlineData("http://127.0.0.1:9/v1/metrics", null, null, ExemplarFilterType.TraceBased)]
    [InlineData(null, "http://127.0.0.1:4317", null, ExemplarFilterType.TraceBased)]
    [InlineData("http://127.0.0.1:9/v1/metrics", "http://127.0.0.1:4317", "false", ExemplarFilterType.AlwaysOff)]
    [InlineData("http://127.0.0.1:9/v1/metrics", null, "true", ExemplarFilterType.TraceBased)]
    [InlineData(null, "http://127.0.0.1:4317", "false", ExemplarFilterType.AlwaysOff)]
    [InlineData(null, "   ", null, ExemplarFilterType.AlwaysOff)]
    public void Exemplars_are_recorded_only_for_an_OTLP_metrics_destination_unless_switched_off(
        string? backend, string? dashboard, string? exemplars, ExemplarFilterType expected)
    {
        // Only the keys each case sets, as a user would.
        var settings = new Dictionary<string, string?>
        {
            ["Telemetry:Metrics:OtlpEndpoint"] = backend,
            ["OTEL_EXPORTER_OTLP_ENDPOINT"] = dashboard,
            ["Telemetry:Metrics:Exemplars"] = exemplars,
        }.Where(s => s.Value is not null);
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(settings).Build();
        var options = new TelemetryOptions();
        configuration.GetSection(TelemetryOptions.SectionName).Bind(options);

        Assert.Equal(expected, options.ExemplarFilter(configuration));
    }

    [Fact]
    public void Trace_and_log_destinations_alone_record_no_exemplars()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Telemetry:Traces:OtlpEndpoint"] = "http://127.0.0.1:9/v1/traces",
            ["Telemetry:Logs:OtlpEndpoint"] = "http://127.0.0.1:9/v1/logs",
        }).Build();
        var options = new TelemetryOptions();
        configuration.GetSection(TelemetryOptions.SectionName).Bind(options);

        Assert.Equal(ExemplarFilterType.AlwaysOff, options.ExemplarFilter(configuration));
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task A_histogram_measured_in_a_sampled_span_reaches_the_backend_with_its_exemplar_unless_switched_off(bool exemplars)
    {
        await using var backend = await OtlpReceiver.StartAsync();
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { EnvironmentName = "Testing" });
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Telemetry:Metrics:OtlpEndpoint"] = backend.MetricsEndpoint.ToString(),
            ["Telemetry:Metrics:ExportInterval"] = "00:00:01",
            ["Telemetry:Metrics:Exemplars"] = exemplars.ToString(),
        });
        builder.ConfigureOpenTelemetry();
        using var host = builder.Build();
        await host.StartAsync();
        try
        {
            using var source = new ActivitySource("ObsStack.ExemplarTest");
            var meter = host.Services.GetRequiredService<IMeterFactory>().Create("ObsStack.ExemplarTest");
            var histogram = meter.CreateHistogram<double>("exemplar.test.duration", "s");
            string traceId;
            using (var activity = source.StartActivity("measured"))
            {
                Assert.NotNull(activity); // sampled: the tracer provider listens to ObsStack.*
                traceId = activity.TraceId.ToHexString();
                histogram.Record(0.042);
            }

            await backend.WaitForAsync(r => Points(r).Any(), "the histogram over OTLP");
            var point = Points(backend).Last();
            if (exemplars)
            {
                Assert.Contains(point.Exemplars, e => Convert.ToHexStringLower(e.TraceId.Span) == traceId);
            }
            else
            {
                Assert.Empty(point.Exemplars);
            }
        }
        finally
        {
            await host.StopAsync();
        }

        static IEnumerable<ObsStack.Tests.Infrastructure.Otlp.HistogramDataPoint> Points(OtlpReceiver r) =>
            r.ResourceMetrics.SelectMany(m => m.ScopeMetrics).SelectMany(s => s.Metrics)
                .Where(m => m.Name == "exemplar.test.duration").SelectMany(m => m.Histogram.DataPoints);
    }
}
