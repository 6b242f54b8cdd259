using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace ObsStack.Tests.Stack;

/// <summary>Where a dashboard's PromQL sits.</summary>
public enum DashboardQuerySource
{
    /// <summary>A panel target (rows' nested panels included).</summary>
    Panel,

    /// <summary>An annotation query (the "Service start" markers).</summary>
    Annotation,

    /// <summary>
    /// A template variable's <c>label_values(selector, label)</c>: <see cref="DashboardQuery.Expr"/> is the selector,
    /// so "returns data" means the variable offers at least one value.
    /// </summary>
    Variable,
}

/// <summary>What must feed Prometheus before a query can return data.</summary>
public enum QueryPrerequisite
{
    /// <summary>A Prometheus scraping the running worker and api is enough.</summary>
    None,

    /// <summary>
    /// Tempo's metrics generator (span metrics <c>traces_spanmetrics_*</c>, service graph
    /// <c>traces_service_graph_*</c>) remote-writing into Prometheus: a scrape-only Prometheus never has these.
    /// </summary>
    TempoMetricsGenerator,

    /// <summary>
    /// A series the runtime creates at its first event only (<c>dotnet_exceptions_total</c>: nothing is recorded
    /// until an exception is thrown), so "no data" from a healthy service is expected.
    /// </summary>
    FirstEvent,

    /// <summary>
    /// Prometheus' <c>ALERTS</c> series (the alert states and annotations): it exists only while an alert is pending or
    /// firing, so a healthy stack has none. AlertingRulesTests runs these while a chaos knob makes alerts fire.
    /// </summary>
    FiringAlert,
}

/// <summary>One PromQL expression of a dashboard, with the dashboard's variables substituted.</summary>
/// <param name="Dashboard">Dashboard uid, e.g. <c>obsstack-worker-pool</c>.</param>
/// <param name="PanelTitle">Panel title; <c>annotation: …</c> or <c>variable: …</c> for those.</param>
/// <param name="RefId">The target's refId (the variable or annotation name for those).</param>
/// <param name="Expr">Runnable PromQL: variables and Grafana's built-ins replaced.</param>
/// <param name="RawExpr">The expression as written in the dashboard.</param>
/// <param name="Job">What <c>$job</c> became: the service (<c>worker</c>, <c>api</c>) or the all-value regex.</param>
public sealed record DashboardQuery(
    string Dashboard,
    string PanelTitle,
    string RefId,
    string Expr,
    string RawExpr,
    string? Job,
    DashboardQuerySource Source,
    QueryPrerequisite Prerequisite)
{
    public override string ToString() => $"{Dashboard} / {PanelTitle} [{RefId}]: {Expr}";
}

/// <summary>
/// Values for Grafana's built-in interval variables and, optionally, a service for <c>$job</c> in every dashboard.
/// The defaults suit a Prometheus that has scraped for a few minutes; a test with a 1 s scrape can shorten them.
/// </summary>
public sealed record DashboardQuerySubstitutions
{
    public string RateInterval { get; init; } = "1m";

    public string Interval { get; init; } = "15s";

    public string Range { get; init; } = "5m";

    /// <summary>When set, <c>$job</c> is this in every dashboard instead of the dashboard's default selection.</summary>
    public string? Job { get; init; }
}

/// <summary>
/// Every PromQL expression of every ObsStack dashboard (panels, annotations, variable selectors), with variables
/// substituted as Grafana would with the dashboard's default selection: <c>$job</c> → the dashboard's service
/// (worker-pool: <c>worker</c>, api: <c>api</c>, .NET runtime: <c>worker</c>; the overview's "All" → <c>.+</c>),
/// <c>$instance</c> → <c>.*</c>, <c>$__rate_interval</c> → 1m, <c>$__interval</c> → 15s, <c>$__range</c> → 5m.
/// Built so a test can run each one against a real Prometheus scraping the running services.
/// </summary>
public static partial class DashboardQueries
{
    private const string PrometheusUid = "prometheus";

