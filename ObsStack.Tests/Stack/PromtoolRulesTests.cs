using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using ObsStack.Tests.Infrastructure;

namespace ObsStack.Tests.Stack;

/// <summary>
/// The recording and alerting rules the Prometheus container loads: promtool accepts them, their unit tests
/// (grafana/prometheus/tests) pass and cover every alert firing, and each alert carries what an on-call engineer
/// needs: a severity to route on, a pending period, and a description that leads to a dashboard that exists.
/// </summary>
public sealed partial class PromtoolRulesTests
{
    private static readonly string Root = GrafanaFiles.FindRepoRoot();

    [SkippableFact]
    public async Task Promtool_check_rules_accepts_every_rule_file()
    {
        Tools.SkipIfNoPromtool();
        var files = PrometheusRules.RuleFiles(Root);
        Assert.NotEmpty(files);

        var (exitCode, output) = await Tools.PromtoolAsync(["check", "rules", .. files]);

        Assert.True(exitCode == 0, $"promtool check rules failed ({exitCode}):\n{output}");
    }

    [SkippableFact]
    public async Task Promtool_unit_tests_of_the_rules_pass()
    {
        Tools.SkipIfNoPromtool();
        var files = PrometheusRules.UnitTestFiles(Root);
        Assert.NotEmpty(files);

        var (exitCode, output) = await Tools.PromtoolAsync(["test", "rules", .. files]);

        Assert.True(exitCode == 0, $"promtool test rules failed ({exitCode}):\n{output}");
        Assert.Equal(files.Count, Regex.Count(output, @"^\s*SUCCESS\s*$", RegexOptions.Multiline));
    }

    [Fact]
    public void Every_alert_is_unit_tested_firing_and_every_test_file_loads_the_shipped_rules()
    {
        var alerts = PrometheusRules.All(Root).Where(r => r.Alert is not null).Select(r => r.Alert!).ToHashSet();
        var tested = new HashSet<string>();
        var shipped = PrometheusRules.RuleFiles(Root).Select(Path.GetFullPath).ToHashSet();

        foreach (var file in PrometheusRules.UnitTestFiles(Root))
        {
            var test = GrafanaFiles.LoadYaml(file);
            var loaded = (test["rule_files"] as JsonArray ?? [])
                .Select(f => Path.GetFullPath(Path.Combine(Path.GetDirectoryName(file)!, f!.GetValue<string>())))
                .ToList();
            Assert.True(loaded.Count > 0 && loaded.All(shipped.Contains),
                $"{Path.GetFileName(file)} must test the shipped rule files, loads: {string.Join(", ", loaded)}");

            var cases = (test["tests"] as JsonArray ?? []).OfType<JsonObject>()
                .SelectMany(t => (t["alert_rule_test"] as JsonArray ?? []).OfType<JsonObject>());
            foreach (var alertTest in cases.Where(c => (c["exp_alerts"] as JsonArray)?.Count > 0))
            {
                tested.Add(alertTest["alertname"]!.GetValue<string>());
            }
        }

        Assert.NotEmpty(alerts);
        Assert.Empty(alerts.Except(tested));
    }

    [Fact]
    public void Prometheus_loads_every_rule_file_through_its_config()
    {
        var config = GrafanaFiles.LoadYaml(Path.Combine(Root, "grafana", "prometheus", "prometheus.yaml"));

        // The AppHost mounts grafana/prometheus at /etc/prometheus; relative rule paths resolve against the config's folder.
        var globs = (config["rule_files"] as JsonArray ?? []).Select(g => g!.GetValue<string>()).ToList();
        Assert.Equal(["rules/*.yaml"], globs);
        Assert.NotEmpty(PrometheusRules.RuleFiles(Root));
        Assert.DoesNotContain(Directory.GetFiles(PrometheusRules.RulesDirectory(Root)), f => !f.EndsWith(".yaml", StringComparison.Ordinal));
    }

