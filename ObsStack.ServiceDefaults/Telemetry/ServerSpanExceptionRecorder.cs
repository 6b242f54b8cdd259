using System.Diagnostics;
using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Routing;

namespace ObsStack.ServiceDefaults.Telemetry;

/// <summary>
/// Recovery, for every service that calls <c>UseExceptionHandler</c>: it already catches what escapes a handler, writes one error log
/// line with the stack (inside the correlation scope, so with the trace id) and answers 500 problem+json; the process
/// goes on serving. What it does not do is mark the trace: this sets the server span's status to error and records
/// the exception event on it, then returns false so the middleware still writes the problem and the log line.
/// </summary>
internal sealed class ServerSpanExceptionRecorder : IExceptionHandler
{
    public ValueTask<bool> TryHandleAsync(HttpContext httpContext, Exception exception, CancellationToken cancellationToken)
    {
        if (httpContext.Features.Get<IHttpActivityFeature>()?.Activity is { } server)
        {
            server.SetStatus(ActivityStatusCode.Error, exception.Message);
            server.SetTag("error.type", exception.GetType().FullName);
            server.AddException(exception);

            // The middleware has already cleared the endpoint (so a re-executed pipeline routes afresh), so nothing
            // after this can tell which route failed; the span keeps it from the feature, like the request metric does.
            if (httpContext.Features.Get<IExceptionHandlerFeature>()?.Endpoint is RouteEndpoint { RoutePattern.RawText: { } route })
            {
                server.SetTag("http.route", route);
                server.DisplayName = $"{httpContext.Request.Method} {route}";
            }
        }

        return ValueTask.FromResult(false);
    }
}