    /// <summary>Families that exist only after their first event (see <see cref="QueryPrerequisite.FirstEvent"/>).</summary>
    private static readonly string[] FirstEventFamilies = ["dotnet_exceptions_total", "jobs_reclaimed_total", "jobs_dead_lettered_total"];

    public static IEnumerable<DashboardQuery> All(string repoRoot) => All(repoRoot, new DashboardQuerySubstitutions());

    public static IEnumerable<DashboardQuery> All(string repoRoot, DashboardQuerySubstitutions substitutions)
    {
        foreach (var (file, dashboard) in GrafanaFiles.Dashboards(repoRoot))
        {
            foreach (var query in FromDashboard(dashboard, substitutions, file))
            {
                yield return query;
            }
        }
    }

    public static IEnumerable<DashboardQuery> FromDashboard(
        JsonObject dashboard, DashboardQuerySubstitutions substitutions, string? file = null)
    {
        var uid = dashboard["uid"]?.GetValue<string>() ?? file ?? "(no uid)";
        var values = VariableValues(dashboard, substitutions);
        values.TryGetValue("job", out var job);

        DashboardQuery Make(string title, string refId, string raw, DashboardQuerySource source)
        {
            var expr = Substitute(raw, values, $"{uid} / {title}");
            return new DashboardQuery(uid, title, refId, expr, raw, job, source, PrerequisiteOf(expr));
        }

        foreach (var panel in GrafanaFiles.Panels(dashboard))
        {
            var title = panel["title"]?.GetValue<string>() ?? "(untitled)";
            foreach (var target in GrafanaFiles.Targets(panel))
            {
                var datasource = GrafanaFiles.DatasourceUid(target["datasource"] ?? panel["datasource"]);
                if (datasource == PrometheusUid && target["expr"]?.GetValue<string>() is { Length: > 0 } expr)
                {
                    yield return Make(title, target["refId"]?.GetValue<string>() ?? "", expr, DashboardQuerySource.Panel);
                }
            }
        }

        foreach (var annotation in GrafanaFiles.Annotations(dashboard))
        {
            if (GrafanaFiles.DatasourceUid(annotation["datasource"]) != PrometheusUid)
            {
                continue;
            }

            // Older annotation JSON keeps expr at the top level, newer JSON in a target.
            var expr = annotation["expr"]?.GetValue<string>() ?? annotation["target"]?["expr"]?.GetValue<string>();
            if (expr is { Length: > 0 })
            {
                var name = annotation["name"]?.GetValue<string>() ?? "";
                yield return Make("annotation: " + name, name, expr, DashboardQuerySource.Annotation);
            }
        }

        foreach (var variable in GrafanaFiles.Variables(dashboard))
        {
            if (variable["type"]?.GetValue<string>() != "query"
                || GrafanaFiles.DatasourceUid(variable["datasource"]) != PrometheusUid
                || VariableQuery(variable) is not { } definition
                || LabelValuesSelector(definition) is not { } selector)
            {
                continue;
            }

            var name = variable["name"]?.GetValue<string>() ?? "";
            yield return Make("variable: " + name, name, selector, DashboardQuerySource.Variable);
        }
    }

    /// <summary>
    /// Replaces <c>$name</c>, <c>${name}</c>, <c>${name:format}</c> and <c>[[name]]</c>. An unknown variable is an
    /// error: a dashboard referring to a variable it does not define is broken in Grafana too.
    /// </summary>
    public static string Substitute(string expr, IReadOnlyDictionary<string, string> values, string where = "expression") =>
        VariableReference().Replace(expr, match =>
        {
            var name = match.Groups["braced"].Success ? match.Groups["braced"].Value
                : match.Groups["bracketed"].Success ? match.Groups["bracketed"].Value
                : match.Groups["plain"].Value;
            return values.TryGetValue(name, out var value)
                ? value
                : throw new InvalidOperationException($"{where}: ${name} is neither a dashboard variable nor a built-in one.");
        });