    [Fact]
    public void Every_alert_has_a_severity_a_pending_period_a_summary_and_a_description_that_leads_to_a_dashboard()
    {
        var dashboards = GrafanaFiles.Dashboards(Root).Select(d => d.Dashboard["uid"]!.GetValue<string>()).ToHashSet();
        var problems = new List<string>();

        foreach (var alert in PrometheusRules.All(Root).Where(r => r.Alert is not null))
        {
            if (!alert.Labels.TryGetValue("severity", out var severity) || severity is not ("page" or "ticket"))
            {
                problems.Add($"{alert}: severity must be page or ticket, is '{severity}'.");
            }

            if (alert.For is null || PrometheusRules.Seconds(alert.For) < 60)
            {
                problems.Add($"{alert}: needs a pending period (for) of at least 1m, has '{alert.For}'.");
            }

            if (string.IsNullOrWhiteSpace(alert.Annotations.GetValueOrDefault("summary")))
            {
                problems.Add($"{alert}: no summary.");
            }

            var description = alert.Annotations.GetValueOrDefault("description") ?? "";
            var linked = DashboardLink().Matches(description).Select(m => m.Groups["uid"].Value).ToList();
            if (linked.Count == 0 && !description.Contains("Aspire dashboard", StringComparison.Ordinal))
            {
                problems.Add($"{alert}: the description names no dashboard (/d/<uid>) to look at next.");
            }

            problems.AddRange(linked.Where(uid => !dashboards.Contains(uid))
                .Select(uid => $"{alert}: the description links /d/{uid}, which is not a provisioned dashboard."));
            if (!description.Contains("PromQL:", StringComparison.Ordinal))
            {
                problems.Add($"{alert}: the description gives no PromQL to run.");
            }
        }

        Assert.True(problems.Count == 0, string.Join('\n', problems));
    }

    [Fact]
    public void The_panels_alert_descriptions_name_exist_on_the_dashboards()
    {
        var titles = GrafanaFiles.Dashboards(Root)
            .SelectMany(d => GrafanaFiles.Panels(d.Dashboard))
            .Select(p => p["title"]?.GetValue<string>() ?? "")
            .ToHashSet();
        // Quoted phrases after "panel"/"panels" or after a dashboard link are panel titles.
        var named = PrometheusRules.All(Root)
            .Where(r => r.Alert is not null)
            .SelectMany(r => PanelReference().Matches(r.Annotations.GetValueOrDefault("description") ?? "")
                .SelectMany(m => m.Groups["title"].Captures.Select(c => (Alert: r, Title: c.Value))))
            .ToList();

        Assert.NotEmpty(named);
        var missing = named.Where(n => !titles.Contains(n.Title)).Select(n => $"{n.Alert}: panel \"{n.Title}\"").Distinct().ToList();
        Assert.True(missing.Count == 0, "Not a panel title on any dashboard:\n" + string.Join('\n', missing));
    }

    [Fact]
    public void Recording_rules_follow_the_level_metric_operations_convention_and_are_defined_once_per_label_set()
    {
        var recording = PrometheusRules.All(Root).Where(r => r.Record is not null).ToList();

        Assert.NotEmpty(recording);
        Assert.All(recording, r => Assert.Matches(@"^[a-z_]+:[a-z0-9_]+:[a-z0-9_]+$", r.Record!));
        // Several rules may record one name only with distinct static labels (the quantiles).
        var duplicates = recording.GroupBy(r => r.Record + string.Concat(r.Labels.OrderBy(l => l.Key).Select(l => $",{l.Key}={l.Value}")))
            .Where(g => g.Count() > 1)
            .Select(g => g.Key)
            .ToList();
        Assert.Empty(duplicates);
    }

    [GeneratedRegex(@"/d/(?<uid>[a-z0-9-]+)")]
    private static partial Regex DashboardLink();

    [GeneratedRegex(@"(?:panels?|/d/[a-z0-9-]+(?: \([^)]*\))?,)\s+(?:""(?<title>[^""]+)""(?:,\s*|\s+and\s+)?)+")]
    private static partial Regex PanelReference();
}
