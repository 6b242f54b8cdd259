using Microsoft.Extensions.DependencyInjection;

namespace Microsoft.Extensions.Hosting;

public static partial class Extensions
{
    /// <summary>
    /// Peer discovery for <c>https+http://worker</c>-style URLs through Microsoft.Extensions.ServiceDiscovery: it
    /// resolves them from the <c>services__{name}__{scheme}__{i}</c> configuration that Aspire's
    /// <c>WithReference</c> injects, or that a developer sets by hand to run the services without the AppHost.
    /// </summary>
    internal static TBuilder AddServiceDiscoveryDefaults<TBuilder>(this TBuilder builder) where TBuilder : IHostApplicationBuilder
    {
        builder.Services.AddServiceDiscovery();
        builder.Services.ConfigureHttpClientDefaults(http => http.AddServiceDiscovery());
        return builder;
    }
}
