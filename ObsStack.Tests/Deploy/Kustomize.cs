using System.Collections.Concurrent;
using System.Diagnostics;
using System.Reflection;
using k8s;
using k8s.Models;
using ObsStack.Tests.Infrastructure;
using ObsStack.Tests.Stack;

namespace ObsStack.Tests.Deploy;

/// <summary>
/// deploy/kubernetes rendered the way <c>kubectl apply -k</c> renders it (kubectl's built-in Kustomize), then parsed
/// strictly into the Kubernetes API models: an unknown field or a value of the wrong type is an error, as the API
/// server's strict field validation would make it.
/// </summary>
public static class Kustomize
{
    public static string Root { get; } = Path.Combine(GrafanaFiles.FindRepoRoot(), "deploy", "kubernetes");

    public static IReadOnlyList<string> Overlays { get; } =
        Directory.GetDirectories(Path.Combine(Root, "overlays")).Select(path => Path.GetFileName(path)!).Order().ToList();

    /// <summary>Each overlay, for <c>[MemberData]</c>.</summary>
    public static TheoryData<string> OverlayNames => new(Overlays);

    private static readonly ConcurrentDictionary<string, Lazy<IReadOnlyList<object>>> Rendered = new();

    /// <summary>
    /// Skips the test when kubectl is missing, except in CI (<c>CI=true</c>), where that is a failure: the manifests are
    /// proven only by rendering them.
    /// </summary>
    public static string RequireKubectl()
    {
        var kubectl = Tools.Find("kubectl");
        if (kubectl is null && Tools.IsCi)
        {
            throw new InvalidOperationException("CI=true but 'kubectl' is not on PATH: the Kustomize overlays cannot be rendered.");
        }

        Skip.If(kubectl is null, "kubectl is not installed: the Kustomize overlays cannot be rendered here; CI runs this test.");
        return kubectl!;
    }

    /// <summary>Every object <c>kubectl kustomize overlays/&lt;overlay&gt;</c> renders, as API models, rendered once per run.</summary>
    public static IReadOnlyList<object> Objects(string overlay)
    {
        var kubectl = RequireKubectl();
        return Rendered.GetOrAdd(overlay, name => new Lazy<IReadOnlyList<object>>(
            () => Parse(Render(kubectl, Path.Combine(Root, "overlays", name))))).Value;
    }

    public static IEnumerable<T> Objects<T>(string overlay) => Objects(overlay).OfType<T>();

    public static V1Deployment Deployment(string overlay, string name) =>
        Assert.Single(Objects<V1Deployment>(overlay), d => d.Metadata.Name == name);

    /// <summary>Parses a YAML stream into the API models; throws on an unknown kind, an unknown field or a wrong type.</summary>
    public static IReadOnlyList<object> Parse(string yaml) =>
        KubernetesYaml.LoadAllFromString(yaml, TypeMap, strict: true).ToList();

    /// <summary>apiVersion/kind → model: every built-in kind of the client, and the CRDs the manifests use.</summary>
    private static readonly Dictionary<string, Type> TypeMap = BuildTypeMap();

    private static Dictionary<string, Type> BuildTypeMap()
    {
        var map = new Dictionary<string, Type>(StringComparer.Ordinal);
        var types = typeof(V1Deployment).Assembly.GetTypes().Concat(typeof(PrometheusRule).Assembly.GetTypes());
        foreach (var type in types)
        {
            if (type.GetCustomAttribute<KubernetesEntityAttribute>() is { } entity && !string.IsNullOrEmpty(entity.Kind))
            {
                var apiVersion = string.IsNullOrEmpty(entity.Group) ? entity.ApiVersion : $"{entity.Group}/{entity.ApiVersion}";
                map.TryAdd($"{apiVersion}/{entity.Kind}", type);
            }
        }

        return map;
    }

    private static string Render(string kubectl, string directory)
    {
        var start = new ProcessStartInfo(kubectl)
        {
            ArgumentList = { "kustomize", directory },
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };

        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(TimeSpan.FromMinutes(2)))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"kubectl kustomize {directory} did not finish within 2 minutes.");
        }

        Task.WaitAll(stdout, stderr);
        Assert.True(process.ExitCode == 0, $"kubectl kustomize {directory} failed: {stderr.Result}");
        return stdout.Result;
    }
}
