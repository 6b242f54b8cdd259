using Microsoft.Extensions.DependencyInjection;

namespace Microsoft.Extensions.Hosting;

public static partial class Extensions
{
    /// <summary>
    /// Peer discovery for <c>http://worker</c>-style URLs. With Aspire packages, Microsoft.Extensions.ServiceDiscovery
    /// resolves them; without (UseAspirePackages=false), <see cref="ObsStack.ServiceDefaults.Discovery.ServiceEndpoints"/>
    /// reads the same <c>services__{name}__{scheme}__{i}</c> configuration Aspire injects.
    /// </summary>
    public static TBuilder AddServiceDiscoveryDefaults<TBuilder>(this TBuilder builder) where TBuilder : IHostApplicationBuilder
    {
#if ASPIRE
        builder.Services.AddServiceDiscovery();
        builder.Services.ConfigureHttpClientDefaults(http => http.AddServiceDiscovery());
#endif
        return builder;
    }
}
