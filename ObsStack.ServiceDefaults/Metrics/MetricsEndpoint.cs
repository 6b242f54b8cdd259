using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using OpenTelemetry.Metrics;

namespace ObsStack.ServiceDefaults.Metrics;

/// <summary>
/// <c>GET /metrics</c>: the meter provider's cumulative state in the Prometheus text format, on demand. Our own exporter,
/// not OpenTelemetry.Exporter.Prometheus.AspNetCore: the package's names differ from Prometheus' OTLP translation that
/// the dashboards and alerts rely on (PrometheusExporterPackageTests).
/// </summary>
internal static class MetricsEndpoint
{
    /// <summary>The pull reader behind <c>/metrics</c>: collects only when scraped, so nothing builds up between scrapes.</summary>
    public static MeterProviderBuilder AddPrometheusPullReader(this MeterProviderBuilder metrics)
    {
        metrics.ConfigureServices(services => services.TryAddSingleton(new PrometheusPullExporter()));
        return metrics.AddReader(sp => new BaseExportingMetricReader(sp.GetRequiredService<PrometheusPullExporter>())
        {
            TemporalityPreference = MetricReaderTemporalityPreference.Cumulative,
        });
    }

    public static IEndpointConventionBuilder MapPrometheusMetrics(this IEndpointRouteBuilder endpoints, string pattern) =>
        endpoints.MapGet(pattern, Scrape).WithName("PrometheusMetrics").ExcludeFromDescription();

    private static IResult Scrape(PrometheusPullExporter exporter)
    {
        var text = exporter.Scrape();
        return text is null
            ? TypedResults.Problem("Metrics could not be collected: the meter provider is not running (starting or shutting down). Retry the scrape.", statusCode: StatusCodes.Status503ServiceUnavailable)
            : TypedResults.Text(text, PrometheusTextSerializer.ContentType);
    }
}
