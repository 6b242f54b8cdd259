using Microsoft.Extensions.Configuration;

namespace ObsStack.ServiceDefaults.Discovery;

/// <summary>
/// Reads the peer addresses Aspire injects for <c>WithReference(x)</c>: <c>services__{name}__{scheme}__{index}</c>
/// (configuration path <c>services:{name}:{scheme}:{index}</c>). The same keys work without Aspire, so a service
/// run by hand is wired by setting them.
/// </summary>
public static class ServiceEndpoints
{
    /// <summary>The first address of <paramref name="serviceName"/>, https preferred, or null when it is not wired.</summary>
    public static Uri? Resolve(IConfiguration configuration, string serviceName)
    {
        var service = configuration.GetSection("services").GetSection(serviceName);
        foreach (var scheme in new[] { "https", "http" })
        {
            foreach (var entry in service.GetSection(scheme).GetChildren().OrderBy(c => c.Key, StringComparer.Ordinal))
            {
                if (Uri.TryCreate(entry.Value, UriKind.Absolute, out var uri))
                {
                    return uri;
                }
            }
        }

        return null;
    }

    /// <summary>Every wired peer address, for allow-lists.</summary>
    public static IEnumerable<Uri> All(IConfiguration configuration)
    {
        foreach (var service in configuration.GetSection("services").GetChildren())
        {
            foreach (var scheme in service.GetChildren())
            {
                foreach (var entry in scheme.GetChildren())
                {
                    if (Uri.TryCreate(entry.Value, UriKind.Absolute, out var uri))
                    {
                        yield return uri;
                    }
                }
            }
        }
    }
}
