using System.Globalization;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace ObsStack.Tests.Stack;

/// <summary>One rule of a Prometheus rule file: a recording rule (<see cref="Record"/>) or an alert (<see cref="Alert"/>).</summary>
public sealed record PrometheusRule(
    string File,
    string Group,
    string? Record,
    string? Alert,
    string Expr,
    string? For,
    IReadOnlyDictionary<string, string> Labels,
    IReadOnlyDictionary<string, string> Annotations)
{
    public string Name => Record ?? Alert ?? "(unnamed)";

    public override string ToString() => $"{Path.GetFileName(File)} / {Group} / {Name}";
}

/// <summary>
/// The rule files the Prometheus container loads (<c>grafana/prometheus/rules/*.yaml</c>, the <c>rule_files</c> glob of
/// grafana/prometheus/prometheus.yaml) and their promtool unit tests (<c>grafana/prometheus/tests/*.test.yaml</c>).
/// </summary>
public static partial class PrometheusRules
{
    public static string RulesDirectory(string repoRoot) => Path.Combine(repoRoot, "grafana", "prometheus", "rules");

    public static string UnitTestsDirectory(string repoRoot) => Path.Combine(repoRoot, "grafana", "prometheus", "tests");

    public static IReadOnlyList<string> RuleFiles(string repoRoot) =>
        Directory.GetFiles(RulesDirectory(repoRoot), "*.yaml").Order(StringComparer.Ordinal).ToList();

    public static IReadOnlyList<string> UnitTestFiles(string repoRoot) =>
        Directory.GetFiles(UnitTestsDirectory(repoRoot), "*.test.yaml").Order(StringComparer.Ordinal).ToList();

    /// <summary>Every rule of every shipped rule file, in file and group order.</summary>
    public static IReadOnlyList<PrometheusRule> All(string repoRoot) => [.. RuleFiles(repoRoot).SelectMany(Load)];

    public static IEnumerable<PrometheusRule> Load(string file)
    {
        var root = GrafanaFiles.LoadYaml(file);
        foreach (var group in (root["groups"] as JsonArray ?? []).OfType<JsonObject>())
        {
            var groupName = group["name"]?.GetValue<string>() ?? "";
            foreach (var rule in (group["rules"] as JsonArray ?? []).OfType<JsonObject>())
            {
                yield return new PrometheusRule(
                    file,
                    groupName,
                    rule["record"]?.GetValue<string>(),
                    rule["alert"]?.GetValue<string>(),
                    rule["expr"]?.ToString() ?? "",
                    rule["for"]?.ToString(),
                    StringMap(rule["labels"]),
                    StringMap(rule["annotations"]));
            }
        }
    }

    /// <summary>
    /// Writes a copy of the rule file into <paramref name="directory"/> with every duration of the rules' time scale
    /// (range selectors in <c>expr</c>, and <c>for</c>) divided by <paramref name="factor"/>, so that a test can watch
    /// an alert go pending, fire and resolve in seconds: <c>rate(x[5m])</c> with <c>for: 5m</c> becomes
    /// <c>rate(x[15s])</c> with <c>for: 15s</c> at 20. Thresholds, labels and annotations are untouched; the shipped
    /// text itself is what promtool checks and unit-tests.
    /// </summary>
    public static string WriteTimeCompressedCopy(string file, int factor, string directory)
    {
        var stream = new YamlStream();
        using (var reader = new StreamReader(file))
        {
            stream.Load(reader);
        }

        var root = (YamlMappingNode)stream.Documents[0].RootNode;
        foreach (var group in ((YamlSequenceNode)root.Children[new YamlScalarNode("groups")]).Children.Cast<YamlMappingNode>())
        {
            foreach (var rule in ((YamlSequenceNode)group.Children[new YamlScalarNode("rules")]).Children.Cast<YamlMappingNode>())
            {
                if (rule.Children.TryGetValue(new YamlScalarNode("expr"), out var expr) && expr is YamlScalarNode exprNode)
                {
                    exprNode.Value = RangeSelector().Replace(exprNode.Value!,
                        m => $"[{Compress(m.Groups["duration"].Value, factor)}]");
                    exprNode.Style = ScalarStyle.DoubleQuoted;
                }

                if (rule.Children.TryGetValue(new YamlScalarNode("for"), out var forNode) && forNode is YamlScalarNode forScalar)
                {
                    forScalar.Value = Compress(forScalar.Value!, factor);
                }
            }
        }

        var copy = Path.Combine(directory, Path.GetFileName(file));
        using (var writer = new StreamWriter(copy))
        {
            stream.Save(writer, assignAnchors: false);
        }

        return copy;
    }

    /// <summary>A Prometheus duration (<c>90s</c>, <c>5m</c>, <c>3d</c>) divided by the factor, in whole seconds, at least 1 s.</summary>
    public static string Compress(string duration, int factor)
    {
        var seconds = Seconds(duration) / factor;
        return Math.Max(1, (long)Math.Round(seconds)).ToString(CultureInfo.InvariantCulture) + "s";
    }

    public static double Seconds(string duration)
    {
        var match = Duration().Match(duration);
        if (!match.Success)
        {
            throw new FormatException($"'{duration}' is not a single-unit Prometheus duration such as 30s, 5m or 3d.");
        }

        var amount = double.Parse(match.Groups["amount"].Value, CultureInfo.InvariantCulture);
        return amount * match.Groups["unit"].Value switch
        {
            "ms" => 0.001,
            "s" => 1,
            "m" => 60,
            "h" => 3600,
            "d" => 86400,
            "w" => 7 * 86400,
            _ => 365 * 86400,
        };
    }

    private static Dictionary<string, string> StringMap(JsonNode? node) =>
        (node as JsonObject ?? []).ToDictionary(pair => pair.Key, pair => pair.Value?.ToString() ?? "");

    [GeneratedRegex(@"\[(?<duration>\d+(?:ms|s|m|h|d|w|y))\]")]
    private static partial Regex RangeSelector();

    [GeneratedRegex(@"^(?<amount>\d+)(?<unit>ms|s|m|h|d|w|y)$")]
    private static partial Regex Duration();
}
