using System.Text.Json.Serialization;
using k8s;
using k8s.Models;

namespace ObsStack.Tests.Deploy;

// The Prometheus Operator's PrometheusRule (monitoring.coreos.com/v1), with the fields of its CRD schema that a rule
// file can hold, so that strict parsing refuses anything else, as the API server would.

[KubernetesEntity(Group = "monitoring.coreos.com", ApiVersion = "v1", Kind = "PrometheusRule", PluralName = "prometheusrules")]
public sealed class PrometheusRule : IKubernetesObject<V1ObjectMeta>, ISpec<PrometheusRuleSpec>
{
    [JsonPropertyName("apiVersion")]
    public string ApiVersion { get; set; } = "";

    [JsonPropertyName("kind")]
    public string Kind { get; set; } = "";

    [JsonPropertyName("metadata")]
    public V1ObjectMeta Metadata { get; set; } = new();

    [JsonPropertyName("spec")]
    public PrometheusRuleSpec Spec { get; set; } = new();
}

public sealed class PrometheusRuleSpec
{
    [JsonPropertyName("groups")]
    public List<PrometheusRuleGroup> Groups { get; set; } = [];
}

public sealed class PrometheusRuleGroup
{
    [JsonPropertyName("name")]
    public string Name { get; set; } = "";

    [JsonPropertyName("interval")]
    public string? Interval { get; set; }

    [JsonPropertyName("query_offset")]
    public string? QueryOffset { get; set; }

    [JsonPropertyName("limit")]
    public int? Limit { get; set; }

    [JsonPropertyName("labels")]
    public Dictionary<string, string>? Labels { get; set; }

    [JsonPropertyName("rules")]
    public List<PrometheusRuleEntry> Rules { get; set; } = [];
}

public sealed class PrometheusRuleEntry
{
    [JsonPropertyName("record")]
    public string? Record { get; set; }

    [JsonPropertyName("alert")]
    public string? Alert { get; set; }

    [JsonPropertyName("expr")]
    public string Expr { get; set; } = "";

    [JsonPropertyName("for")]
    public string? For { get; set; }

    [JsonPropertyName("keep_firing_for")]
    public string? KeepFiringFor { get; set; }

    [JsonPropertyName("labels")]
    public Dictionary<string, string>? Labels { get; set; }

    [JsonPropertyName("annotations")]
    public Dictionary<string, string>? Annotations { get; set; }
}
