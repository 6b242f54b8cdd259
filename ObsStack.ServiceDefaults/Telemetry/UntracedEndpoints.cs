using System.Diagnostics;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;

namespace ObsStack.ServiceDefaults.Telemetry;

/// <summary>
/// Keeps health probes and scrapes out of the traces: without the ASP.NET Core instrumentation package there is no
/// request filter, so the first middleware un-records the hosting span of these paths before anything else runs
/// (the SDK exports only recorded activities).
/// </summary>
internal sealed class UntracedEndpoints : IStartupFilter
{
    internal static readonly PathString[] Paths = ["/health", "/alive", "/metrics"];

    public Action<IApplicationBuilder> Configure(Action<IApplicationBuilder> next) => app =>
    {
        app.Use(static (context, nextMiddleware) =>
        {
            if (Activity.Current is { } activity && IsUntraced(context.Request.Path))
            {
                activity.IsAllDataRequested = false;
                activity.ActivityTraceFlags &= ~ActivityTraceFlags.Recorded;
            }

            return nextMiddleware(context);
        });
        next(app);
    };

    internal static bool IsUntraced(PathString path)
    {
        foreach (var untraced in Paths)
        {
            if (path.StartsWithSegments(untraced))
            {
                return true;
            }
        }

        return false;
    }
}
