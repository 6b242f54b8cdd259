using ObsStack.Api.Middleware;

namespace Microsoft.AspNetCore.Builder;

internal static class PipelineExtensions
{
    /// <summary>Log scope with trace_id, span_id and request_id for the rest of the pipeline; X-Trace-Id and X-Request-Id on the response.</summary>
    public static IApplicationBuilder UseRequestCorrelation(this IApplicationBuilder app) => app.UseMiddleware<RequestCorrelation>();
}
