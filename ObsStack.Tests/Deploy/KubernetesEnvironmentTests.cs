using System.Collections;
using System.Reflection;
using System.Text.RegularExpressions;
using Aspire.Hosting;
using Aspire.Hosting.ApplicationModel;
using Aspire.Hosting.Testing;
using Microsoft.Extensions.Logging.Abstractions;
using ObsStack.Tests.Stack;

namespace ObsStack.Tests.Deploy;

/// <summary>
/// Every variable a Deployment sets is one the service reads: a key of its bound options (<c>Section__Property</c>), a
/// variable the AppHost gives the same service (Aspire's <c>OTEL_*</c> and <c>services__*</c>), one ServiceDefaults
/// reads by name, or the job engine's <c>ConnectionStrings__redis</c>. A misspelt key would otherwise be ignored in
/// silence and the default used.
/// </summary>
public sealed partial class KubernetesEnvironmentTests
{
    /// <summary>The Redis job engine's connection string, as Aspire's Redis client integration names it.</summary>
    private const string RedisConnectionString = "ConnectionStrings__redis";

    private static readonly Dictionary<string, Assembly[]> Assemblies = new()
    {
        ["worker"] = [typeof(ObsStack.Worker.Jobs.WorkerPoolOptions).Assembly, ServiceDefaultsAssembly],
        ["api"] = [typeof(ObsStack.Api.ApiOptions).Assembly, ServiceDefaultsAssembly],
    };

    private static Assembly ServiceDefaultsAssembly => typeof(ObsStack.ServiceDefaults.Telemetry.TelemetryOptions).Assembly;

    public static TheoryData<string, string> OverlaysAndServices()
    {
        var data = new TheoryData<string, string>();
        foreach (var overlay in Kustomize.Overlays)
        {
            data.Add(overlay, "worker");
            data.Add(overlay, "api");
        }

        return data;
    }

    [SkippableTheory]
    [MemberData(nameof(OverlaysAndServices))]
    public async Task Every_variable_a_Deployment_sets_is_a_key_its_service_reads(string overlay, string service)
    {
        var environment = KubernetesManifestTests.Environment(overlay, service);
        var aspire = await AppHostVariablesAsync(service);
        var byName = VariablesReadByName();

        var unknown = environment.Keys
            .Where(name => name != RedisConnectionString
                && !aspire.Contains(name)
                && !byName.Contains(name)
                && !IsOptionsKey(name, Assemblies[service]))
            .ToList();

        Assert.True(unknown.Count == 0,
            $"{overlay}/{service} sets variables no code reads: {string.Join(", ", unknown)}. Known from the AppHost: {string.Join(", ", aspire.Order())}.");
    }

    [Fact]
    public void An_options_key_resolves_only_to_a_bound_property()
    {
        Assembly[] worker = Assemblies["worker"];

        Assert.True(IsOptionsKey("WorkerPool__ShutdownGracePeriod", worker));
        Assert.True(IsOptionsKey("WorkerPool__AllowedTargetHosts__0", worker));
        Assert.True(IsOptionsKey("Telemetry__Traces__OtlpEndpoint", worker));
        Assert.True(IsOptionsKey("telemetry__samplingratio", worker));
        Assert.False(IsOptionsKey("WorkerPool__ShutdownGracePeriods", worker));
        Assert.False(IsOptionsKey("WorkerPool", worker));
        Assert.False(IsOptionsKey("Telemetry__Traces", worker));
        Assert.False(IsOptionsKey("Api__ChaosKey", worker));
    }

    [SkippableTheory]
    [MemberData(nameof(Kustomize.OverlayNames), MemberType = typeof(Kustomize))]
    public void Telemetry_goes_to_the_in_cluster_backends_each_signal_to_its_own(string overlay)
    {
        foreach (var service in new[] { "worker", "api" })
        {
            var environment = KubernetesManifestTests.Environment(overlay, service);
            Assert.Equal(service, environment["OTEL_SERVICE_NAME"].Value);
            foreach (var (key, path) in DeployedBackends.TelemetryPaths)
            {
                var url = new Uri(environment[key].Value);
                Assert.EndsWith(".monitoring.svc.cluster.local", url.Host, StringComparison.Ordinal);
                Assert.Equal(path, url.AbsolutePath);
            }
        }
    }