    /// <summary>
    /// The dashboard's variables at their default selection, plus Grafana's built-ins. A multi-value default becomes
    /// the regex Grafana would send to Prometheus (<c>(a|b)</c>); "All" becomes the variable's <c>allValue</c>.
    /// </summary>
    public static Dictionary<string, string> VariableValues(JsonObject dashboard, DashboardQuerySubstitutions substitutions)
    {
        var rangeSeconds = (long)ParseDuration(substitutions.Range).TotalSeconds;
        var intervalMs = (long)ParseDuration(substitutions.Interval).TotalMilliseconds;
        var values = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["__rate_interval"] = substitutions.RateInterval,
            ["__interval"] = substitutions.Interval,
            ["__interval_ms"] = intervalMs.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["__range"] = substitutions.Range,
            ["__range_s"] = rangeSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["__range_ms"] = (rangeSeconds * 1000).ToString(System.Globalization.CultureInfo.InvariantCulture),
        };

        foreach (var variable in GrafanaFiles.Variables(dashboard))
        {
            if (variable["name"]?.GetValue<string>() is { Length: > 0 } name)
            {
                values[name] = DefaultValue(variable);
            }
        }

        if (substitutions.Job is { } job)
        {
            values["job"] = job;
        }

        return values;
    }

    private static string DefaultValue(JsonObject variable)
    {
        var selected = variable["current"]?["value"] switch
        {
            JsonArray array => array.Select(v => v?.GetValue<string>() ?? "").ToList(),
            JsonValue value => [value.GetValue<string>()],
            _ => [],
        };
        var allValue = variable["allValue"]?.GetValue<string>() is { Length: > 0 } all ? all : ".*";

        return selected switch
        {
            [] => allValue,
            _ when selected.Contains("$__all") => allValue,
            [var single] => single,
            _ => "(" + string.Join('|', selected.Select(Regex.Escape)) + ")",
        };
    }

    private static string? VariableQuery(JsonObject variable) => variable["query"] switch
    {
        JsonValue value => value.GetValue<string>(),
        JsonObject query => query["query"]?.GetValue<string>(),
        _ => variable["definition"]?.GetValue<string>(),
    };

    /// <summary><c>label_values(target_info{job=~"$job"}, instance)</c> → <c>target_info{job=~"$job"}</c>.</summary>
    private static string? LabelValuesSelector(string definition)
    {
        var match = LabelValuesCall().Match(definition);
        return match.Success ? match.Groups["selector"].Value.Trim() : null;
    }

    private static QueryPrerequisite PrerequisiteOf(string expr)
    {
        if (expr.Contains("traces_spanmetrics_", StringComparison.Ordinal)
            || expr.Contains("traces_service_graph_", StringComparison.Ordinal))
        {
            return QueryPrerequisite.TempoMetricsGenerator;
        }

        if (AlertsSeries().IsMatch(expr))
        {
            return QueryPrerequisite.FiringAlert;
        }

        return FirstEventFamilies.Any(family => expr.Contains(family, StringComparison.Ordinal))
            ? QueryPrerequisite.FirstEvent
            : QueryPrerequisite.None;
    }

    private static TimeSpan ParseDuration(string duration) => TimeSpan.FromSeconds(PrometheusRules.Seconds(duration));

    [GeneratedRegex(@"\$\{(?<braced>\w+)(?::[^}]*)?\}|\[\[(?<bracketed>\w+)(?::[^\]]*)?\]\]|\$(?<plain>\w+)")]
    private static partial Regex VariableReference();

    [GeneratedRegex(@"^\s*label_values\(\s*(?<selector>.+)\s*,\s*\w+\s*\)\s*$", RegexOptions.Singleline)]
    private static partial Regex LabelValuesCall();

    [GeneratedRegex(@"\bALERTS(?:_FOR_STATE)?\b")]
    private static partial Regex AlertsSeries();
}
