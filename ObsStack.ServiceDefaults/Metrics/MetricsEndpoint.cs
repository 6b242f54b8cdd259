using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;

namespace ObsStack.ServiceDefaults.Metrics;

internal static class MetricsEndpoint
{
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
