using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using ObsStack.ServiceDefaults.Http;

namespace Microsoft.Extensions.Hosting;

public static partial class Extensions
{
    /// <summary>
    /// The same Kestrel limits in every service (<see cref="HttpRequestLimits"/>), and a client's broken request — a bad
    /// chunk, a body cut short, too slow or too large — answered with its 4xx as problem+json wherever it surfaces, never
    /// as a 500. Registered before the telemetry's exception recorder, so such a request is not an error span either.
    /// Every problem carries the request's <c>traceId</c>; request timeouts are available to every service (a service
    /// sets its default policy; without one nothing times out).
    /// </summary>
    internal static TBuilder AddHttpRequestDefaults<TBuilder>(this TBuilder builder) where TBuilder : IHostApplicationBuilder
    {
        builder.Services.Configure<KestrelServerOptions>(kestrel => HttpRequestLimits.Apply(kestrel.Limits));
        builder.Services.AddProblemDetails(problems => problems.CustomizeProblemDetails = ProblemTraceId.Add);
        builder.Services.AddExceptionHandler<BadRequestExceptionHandler>();
        builder.Services.AddRequestTimeouts();
        return builder;
    }
}
