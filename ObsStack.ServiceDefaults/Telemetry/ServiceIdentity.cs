using System.Reflection;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;

namespace ObsStack.ServiceDefaults.Telemetry;

/// <summary>
/// Who this process is, identically for all four signals: the OpenTelemetry resource of traces, metrics and logs,
/// the labels of the Prometheus exposition and the Pyroscope series are all built from one instance of this.
/// </summary>
internal sealed record ServiceIdentity(
    string ServiceName,
    string ServiceVersion,
    string Environment,
    string InstanceId,
    IReadOnlyDictionary<string, string> ExtraAttributes)
{
    public const string ServiceNameKey = "service.name";
    public const string ServiceVersionKey = "service.version";
    public const string EnvironmentKey = "deployment.environment.name";
    public const string InstanceIdKey = "service.instance.id";

    /// <summary>
    /// Resolves the identity the way the OpenTelemetry specification orders it: <c>OTEL_SERVICE_NAME</c> wins,
    /// then <c>service.name</c> in <c>OTEL_RESOURCE_ATTRIBUTES</c>, then the application name. Aspire sets
    /// <c>OTEL_SERVICE_NAME</c> to the resource name; the services' appsettings.json set the same name so a service
    /// run on its own reports it too.
    /// </summary>
    public static ServiceIdentity FromConfiguration(IConfiguration configuration, IHostEnvironment environment)
    {
        var attributes = ParseResourceAttributes(configuration["OTEL_RESOURCE_ATTRIBUTES"]);

        var name = FirstNonEmpty(configuration["OTEL_SERVICE_NAME"], Take(attributes, ServiceNameKey), environment.ApplicationName)!;
        var version = FirstNonEmpty(Take(attributes, ServiceVersionKey), InformationalVersion()) ?? "0.0.0";
        var env = FirstNonEmpty(Take(attributes, EnvironmentKey), environment.EnvironmentName)!.ToLowerInvariant();
        var instance = FirstNonEmpty(Take(attributes, InstanceIdKey), $"{System.Environment.MachineName}-{System.Environment.ProcessId}")!;

        return new ServiceIdentity(name, version, env, instance, attributes);
    }

    /// <summary>
    /// The one registration of the identity, shared by telemetry and profiling: resolved from the builder's
    /// configuration, so it is the same value whichever of them is added first.
    /// </summary>
    public static ServiceIdentity Register(IHostApplicationBuilder builder)
    {
        var identity = FromConfiguration(builder.Configuration, builder.Environment);
        builder.Services.TryAddSingleton(identity);
        return identity;
    }

    /// <summary>All attributes of the resource, the four above first.</summary>
    public IEnumerable<KeyValuePair<string, object>> Attributes()
    {
        yield return new(ServiceNameKey, ServiceName);
        yield return new(ServiceVersionKey, ServiceVersion);
        yield return new(EnvironmentKey, Environment);
        yield return new(InstanceIdKey, InstanceId);
        foreach (var (key, value) in ExtraAttributes)
        {
            yield return new(key, value);
        }
    }

    /// <summary>Parses the W3C-baggage-like <c>key1=value1,key2=value2</c> form (values percent-encoded).</summary>
    internal static Dictionary<string, string> ParseResourceAttributes(string? value)
    {
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        if (string.IsNullOrWhiteSpace(value))
        {
            return result;
        }

        foreach (var pair in value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var eq = pair.IndexOf('=');
            if (eq <= 0)
            {
                continue; // The specification says to ignore malformed entries rather than fail the process.
            }

            var key = pair[..eq].Trim();
            var raw = pair[(eq + 1)..].Trim();
            result[key] = Uri.UnescapeDataString(raw);
        }

        return result;
    }

    private static string? Take(Dictionary<string, string> attributes, string key) =>
        attributes.Remove(key, out var value) ? value : null;

    private static string? FirstNonEmpty(params string?[] values) =>
        values.FirstOrDefault(v => !string.IsNullOrWhiteSpace(v));

    private static string? InformationalVersion()
    {
        var version = Assembly.GetEntryAssembly()?.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion;
        // The SDK appends "+<commit sha>"; keep it: it tells exactly which build is running.
        return version;
    }
}
