using System.Text.Json;
using System.Text.Json.Serialization;
using k8s.Models;
using ObsStack.Tests.Stack;

namespace ObsStack.Tests.Deploy;

/// <summary>
/// What Grafana and Prometheus read in the cluster is what they read under the AppHost: each rendered ConfigMap and
/// PrometheusRule holds a file of grafana/ unchanged, and every such file has one (deploy/kubernetes/generate.sh
/// writes them; this fails until it is run after a change under grafana/).
/// </summary>
public sealed class KubernetesObservabilityTests
{
    private static readonly string Root = GrafanaFiles.FindRepoRoot();

    private static readonly JsonSerializerOptions Json = new() { DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull };

    [SkippableTheory]
    [MemberData(nameof(Kustomize.OverlayNames), MemberType = typeof(Kustomize))]
    public void Every_dashboard_is_a_sidecar_ConfigMap_holding_the_file_unchanged_in_the_ObsStack_folder(string overlay)
    {
        var folder = (string?)Assert.Single(GrafanaFiles.DashboardProviders(Root))["folder"];
        var expected = Directory.GetFiles(GrafanaFiles.DashboardsDirectory(Root), "*.json");

        AssertSidecarConfigMaps(overlay, "grafana_dashboard", expected, configMap =>
            Assert.Equal(folder, configMap.Metadata.Annotations?["grafana_folder"]));
    }

    [SkippableTheory]
    [MemberData(nameof(Kustomize.OverlayNames), MemberType = typeof(Kustomize))]
    public void The_datasources_are_a_sidecar_ConfigMap_holding_the_provisioning_file_unchanged(string overlay)
    {
        var expected = Directory.GetFiles(Path.GetDirectoryName(GrafanaFiles.DatasourcesFile(Root))!, "*.yaml");

        AssertSidecarConfigMaps(overlay, "grafana_datasource", expected, _ => { });
    }

    [SkippableTheory]
    [MemberData(nameof(Kustomize.OverlayNames), MemberType = typeof(Kustomize))]
    public void Every_rules_file_is_a_PrometheusRule_with_the_same_groups_and_expressions(string overlay)
    {
        var rules = Kustomize.Objects<PrometheusRule>(overlay).ToList();
        var files = Directory.GetFiles(Path.Combine(Root, "grafana", "prometheus", "rules"), "*.yaml");

        Assert.Equal(files.Length, rules.Count);
        foreach (var file in files)
        {
            var name = "obsstack-" + Path.GetFileNameWithoutExtension(file);
            var rule = Assert.Single(rules, r => r.Metadata.Name == name);
            var groups = GrafanaFiles.LoadYaml(file).Deserialize<PrometheusRuleSpec>(Json)!;

            Assert.NotEmpty(groups.Groups);
            Assert.Equal(Serialize(groups), Serialize(rule.Spec));
        }
    }

    [SkippableTheory]
    [MemberData(nameof(Kustomize.OverlayNames), MemberType = typeof(Kustomize))]
    public void Metrics_are_pushed_over_OTLP_so_nothing_scrapes_the_services_a_second_time(string overlay)
    {
        // A scrape of /metrics as well would store every series twice (job "worker" from OTLP, the monitor's job from
        // the scrape), doubling every sum the dashboards and rules take, and carry no exemplars.
        Assert.DoesNotContain(Kustomize.Objects(overlay), o => o.GetType().Name is "V1ServiceMonitor" or "V1PodMonitor");
        foreach (var service in new[] { "worker", "api" })
        {
            Assert.Contains("Telemetry__Metrics__OtlpEndpoint", KubernetesManifestTests.Environment(overlay, service).Keys);
        }
    }

    /// <summary>
    /// The spec as JSON, each expression's whitespace outside string literals collapsed: kubectl's YAML library (Go's, as
    /// Prometheus' own) reads a folded (<c>&gt;-</c>) expression with a more-indented line with one line break more
    /// than YamlDotNet does, and PromQL does not tell the two apart. Everything else is compared as it is, keys in
    /// order.
    /// </summary>
    private static string Serialize(PrometheusRuleSpec spec)
    {
        var copy = JsonSerializer.Deserialize<PrometheusRuleSpec>(JsonSerializer.Serialize(spec, Json), Json)!;
        foreach (var rule in copy.Groups.SelectMany(g => g.Rules))
        {
            rule.Expr = CollapseWhitespace(rule.Expr);
            rule.Labels = Sorted(rule.Labels);
            rule.Annotations = Sorted(rule.Annotations);
        }

        foreach (var group in copy.Groups)
        {
            group.Labels = Sorted(group.Labels);
        }

        return JsonSerializer.Serialize(copy, Json);
    }

    // Key order means nothing in YAML (kubectl writes keys sorted).
    private static Dictionary<string, string>? Sorted(Dictionary<string, string>? map) =>
        map?.OrderBy(pair => pair.Key, StringComparer.Ordinal).ToDictionary();

    private static string CollapseWhitespace(string promql)
    {
        var result = new System.Text.StringBuilder(promql.Length);
        char? quote = null;
        var escaped = false;
        foreach (var c in promql.Trim())
        {
            if (quote is { } open)
            {
                result.Append(c);
                if (escaped)
                {
                    escaped = false;
                }
                else if (c == '\\' && open != '`')
                {
                    escaped = true;
                }
                else if (c == open)
                {
                    quote = null;
                }

                continue;
            }

            if (char.IsWhiteSpace(c))
            {
                if (result.Length > 0 && result[^1] != ' ')
                {
                    result.Append(' ');
                }

                continue;
            }

            quote = c is '"' or '\'' or '`' ? c : null;
            result.Append(c);
        }

        return result.ToString();
    }

    private static void AssertSidecarConfigMaps(
        string overlay, string label, IReadOnlyCollection<string> files, Action<V1ConfigMap> more)
    {
        var configMaps = Kustomize.Objects<V1ConfigMap>(overlay)
            .Where(c => c.Metadata.Labels?.TryGetValue(label, out var value) == true && value == "1")
            .ToList();

        Assert.NotEmpty(files);
        Assert.Equal(files.Count, configMaps.Count);
        foreach (var file in files)
        {
            var key = Path.GetFileName(file);
            var configMap = Assert.Single(configMaps, c => c.Data.ContainsKey(key));
            Assert.Single(configMap.Data);
            Assert.True(File.ReadAllText(file) == configMap.Data[key], $"{configMap.Metadata.Name} differs from grafana/…/{key}: run deploy/kubernetes/generate.sh.");
            more(configMap);
        }
    }
}