    /// <summary>Whether <c>Section__Property[__Nested…]</c> names a property of an options class bound to its section.</summary>
    internal static bool IsOptionsKey(string variable, IEnumerable<Assembly> assemblies)
    {
        var segments = variable.Split("__");
        foreach (var (section, type) in OptionsSections(assemblies))
        {
            var prefix = section.Split(':');
            if (segments.Length > prefix.Length
                && prefix.Zip(segments).All(p => string.Equals(p.First, p.Second, StringComparison.OrdinalIgnoreCase))
                && ResolvesToValue(type, segments.AsSpan(prefix.Length)))
            {
                return true;
            }
        }

        return false;
    }

    private static bool ResolvesToValue(Type type, ReadOnlySpan<string> path)
    {
        while (path.Length > 0)
        {
            if (type != typeof(string) && typeof(IEnumerable).IsAssignableFrom(type))
            {
                // A list element (index) or a dictionary entry (key): the configuration binder's own forms.
                type = type.IsArray ? type.GetElementType()! : type.GetGenericArguments().Last();
                path = path[1..];
                continue;
            }

            var segment = path[0];
            var property = type.GetProperty(segment,
                BindingFlags.Public | BindingFlags.Instance | BindingFlags.IgnoreCase);
            if (property is null || property.SetMethod?.IsPublic != true && !property.PropertyType.IsClass)
            {
                return false;
            }

            type = property.PropertyType;
            path = path[1..];
        }

        var underlying = Nullable.GetUnderlyingType(type) ?? type;
        return underlying.IsPrimitive || underlying.IsEnum
            || underlying == typeof(string) || underlying == typeof(decimal) || underlying == typeof(TimeSpan)
            || underlying == typeof(Uri) || underlying == typeof(DateTimeOffset);
    }

    /// <summary>Options classes name their section in a <c>SectionName</c> constant (docs/configuration.md lists them).</summary>
    private static IEnumerable<(string Section, Type Type)> OptionsSections(IEnumerable<Assembly> assemblies) =>
        assemblies.SelectMany(a => a.GetTypes())
            .Select(t => (Type: t, Field: t.GetField("SectionName", BindingFlags.Public | BindingFlags.Static)))
            .Where(t => t.Field is { IsLiteral: true } && t.Field.FieldType == typeof(string))
            .Select(t => ((string)t.Field!.GetRawConstantValue()!, t.Type));

    /// <summary>The variables ServiceDefaults reads by their own name (the OpenTelemetry SDK's, e.g. OTEL_TRACES_SAMPLER).</summary>
    private static HashSet<string> VariablesReadByName() =>
        Directory.EnumerateFiles(Path.Combine(ObsStackRepository.Root, "ObsStack.ServiceDefaults"), "*.cs", SearchOption.AllDirectories)
            .Where(path => !ObsStackRepository.IsBuildOutput(path))
            .SelectMany(path => ConfigurationIndexer().Matches(File.ReadAllText(path)))
            .Select(m => m.Groups["key"].Value)
            .ToHashSet(StringComparer.Ordinal);

    /// <summary>The names of the variables the AppHost sets on a service (values are not resolved: nothing runs).</summary>
    private static async Task<HashSet<string>> AppHostVariablesAsync(string service)
    {
        await using var appHost = await DistributedApplicationTestingBuilder.CreateAsync<Projects.ObsStack_AppHost>(
            [$"--{ContainerBackends.ModeKey}=on"]);
        var resource = Assert.Single(appHost.Resources, r => r.Name == service);
        var environment = new Dictionary<string, object>();
        var context = new EnvironmentCallbackContext(appHost.ExecutionContext, resource, environment)
        {
            Logger = NullLogger.Instance,
        };
        foreach (var callback in resource.Annotations.OfType<EnvironmentCallbackAnnotation>())
        {
            await callback.Callback(context);
        }

        return environment.Keys.ToHashSet(StringComparer.Ordinal);
    }

    [GeneratedRegex(@"configuration\[""(?<key>[A-Z][A-Z0-9_]+)""\]")]
    private static partial Regex ConfigurationIndexer();
}
