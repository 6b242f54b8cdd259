using System.Diagnostics;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Routing;

namespace ObsStack.ServiceDefaults.Telemetry;

/// <summary>
/// The first middleware of every service, doing what the ASP.NET Core instrumentation package would (it is not on
/// every feed): the hosting span the runtime creates is named <c>Microsoft.AspNetCore.Hosting.HttpRequestIn</c>
/// and carries no attributes, so here it gets the semantic-convention name (<c>GET /jobs/{id}</c>), the HTTP
/// attributes, and error status for 5xx. Health probes and scrapes are un-recorded so they never reach a trace
/// backend (the SDK exports only recorded activities).
/// </summary>
internal sealed class ServerSpans : IStartupFilter
{
    internal static readonly PathString[] UntracedPaths = ["/health", "/alive", "/metrics"];

    public Action<IApplicationBuilder> Configure(Action<IApplicationBuilder> next) => app =>
    {
        app.Use(static async (context, nextMiddleware) =>
        {
            var activity = Activity.Current;
            if (activity is null || activity.Kind != ActivityKind.Server)
            {
                await nextMiddleware(context);
                return;
            }

            if (IsUntraced(context.Request.Path))
            {
                activity.IsAllDataRequested = false;
                activity.ActivityTraceFlags &= ~ActivityTraceFlags.Recorded;
                await nextMiddleware(context);
                return;
            }

            OnRequest(activity, context.Request);
            try
            {
                await nextMiddleware(context);
            }
            catch (Exception ex)
            {
                activity.SetTag("error.type", ex.GetType().FullName);
                throw;
            }
            finally
            {
                OnResponse(activity, context);
            }
        });
        next(app);
    };

    internal static bool IsUntraced(PathString path) => UntracedPaths.Any(path.StartsWithSegments);

    private static void OnRequest(Activity activity, HttpRequest request)
    {
        activity.DisplayName = request.Method;
        activity.SetTag("http.request.method", request.Method);
        activity.SetTag("url.scheme", request.Scheme);
        activity.SetTag("url.path", request.Path.Value);
        if (request.QueryString.HasValue)
        {
            activity.SetTag("url.query", request.QueryString.Value);
        }

        activity.SetTag("server.address", request.Host.Host);
        if (request.Host.Port is { } port)
        {
            activity.SetTag("server.port", port);
        }

        activity.SetTag("network.protocol.version", request.Protocol switch
        {
            "HTTP/1.1" => "1.1",
            "HTTP/2" => "2",
            "HTTP/3" => "3",
            var other => other,
        });
        if (request.Headers.UserAgent.Count > 0)
        {
            activity.SetTag("user_agent.original", request.Headers.UserAgent.ToString());
        }
    }

    private static void OnResponse(Activity activity, HttpContext context)
    {
        var status = context.Response.StatusCode;
        activity.SetTag("http.response.status_code", status);

        // After an exception the handler has cleared the endpoint; the recorder then already set the route.
        if (context.GetEndpoint() is RouteEndpoint { RoutePattern.RawText: { } route })
        {
            var normalized = route.StartsWith('/') ? route : "/" + route;
            activity.SetTag("http.route", normalized);
            activity.DisplayName = $"{context.Request.Method} {normalized}";
        }

        // Server spans are errors for 5xx only: a 4xx is the client's mistake, not the server's failure.
        if (status >= 500)
        {
            if (activity.GetTagItem("error.type") is null)
            {
                activity.SetTag("error.type", status.ToString(System.Globalization.CultureInfo.InvariantCulture));
            }

            // A handler or the exception recorder that already said why keeps its description.
            if (activity.Status != ActivityStatusCode.Error)
            {
                activity.SetStatus(ActivityStatusCode.Error, context.Features.Get<IHttpResponseFeature>()?.ReasonPhrase);
            }
        }
    }
}
