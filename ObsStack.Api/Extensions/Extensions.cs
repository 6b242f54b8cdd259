using Microsoft.AspNetCore.Http.Timeouts;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using ObsStack.Api;
using ObsStack.Api.Apis;
using ObsStack.Api.Chaos;
using ObsStack.Api.Data;
using ObsStack.ServiceDefaults.Discovery;

namespace Microsoft.Extensions.Hosting;

internal static class Extensions
{
    /// <summary>The api's own registrations: options, its request timeout, the data simulation, chaos and the worker client.</summary>
    public static IHostApplicationBuilder AddApiServices(this IHostApplicationBuilder builder)
    {
        var services = builder.Services;

        services.AddOptions<ApiOptions>()
            .BindConfiguration(ApiOptions.SectionName)
            .ValidateDataAnnotations()
            .Validate(o => o.WorkerTimeout < o.RequestTimeout,
                $"{ApiOptions.SectionName}:WorkerTimeout must be shorter than {ApiOptions.SectionName}:RequestTimeout, so a slow worker is reported as 504 from the forward, not cut off by the request timeout.")
            .Validate(o => string.IsNullOrEmpty(o.ChaosKey) || o.ChaosKey.Length >= ApiOptions.MinChaosKeyLength,
                $"{ApiOptions.SectionName}:ChaosKey must be at least {ApiOptions.MinChaosKeyLength} characters, or unset.")
            .ValidateOnStart();
        services.AddOptions<DataOptions>()
            .BindConfiguration(DataOptions.SectionName)
            .ValidateDataAnnotations()
            .Validate(o => o.MinLatencyMs <= o.MaxLatencyMs,
                $"{DataOptions.SectionName}:MinLatencyMs must not exceed {DataOptions.SectionName}:MaxLatencyMs.")
            .ValidateOnStart();

        // Kestrel's limits (body size, header and body timeouts) are ServiceDefaults' HttpRequestLimits, the same in every service.

        // Every endpoint runs within Api:RequestTimeout; past it the handler's token is canceled and the client gets 504
        // problem+json (ServiceDefaults' pipeline fills in the empty 504 and carries the trace id in every problem).
        services.AddOptions<RequestTimeoutOptions>().Configure<IOptions<ApiOptions>>((timeouts, api) =>
            timeouts.DefaultPolicy = new RequestTimeoutPolicy
            {
                Timeout = api.Value.RequestTimeout,
                TimeoutStatusCode = StatusCodes.Status504GatewayTimeout,
            });

        services.TryAddSingleton(TimeProvider.System);
        services.AddSingleton<ChaosState>();
        services.AddSingleton<ChaosGuard>();
        services.AddSingleton<ApiTelemetry>();
        services.AddSingleton<ChaosInjector>();
        services.AddSingleton<DataSimulator>();

        services.AddHttpClient<WorkerClient>(http =>
            {
                http.BaseAddress = WorkerAddress(builder.Configuration);
                // WorkerClient bounds each call by Api:WorkerTimeout itself, telling a timeout (504) from a failure (503).
                http.Timeout = Timeout.InfiniteTimeSpan;
                http.MaxResponseContentBufferSize = WorkerClient.MaxResponseBytes;
            })
            .ConfigurePrimaryHttpMessageHandler(() => new SocketsHttpHandler
            {
                AllowAutoRedirect = false,
                PooledConnectionLifetime = TimeSpan.FromMinutes(2),
            });

        return builder;
    }

    /// <summary>
    /// Null when the worker is not wired (the job endpoints then say which key to set). Wired means the
    /// <c>services:worker:*</c> configuration Aspire's WithReference(worker) injects; the client then asks service
    /// discovery for the worker by name, https preferred, as under the AppHost.
    /// </summary>
    private static Uri? WorkerAddress(IConfiguration configuration) =>
        ServiceEndpoints.Resolve(configuration, WorkerClient.ServiceName) is null
            ? null
            : new Uri($"https+http://{WorkerClient.ServiceName}");
}
