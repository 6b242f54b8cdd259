using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.Configuration;
using ObsStack.ServiceDefaults.Startup;

namespace Aspire.Hosting;

/// <summary>
/// The https launch profile serves the dashboard with the ASP.NET Core development certificate. Without one the
/// dashboard host fails some 40 s into the run with a long stack; this says so in one line before anything starts
/// (<see cref="StartupSettings"/>), with the two ways out.
/// </summary>
public static class DevelopmentCertificate
{
    /// <summary>The extension that marks the ASP.NET Core HTTPS development certificate (what <c>dotnet dev-certs https</c> creates and Kestrel looks for).</summary>
    public const string AspNetHttpsOid = "1.3.6.1.4.1.311.84.1.1";

    private static readonly string[] UrlKeys =
        ["ASPNETCORE_URLS", "ASPIRE_DASHBOARD_OTLP_ENDPOINT_URL", "ASPIRE_RESOURCE_SERVICE_ENDPOINT_URL"];

    /// <summary>Stops the AppHost with one line when an https address is configured and no development certificate exists.</summary>
    public static IDistributedApplicationBuilder RequireDevelopmentCertificateForHttps(this IDistributedApplicationBuilder builder)
    {
        if (!builder.ExecutionContext.IsRunMode || HttpsAddress(builder.Configuration) is not { } https || Exists())
        {
            return builder;
        }

        throw new InvalidSettingException(
            $"{https.Key} is '{https.Value}' (the https launch profile), which needs the ASP.NET Core development "
            + "certificate, and none is installed: run 'dotnet dev-certs https --trust', or use the default http profile "
            + "(dotnet run --project ObsStack.AppHost).");
    }

    private static KeyValuePair<string, string>? HttpsAddress(IConfiguration configuration)
    {
        foreach (var key in UrlKeys)
        {
            if (configuration[key] is { } value && value.Contains("https://", StringComparison.OrdinalIgnoreCase))
            {
                return KeyValuePair.Create(key, value);
            }
        }

        return null;
    }

    /// <summary>A current development certificate with its private key in the user's store, where Kestrel looks.</summary>
    public static bool Exists()
    {
        using var store = new X509Store(StoreName.My, StoreLocation.CurrentUser);
        store.Open(OpenFlags.ReadOnly);
        var now = DateTime.Now;
        return store.Certificates.Any(certificate =>
        {
            using (certificate)
            {
                return certificate.HasPrivateKey
                    && certificate.NotBefore <= now && now <= certificate.NotAfter
                    && certificate.Extensions.Any(extension => extension.Oid?.Value == AspNetHttpsOid);
            }
        });
    }
}
