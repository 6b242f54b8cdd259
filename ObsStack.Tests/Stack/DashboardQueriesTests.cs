using System.Text.Json.Nodes;

namespace ObsStack.Tests.Stack;

/// <summary>
/// The extractor the Prometheus-backed dashboard test runs on: it must hand over every PromQL of every dashboard, each
/// runnable as is (no Grafana variable left), for the service the panel is about, with the Tempo-only ones marked.
/// </summary>
public sealed class DashboardQueriesTests
{
    private static readonly string Root = GrafanaFiles.FindRepoRoot();

    [Fact]
    public void Every_prometheus_target_annotation_and_variable_is_extracted_with_nothing_left_to_substitute()
    {
        var queries = DashboardQueries.All(Root).ToList();

        var promTargets = GrafanaFiles.Dashboards(Root)
            .SelectMany(d => GrafanaFiles.Panels(d.Dashboard).SelectMany(p => GrafanaFiles.Targets(p).Select(t => (Panel: p, Target: t))))
            .Count(x => GrafanaFiles.DatasourceUid(x.Target["datasource"] ?? x.Panel["datasource"]) == "prometheus");
        Assert.Equal(promTargets, queries.Count(q => q.Source == DashboardQuerySource.Panel));
        Assert.Contains(queries, q => q.Source == DashboardQuerySource.Annotation);
        Assert.Contains(queries, q => q.Source == DashboardQuerySource.Variable);
        Assert.All(queries, q => Assert.DoesNotContain("$", q.Expr, StringComparison.Ordinal));
        Assert.All(queries, q => Assert.False(string.IsNullOrWhiteSpace(q.PanelTitle)));
    }

    [Fact]
    public void Job_becomes_the_service_each_dashboard_is_about()
    {
        var queries = DashboardQueries.All(Root).ToList();

        Assert.All(queries.Where(q => q.Dashboard == "obsstack-worker-pool"), q => Assert.Equal("worker", q.Job));
        Assert.All(queries.Where(q => q.Dashboard == "obsstack-api"), q => Assert.Equal("api", q.Job));
        Assert.Contains(queries, q => q.Dashboard == "obsstack-api" && q.Expr.Contains("job=~\"api\"", StringComparison.Ordinal));
        Assert.Contains(queries, q => q.Dashboard == "obsstack-worker-pool" && q.Expr.Contains("jobs_total{job=~\"worker\", instance=~\".*\"}", StringComparison.Ordinal));
        // The overview shows all services by default ("All" = .+).
        Assert.All(queries.Where(q => q.Dashboard == "obsstack-overview"), q => Assert.Equal(".+", q.Job));
    }

    [Fact]
    public void A_caller_can_pick_the_service_and_the_windows()
    {
        var substitutions = new DashboardQuerySubstitutions { Job = "api", RateInterval = "10s", Range = "30s" };

        var runtime = DashboardQueries.All(Root, substitutions).Where(q => q.Dashboard == "obsstack-dotnet-runtime").ToList();

        Assert.NotEmpty(runtime);
        Assert.All(runtime, q => Assert.Equal("api", q.Job));
        Assert.Contains(runtime, q => q.Expr.Contains("job=~\"api\"", StringComparison.Ordinal) && q.Expr.Contains("[10s]", StringComparison.Ordinal));
    }

    [Fact]
    public void Queries_on_tempo_span_metrics_are_marked_so_a_scrape_only_prometheus_can_report_them_apart()
    {
        var queries = DashboardQueries.All(Root).ToList();

        var tempoOnly = queries.Where(q => q.Prerequisite == QueryPrerequisite.TempoMetricsGenerator).ToList();
        Assert.NotEmpty(tempoOnly);
        Assert.All(tempoOnly, q => Assert.Matches("traces_(spanmetrics|service_graph)_", q.Expr));
        Assert.DoesNotContain(queries, q => q.Prerequisite != QueryPrerequisite.TempoMetricsGenerator
            && q.Expr.Contains("traces_", StringComparison.Ordinal));
        Assert.Contains(queries, q => q.Prerequisite == QueryPrerequisite.FirstEvent && q.Expr.Contains("dotnet_exceptions_total", StringComparison.Ordinal));
    }

    [Fact]
    public void Substitution_follows_grafana_variable_syntax()
    {
        var values = new Dictionary<string, string> { ["job"] = "worker", ["instance"] = ".*", ["__rate_interval"] = "1m", ["__range"] = "5m", ["__range_s"] = "300" };

        Assert.Equal(
            "rate(x{job=~\"worker\", instance=~\".*\"}[1m]) + y[5m] + z / 300 + worker",
            DashboardQueries.Substitute("rate(x{job=~\"$job\", instance=~\"${instance}\"}[$__rate_interval]) + y[$__range] + z / $__range_s + [[job]]", values));
        Assert.Equal("up{job=~\"worker\"}", DashboardQueries.Substitute("up{job=~\"${job:regex}\"}", values));
        Assert.Throws<InvalidOperationException>(() => DashboardQueries.Substitute("up{job=\"$service\"}", values));
    }

    [Fact]
    public void Multi_value_and_all_defaults_become_the_regex_grafana_sends()
    {
        var dashboard = JsonNode.Parse("""
            {
              "uid": "d",
              "templating": { "list": [
                { "name": "job", "type": "custom", "current": { "value": ["worker", "api"] } },
                { "name": "instance", "type": "custom", "allValue": ".+", "current": { "value": ["$__all"] } },
                { "name": "route", "type": "custom", "current": { "value": "/data/{id}" } }
              ] },
              "panels": [ { "title": "p", "datasource": { "uid": "prometheus" },
                "targets": [ { "refId": "A", "expr": "up{job=~\"$job\", instance=~\"$instance\", route=\"$route\"}" } ] } ]
            }
            """)!.AsObject();

        var query = Assert.Single(DashboardQueries.FromDashboard(dashboard, new DashboardQuerySubstitutions()));

        Assert.Equal("up{job=~\"(worker|api)\", instance=~\".+\", route=\"/data/{id}\"}", query.Expr);
    }
}
