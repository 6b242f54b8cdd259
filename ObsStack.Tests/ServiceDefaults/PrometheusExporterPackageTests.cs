using System.Diagnostics.Metrics;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;
using ObsStack.ServiceDefaults.Metrics;
using OpenTelemetry.Metrics;

namespace ObsStack.Tests.ServiceDefaults;

/// <summary>
/// Why <c>/metrics</c> keeps ObsStack's own exporter: OpenTelemetry.Exporter.Prometheus.AspNetCore (1.20.1-beta.1)
/// names metrics differently from Prometheus' own OTLP receiver, so a dashboard query would match one path and not
/// the other. Views cannot fix it: they rename for every reader, the OTLP path included. When this test fails, the
/// package has caught up — switch to it and delete Metrics/PrometheusTextSerializer.cs and PrometheusNaming.cs.
/// </summary>
public sealed class PrometheusExporterPackageTests
{
    [Fact]
    public async Task The_package_names_metrics_unlike_Prometheus_own_OTLP_translation()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        var meterName = $"PackageCanary.{Guid.NewGuid():N}";
        builder.Services.AddOpenTelemetry().WithMetrics(metrics => metrics.AddMeter(meterName).AddPrometheusExporter());
        await using var app = builder.Build();
        app.UseOpenTelemetryPrometheusScrapingEndpoint();
        await app.StartAsync();
        using var meter = new Meter(meterName);
        meter.CreateCounter<long>("dotnet.gc.heap.total_allocated", "By").Add(1024);
        meter.CreateObservableGauge("worker.utilization", () => 0.5, "1");
        using var client = new HttpClient { BaseAddress = new Uri(app.Urls.First()) };

        var text = await client.GetStringAsync("/metrics");

        // Prometheus' OTLP receiver (and ObsStack's /metrics) ...
        Assert.Equal("dotnet_gc_heap_allocated_bytes_total",
            PrometheusNaming.MetricName("dotnet.gc.heap.total_allocated", "By", PrometheusNaming.Kind.Counter));
        Assert.Equal("worker_utilization_ratio",
            PrometheusNaming.MetricName("worker.utilization", "1", PrometheusNaming.Kind.Gauge));
        // ... and the package.
        Assert.Contains("\ndotnet_gc_heap_total_allocated_bytes_total{", text);
        Assert.DoesNotContain("dotnet_gc_heap_allocated_bytes_total", text);
        Assert.Contains("\nworker_utilization{", text);
        Assert.DoesNotContain("worker_utilization_ratio", text);
        Assert.Contains("otel_scope_name=\"" + meterName + "\"", text);
    }
}
