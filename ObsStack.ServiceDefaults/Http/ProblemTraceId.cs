using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;

namespace ObsStack.ServiceDefaults.Http;

/// <summary>Every problem+json answer names the request's trace, so a client can quote what to look up.</summary>
internal static class ProblemTraceId
{
    public static void Add(ProblemDetailsContext context)
    {
        // The bare trace id, the same as X-Trace-Id: what Tempo's search box and Loki's trace_id take.
        if (context.HttpContext.Features.Get<IHttpActivityFeature>()?.Activity is { } server)
        {
            context.ProblemDetails.Extensions["traceId"] = server.TraceId.ToHexString();
            if (context.Exception is not null)
            {
                // The recovered 500: no exception details to the client, only how to find them.
                context.ProblemDetails.Detail = $"An unexpected error occurred. It is logged, with its stack, under trace id {server.TraceId.ToHexString()}.";
            }
        }
    }
}
