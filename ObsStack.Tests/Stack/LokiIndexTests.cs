using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace ObsStack.Tests.Stack;

/// <summary>
/// Loki answers a stream selector only on labels it indexed. The labels come from OTLP resource attributes that
/// grafana/loki/loki.yaml turns into index labels (dots become underscores); every label a dashboard's log query, the
/// trace-to-logs link or an alert's instructions select on must be one of them, or the panel, the link and the
/// drill come back empty while every other test still passes.
/// </summary>
public sealed partial class LokiIndexTests
{
    private static readonly string Root = GrafanaFiles.FindRepoRoot();

    [Fact]
    public void Every_label_a_log_query_selects_on_is_indexed_by_loki()
    {
        var indexed = IndexedLabels();
        var selected = DashboardSelectorLabels()
            .Concat(TraceToLogsLabels())
            .Concat(SelectorLabels(File.ReadAllText(Path.Combine(Root, "grafana", "prometheus", "rules", "alerts.yaml"))))
            .ToHashSet(StringComparer.Ordinal);

        // The service label is what every log query starts from (docs/architecture.md, names that must not drift).
        Assert.Contains("service_name", selected);
        Assert.All(selected, label => Assert.True(indexed.Contains(label),
            $"Log queries select on '{label}', but grafana/loki/loki.yaml indexes only: {string.Join(", ", indexed)}."));
    }

    [Fact]
    public void A_selector_is_told_from_a_metric_selector_and_a_template()
    {
        var labels = SelectorLabels("""{service_name="{{ $labels.job }}"} |= "x" and jobs_total{status="failed"}, {job_x=~"a"}""");

        Assert.Equal(["job_x", "service_name"], labels.Order(StringComparer.Ordinal));
    }

    /// <summary>The index labels loki.yaml makes of resource attributes: <c>service.name</c> → <c>service_name</c>.</summary>
    private static HashSet<string> IndexedLabels()
    {
        var loki = GrafanaFiles.LoadYaml(Path.Combine(Root, "grafana", "loki", "loki.yaml"));
        var rules = loki["limits_config"]?["otlp_config"]?["resource_attributes"]?["attributes_config"]?.AsArray()
            ?? throw new InvalidDataException("loki.yaml has no limits_config.otlp_config.resource_attributes.attributes_config.");
        return rules.OfType<JsonObject>()
            .Where(rule => rule["action"]?.GetValue<string>() == "index_label")
            .SelectMany(rule => rule["attributes"]!.AsArray().Select(a => a!.GetValue<string>().Replace('.', '_')))
            .ToHashSet(StringComparer.Ordinal);
    }

    private static IEnumerable<string> DashboardSelectorLabels() =>
        GrafanaFiles.Dashboards(Root)
            .SelectMany(d => GrafanaFiles.Panels(d.Dashboard))
            .SelectMany(panel => GrafanaFiles.Targets(panel).Select(target => (panel, target)))
            .Where(p => (GrafanaFiles.DatasourceUid(p.target["datasource"]) ?? GrafanaFiles.DatasourceUid(p.panel["datasource"])) == "loki")
            .SelectMany(p => SelectorLabels(p.target["expr"]?.GetValue<string>() ?? ""));

    /// <summary>The labels Tempo's "Logs for this span" link puts into its Loki selector.</summary>
    private static IEnumerable<string> TraceToLogsLabels() =>
        GrafanaFiles.Datasources(Root)
            .Where(d => d["uid"]?.GetValue<string>() == "tempo")
            .SelectMany(d => d["jsonData"]?["tracesToLogsV2"]?["tags"]?.AsArray() ?? [])
            .Select(tag => tag?["value"]?.GetValue<string>() ?? tag?["key"]?.GetValue<string>() ?? "");

    /// <summary>First label of each LogQL stream selector in the text: a brace not after a metric name or another brace.</summary>
    private static IEnumerable<string> SelectorLabels(string text) =>
        StreamSelector().Matches(text).Select(m => m.Groups["label"].Value);

    [GeneratedRegex(@"(?<![\w{}$])\{\s*(?<label>[a-zA-Z_]\w*)\s*(=~|!~|!=|=)")]
    private static partial Regex StreamSelector();
}
