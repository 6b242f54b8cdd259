using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace ObsStack.Tests.Stack;

/// <summary>
/// What Grafana reads from <c>grafana/</c>, checked without a Grafana: the files parse, the data sources are the four
/// fixed uids and link to each other, and the dashboards use only those data sources, by uid, with the job/instance
/// variables, units, descriptions and exemplars a reader relies on.
/// </summary>
public sealed partial class GrafanaProvisioningTests
{
    /// <summary>uid → plugin type (docs/architecture.md, "Names that must not drift").</summary>
    private static readonly Dictionary<string, string> ExpectedDatasources = new()
    {
        ["prometheus"] = "prometheus",
        ["loki"] = "loki",
        ["tempo"] = "tempo",
        ["pyroscope"] = "grafana-pyroscope-datasource",
    };

    /// <summary>The environment variables the AppHost gives the Grafana container (CONTRACT: container-network URLs).</summary>
    private static readonly Dictionary<string, string> UrlVariables = new()
    {
        ["prometheus"] = "PROMETHEUS_URL",
        ["loki"] = "LOKI_URL",
        ["tempo"] = "TEMPO_URL",
        ["pyroscope"] = "PYROSCOPE_URL",
    };

    private static readonly string[] ExpectedDashboards =
        ["obsstack-worker-pool", "obsstack-api", "obsstack-dotnet-runtime", "obsstack-overview"];

    /// <summary>Where the AppHost bind-mounts <c>grafana/dashboards</c> in the Grafana container.</summary>
    private const string DashboardsMountPath = "/etc/grafana/dashboards";

    /// <summary>Panels whose values carry their own unit (or none): logs, graphs of services, flame graphs, rows.</summary>
    private static readonly HashSet<string> PanelTypesWithoutUnit = ["row", "logs", "nodeGraph", "flamegraph", "text", "traces", "alertlist"];

    /// <summary>The Go original's queries (docs/architecture.md): they must work against ObsStack exactly as written.</summary>
    private static readonly string[] ReferenceQueries =
    [
        "jobs_total",
        "rate(jobs_total{status=\"success\"}[1m])",
        "workers_active",
        "jobs_queue_depth",
        "histogram_quantile(0.95, rate(job_duration_seconds_bucket[1m]))",
        "{service_name=\"worker\"} |= \"failed\"",
    ];

    private static readonly string Root = GrafanaFiles.FindRepoRoot();

    [Fact]
    public void Every_yaml_file_under_grafana_parses()
    {
        var files = GrafanaFiles.FilesUnderGrafana(Root, ".yaml", ".yml");
        var failures = new List<string>();
        foreach (var file in files)
        {
            try
            {
                Assert.NotEmpty(GrafanaFiles.ParseYaml(File.ReadAllText(file)));
            }
            catch (Exception ex) when (ex is YamlDotNet.Core.YamlException or ArgumentException or InvalidCastException)
            {
                failures.Add($"{Relative(file)}: {ex.Message}");
            }
        }

        Assert.Contains(files, f => f.EndsWith("datasources.yaml", StringComparison.Ordinal));
        Assert.True(failures.Count == 0, string.Join('\n', failures));
    }

    [Fact]
    public void Every_json_file_under_grafana_parses()
    {
        var files = GrafanaFiles.FilesUnderGrafana(Root, ".json");
        var failures = new List<string>();
        foreach (var file in files)
        {
            try
            {
                using var _ = JsonDocument.Parse(File.ReadAllText(file));
            }
            catch (JsonException ex)
            {
                failures.Add($"{Relative(file)}: {ex.Message}");
            }
        }

        Assert.True(files.Count >= ExpectedDashboards.Length, $"Expected the dashboards under grafana/, found {files.Count} JSON files.");
        Assert.True(failures.Count == 0, string.Join('\n', failures));
    }

    [Fact]
    public void Datasources_are_the_four_fixed_uids_read_only_with_urls_from_the_environment()
    {
        var datasources = GrafanaFiles.Datasources(Root);

        Assert.Equal(ExpectedDatasources.Keys.Order(), datasources.Select(Uid).Order());
        foreach (var datasource in datasources)
        {
            var uid = Uid(datasource);
            Assert.Equal(ExpectedDatasources[uid], datasource["type"]?.GetValue<string>());
            Assert.Equal($"${{{UrlVariables[uid]}}}", datasource["url"]?.GetValue<string>());
            Assert.False(datasource["editable"]?.GetValue<bool>() ?? true, $"Data source {uid} must be provisioned read-only (editable: false).");
        }

        Assert.Single(datasources, d => d["isDefault"]?.GetValue<bool>() == true);
    }

    [Fact]
    public void Provisioning_expands_only_the_backend_url_variables()
    {
        // Grafana expands $NAME and ${NAME} from its environment in provisioning files and turns $$ into $. A link
        // variable such as ${__span.traceId} written with a single $ would silently become empty.
        var allowed = UrlVariables.Values.Select(name => $"${{{name}}}").ToHashSet();
        var files = new[] { GrafanaFiles.DatasourcesFile(Root), GrafanaFiles.DashboardProvidersFile(Root) };

        foreach (var file in files)
        {
            // Values only, as Grafana interpolates them after parsing: comments are not expanded.
            var expanded = StringsIn(GrafanaFiles.LoadYaml(file))
                .SelectMany(value => value.Split("$$"))
                .SelectMany(part => EnvironmentReference().Matches(part).Select(m => m.Value))
                .ToList();
            var unexpected = expanded.Where(reference => !allowed.Contains(reference)).ToList();
            Assert.True(unexpected.Count == 0,
                $"{Relative(file)} refers to {string.Join(", ", unexpected)}: Grafana would expand it from its environment. Write $$ for a literal $.");
        }
    }

    [Fact]
    public void Datasource_cross_links_point_at_provisioned_datasources()
    {
        var datasources = GrafanaFiles.Datasources(Root).ToDictionary(Uid);
        var provisioned = datasources.Keys.ToHashSet();

        // Every datasourceUid anywhere in any jsonData names a provisioned data source.
        foreach (var (uid, datasource) in datasources)
        {
            foreach (var (path, target) in DatasourceUidsIn(datasource["jsonData"], "jsonData"))
            {
                Assert.True(provisioned.Contains(target), $"{uid}: {path} = '{target}' is not a provisioned data source.");
            }
        }

        // And each link of the incident walk exists, pointing the right way.
        var prometheus = datasources["prometheus"]["jsonData"]!;
        Assert.Contains(prometheus["exemplarTraceIdDestinations"]!.AsArray(),
            d => d!["name"]?.GetValue<string>() == "trace_id" && d["datasourceUid"]?.GetValue<string>() == "tempo");

        var tempo = datasources["tempo"]["jsonData"]!;
        Assert.Equal("loki", tempo["tracesToLogsV2"]?["datasourceUid"]?.GetValue<string>());
        Assert.Equal("prometheus", tempo["tracesToMetrics"]?["datasourceUid"]?.GetValue<string>());
        Assert.NotEmpty(tempo["tracesToMetrics"]?["queries"]?.AsArray() ?? []);
        Assert.Equal("prometheus", tempo["serviceMap"]?["datasourceUid"]?.GetValue<string>());
        Assert.True(tempo["nodeGraph"]?["enabled"]?.GetValue<bool>());
        Assert.Equal("pyroscope", tempo["tracesToProfiles"]?["datasourceUid"]?.GetValue<string>());
        Assert.Equal("process_cpu:cpu:nanoseconds:cpu:nanoseconds", tempo["tracesToProfiles"]?["profileTypeId"]?.GetValue<string>());
        Assert.Contains(tempo["tracesToProfiles"]!["tags"]!.AsArray(),
            t => t!["key"]?.GetValue<string>() == "service.name" && t["value"]?.GetValue<string>() == "service_name");
    }

    [Fact]
    public void Traces_lead_to_the_logs_of_their_service_and_trace_id()
    {
        var logs = GrafanaFiles.Datasources(Root).Single(d => Uid(d) == "tempo")["jsonData"]!["tracesToLogsV2"]!;

        // service.name (span resource) → service_name (Loki label from OTLP), so the query selects the span's stream …
        Assert.Contains(logs["tags"]!.AsArray(),
            t => t!["key"]?.GetValue<string>() == "service.name" && t["value"]?.GetValue<string>() == "service_name");
        // … and filters on trace_id, which Loki keeps as structured metadata: a label filter, not a line filter.
        Assert.True(logs["customQuery"]?.GetValue<bool>());
        var query = logs["query"]!.GetValue<string>().Replace("$$", "$", StringComparison.Ordinal);
        Assert.Equal("{${__tags}} | trace_id=\"${__span.traceId}\"", query);
    }

    [Fact]
    public void Loki_trace_id_links_to_the_trace_in_tempo()
    {
        var derived = GrafanaFiles.Datasources(Root).Single(d => Uid(d) == "loki")["jsonData"]!["derivedFields"]!.AsArray();

        var traceLink = Assert.Single(derived, f => f!["datasourceUid"]?.GetValue<string>() == "tempo")!;
        // For OTLP logs trace_id is structured metadata: the field is taken from that label, not parsed from the line.
        Assert.Equal("label", traceLink["matcherType"]?.GetValue<string>());
        Assert.Matches(new Regex(traceLink["matcherRegex"]!.GetValue<string>()), "trace_id");
        Assert.DoesNotMatch(new Regex(traceLink["matcherRegex"]!.GetValue<string>()), "span_id");
        Assert.Equal("${__value.raw}", traceLink["url"]!.GetValue<string>().Replace("$$", "$", StringComparison.Ordinal));
    }

    [Fact]
    public void Dashboards_are_provisioned_from_one_folder_into_ObsStack()
    {
        var provider = Assert.Single(GrafanaFiles.DashboardProviders(Root));

        Assert.Equal("file", provider["type"]?.GetValue<string>());
        Assert.Equal("ObsStack", provider["folder"]?.GetValue<string>());
        Assert.Equal(DashboardsMountPath, provider["options"]?["path"]?.GetValue<string>());
        Assert.False(provider["options"]?["foldersFromFilesStructure"]?.GetValue<bool>() ?? false);
        Assert.False(provider["allowUiUpdates"]?.GetValue<bool>() ?? false, "The JSON files are the source of truth.");

        // The provider reads the mounted folder only: every dashboard must sit directly in grafana/dashboards.
        var dashboardFiles = GrafanaFiles.FilesUnderGrafana(Root, ".json")
            .Where(f => !f.StartsWith(Path.Combine(Root, "grafana", "provisioning"), StringComparison.Ordinal))
            .Where(f => JsonNode.Parse(File.ReadAllText(f)) is JsonObject o && o.ContainsKey("panels"))
            .ToList();
        Assert.All(dashboardFiles, f => Assert.Equal(GrafanaFiles.DashboardsDirectory(Root), Path.GetDirectoryName(f)));
    }

    [Fact]
    public void Every_dashboard_has_a_unique_uid_a_title_and_the_job_and_instance_variables()
    {
        var dashboards = GrafanaFiles.Dashboards(Root);

        Assert.Equal(ExpectedDashboards.Order(), dashboards.Select(d => d.Dashboard["uid"]?.GetValue<string>()).Order());
        Assert.Equal(dashboards.Count, dashboards.Select(d => d.Dashboard["title"]?.GetValue<string>()).Distinct().Count());
        foreach (var (file, dashboard) in dashboards)
        {
            Assert.False(string.IsNullOrWhiteSpace(dashboard["title"]?.GetValue<string>()), $"{file} has no title.");
            Assert.False(dashboard.ContainsKey("id") && dashboard["id"] is not null, $"{file}: a provisioned dashboard carries no database id.");

            var variables = GrafanaFiles.Variables(dashboard).ToDictionary(v => v["name"]!.GetValue<string>());
            foreach (var name in new[] { "job", "instance" })
            {
                Assert.True(variables.TryGetValue(name, out var variable), $"{file} has no ${name} variable.");
                Assert.Equal("query", variable!["type"]?.GetValue<string>());
                Assert.Equal("prometheus", GrafanaFiles.DatasourceUid(variable["datasource"]));
                Assert.StartsWith("label_values(", variable["query"]?.GetValue<string>() ?? variable["definition"]?.GetValue<string>(), StringComparison.Ordinal);
            }
        }
    }

    [Fact]
    public void Every_datasource_a_dashboard_uses_is_provisioned_and_referenced_by_uid()
    {
        var provisioned = GrafanaFiles.Datasources(Root).Select(Uid).ToHashSet();
        var problems = new List<string>();
        var used = new HashSet<string>();

        foreach (var (file, dashboard) in GrafanaFiles.Dashboards(Root))
        {
            foreach (var (where, reference) in DatasourceReferences(dashboard))
            {
                if (reference is JsonValue)
                {
                    problems.Add($"{file}: {where} refers to its data source as '{reference}' instead of by uid.");
                    continue;
                }

                var uid = GrafanaFiles.DatasourceUid(reference);
                if (uid is null || !provisioned.Contains(uid))
                {
                    problems.Add($"{file}: {where} uses data source uid '{uid}', which is not provisioned.");
                    continue;
                }

                used.Add(uid);
            }
        }

        Assert.True(problems.Count == 0, string.Join('\n', problems));
        // All four signals appear on the dashboards.
        Assert.Equal(provisioned.Order(), used.Order());
    }

    [Fact]
    public void Every_panel_has_a_description_and_every_numeric_panel_a_unit()
    {
        var problems = new List<string>();
        foreach (var (file, dashboard) in GrafanaFiles.Dashboards(Root))
        {
            foreach (var panel in GrafanaFiles.Panels(dashboard))
            {
                var type = panel["type"]?.GetValue<string>() ?? "";
                var title = panel["title"]?.GetValue<string>() ?? "(untitled)";
                if (type == "row")
                {
                    continue;
                }

                if (string.IsNullOrWhiteSpace(panel["description"]?.GetValue<string>()))
                {
                    problems.Add($"{file} / {title}: no description.");
                }

                if (!PanelTypesWithoutUnit.Contains(type) && string.IsNullOrWhiteSpace(panel["fieldConfig"]?["defaults"]?["unit"]?.GetValue<string>()))
                {
                    problems.Add($"{file} / {title} ({type}): no unit.");
                }
            }
        }

        Assert.True(problems.Count == 0, string.Join('\n', problems));
    }

    [Fact]
    public void Latency_panels_show_exemplars()
    {
        var latencyTargets = GrafanaFiles.Dashboards(Root)
            .SelectMany(d => GrafanaFiles.Panels(d.Dashboard).SelectMany(p => GrafanaFiles.Targets(p).Select(t => (d.File, Panel: p, Target: t))))
            .Where(x => x.Target["expr"]?.GetValue<string>() is { } expr && expr.Contains("histogram_quantile", StringComparison.Ordinal))
            .Where(x => x.Panel["type"]?.GetValue<string>() == "timeseries")
            .ToList();

        Assert.NotEmpty(latencyTargets);
        Assert.All(latencyTargets, x => Assert.True(x.Target["exemplar"]?.GetValue<bool>() == true,
            $"{x.File} / {x.Panel["title"]}: a latency graph without exemplars loses the jump to the trace."));
    }

    [Fact]
    public void The_reference_queries_appear_verbatim()
    {
        var expressions = GrafanaFiles.Dashboards(Root)
            .SelectMany(d => GrafanaFiles.Panels(d.Dashboard))
            .SelectMany(GrafanaFiles.Targets)
            .Select(t => t["expr"]?.GetValue<string>())
            .ToHashSet();

        Assert.All(ReferenceQueries, query => Assert.Contains(query, expressions));
    }

    [Fact]
    public void The_overview_answers_the_four_incident_questions()
    {
        var overview = GrafanaFiles.Dashboards(Root).Single(d => d.Dashboard["uid"]?.GetValue<string>() == "obsstack-overview").Dashboard;
        var panels = GrafanaFiles.Panels(overview).ToList();

        bool Has(string type, string datasource, Func<JsonObject, bool> target) =>
            panels.Any(p => p["type"]?.GetValue<string>() == type
                && GrafanaFiles.Targets(p).Any(t => GrafanaFiles.DatasourceUid(t["datasource"] ?? p["datasource"]) == datasource && target(t)));

        // Is it broken: error ratios and latency. Who: by route and status. Where: service graph, slowest traces.
        // Why: logs (with trace links) and a flame graph.
        Assert.True(Has("stat", "prometheus", t => t["expr"]!.GetValue<string>().Contains("http_response_status_code=~\"5..\"", StringComparison.Ordinal)));
        Assert.True(Has("timeseries", "prometheus", t => t["expr"]!.GetValue<string>().Contains("histogram_quantile", StringComparison.Ordinal)));
        Assert.True(Has("bargauge", "prometheus", t => t["expr"]!.GetValue<string>().Contains("http_route, http_response_status_code", StringComparison.Ordinal)));
        Assert.True(Has("nodeGraph", "tempo", t => t["queryType"]?.GetValue<string>() == "serviceMap"));
        Assert.True(Has("table", "tempo", t => t["queryType"]?.GetValue<string>() == "traceql"));
        Assert.True(Has("logs", "loki", t => t["expr"]!.GetValue<string>().StartsWith("{service_name=~\"$job\"}", StringComparison.Ordinal)));
        Assert.True(Has("flamegraph", "pyroscope", t => t["profileTypeId"]?.GetValue<string>() == "process_cpu:cpu:nanoseconds:cpu:nanoseconds"));

        // A marker at every service start, from a metric (no annotation API, so no token).
        var start = Assert.Single(GrafanaFiles.Annotations(overview), a => a["name"]?.GetValue<string>() == "Service start");
        Assert.Equal("prometheus", GrafanaFiles.DatasourceUid(start["datasource"]));
        Assert.Contains("process_uptime_seconds", start["expr"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.True(start["useValueForTime"]?.GetValue<bool>());
    }

    [Fact]
    public void The_overview_starts_with_the_alerts_firing_and_pending_and_the_SLO_burn_rate()
    {
        var overview = GrafanaFiles.Dashboards(Root).Single(d => d.Dashboard["uid"]?.GetValue<string>() == "obsstack-overview").Dashboard;
        var top = GrafanaFiles.Panels(overview).Where(p => p["gridPos"]?["y"]?.GetValue<int>() < 9 && p["type"]?.GetValue<string>() != "row").ToList();

        // Grafana's alert list (Prometheus' rules through its rules API) and a state panel on the ALERTS series.
        var list = Assert.Single(top, p => p["type"]?.GetValue<string>() == "alertlist");
        Assert.True(list["options"]?["stateFilter"]?["firing"]?.GetValue<bool>());
        Assert.True(list["options"]?["stateFilter"]?["pending"]?.GetValue<bool>());
        var states = Assert.Single(top, p => GrafanaFiles.Targets(p).Any(t => t["expr"]?.GetValue<string>().Contains("ALERTS{alertstate=\"pending\"", StringComparison.Ordinal) == true));
        Assert.Contains("ALERTS{alertstate=\"firing\"", GrafanaFiles.Targets(states).Single()["expr"]!.GetValue<string>(), StringComparison.Ordinal);
        // The Prometheus data source lets Grafana's alerting read its rules (the alert list needs it).
        Assert.True(GrafanaFiles.Datasources(Root).Single(d => Uid(d) == "prometheus")["jsonData"]?["manageAlerts"]?.GetValue<bool>());

        var burn = GrafanaFiles.Panels(overview).Single(p => p["title"]?.GetValue<string>() == "Job success SLO: error budget burn rate");
        Assert.All(GrafanaFiles.Targets(burn), t => Assert.StartsWith("job:jobs_failed:ratio_rate", t["expr"]!.GetValue<string>(), StringComparison.Ordinal));
    }

    [Fact]
    public void Every_dashboard_marks_firing_alerts_on_its_time_series()
    {
        foreach (var (file, dashboard) in GrafanaFiles.Dashboards(Root))
        {
            var alerts = Assert.Single(GrafanaFiles.Annotations(dashboard), a => a["name"]?.GetValue<string>() == "Alerts firing");
            Assert.Equal("prometheus", GrafanaFiles.DatasourceUid(alerts["datasource"]));
            Assert.True(alerts["enable"]?.GetValue<bool>(), $"{file}: the alert annotation must be on by default.");
            Assert.Contains("ALERTS{alertstate=\"firing\"", alerts["expr"]!.GetValue<string>(), StringComparison.Ordinal);
        }
    }

    [Theory]
    [InlineData("obsstack-worker-pool", "job_duration_seconds_bucket")]
    [InlineData("obsstack-api", "http_server_request_duration_seconds_bucket")]
    public void Latency_heatmaps_show_the_histogram_buckets_with_exemplars(string dashboardUid, string buckets)
    {
        var dashboard = GrafanaFiles.Dashboards(Root).Single(d => d.Dashboard["uid"]?.GetValue<string>() == dashboardUid).Dashboard;

        var heatmap = Assert.Single(GrafanaFiles.Panels(dashboard), p => p["type"]?.GetValue<string>() == "heatmap");
        var target = Assert.Single(GrafanaFiles.Targets(heatmap));
        Assert.Contains(buckets, target["expr"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.StartsWith("sum by (le) (", target["expr"]!.GetValue<string>(), StringComparison.Ordinal);
        // Pre-bucketed data: Grafana must not re-bucket it, and the y axis reads in seconds.
        Assert.Equal("heatmap", target["format"]?.GetValue<string>());
        Assert.False(heatmap["options"]?["calculate"]?.GetValue<bool>());
        Assert.Equal("s", heatmap["options"]?["yAxis"]?["unit"]?.GetValue<string>());
        Assert.True(target["exemplar"]?.GetValue<bool>());
    }

    [Theory]
    [InlineData("obsstack-worker-pool", "Slow jobs (traces)", "duration > 1s")]
    [InlineData("obsstack-api", "Slow or failing requests (traces)", "duration > 500ms")]
    public void Slow_trace_searches_the_alerts_point_to_are_traceql_on_duration(string dashboardUid, string title, string condition)
    {
        var dashboard = GrafanaFiles.Dashboards(Root).Single(d => d.Dashboard["uid"]?.GetValue<string>() == dashboardUid).Dashboard;

        var panel = Assert.Single(GrafanaFiles.Panels(dashboard), p => p["title"]?.GetValue<string>() == title);
        var target = Assert.Single(GrafanaFiles.Targets(panel));
        Assert.Equal("tempo", GrafanaFiles.DatasourceUid(target["datasource"]));
        Assert.Equal("traceql", target["queryType"]?.GetValue<string>());
        Assert.Contains(condition, target["query"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Contains(PrometheusRules.All(Root), r => r.Alert is not null
            && r.Annotations.GetValueOrDefault("description", "").Contains($"\"{title}\"", StringComparison.Ordinal));
    }

    private static string Uid(JsonObject datasource) => datasource["uid"]?.GetValue<string>() ?? "";

    private static string Relative(string path) => Path.GetRelativePath(Root, path);

    private static IEnumerable<string> StringsIn(JsonNode? node) => node switch
    {
        JsonObject obj => obj.SelectMany(pair => StringsIn(pair.Value)),
        JsonArray array => array.SelectMany(StringsIn),
        JsonValue value when value.TryGetValue<string>(out var text) => [text],
        _ => [],
    };

    /// <summary>Every <c>datasourceUid</c> value in a JSON tree, with its path.</summary>
    private static IEnumerable<(string Path, string Uid)> DatasourceUidsIn(JsonNode? node, string path)
    {
        switch (node)
        {
            case JsonObject obj:
                foreach (var (key, value) in obj)
                {
                    if (key == "datasourceUid" && value is JsonValue uid)
                    {
                        yield return ($"{path}.{key}", uid.GetValue<string>());
                    }

                    foreach (var nested in DatasourceUidsIn(value, $"{path}.{key}"))
                    {
                        yield return nested;
                    }
                }

                break;
            case JsonArray array:
                for (var i = 0; i < array.Count; i++)
                {
                    foreach (var nested in DatasourceUidsIn(array[i], $"{path}[{i}]"))
                    {
                        yield return nested;
                    }
                }

                break;
        }
    }

    /// <summary>Every data source reference in a dashboard: panels, their targets, annotations, variables.</summary>
    private static IEnumerable<(string Where, JsonNode Reference)> DatasourceReferences(JsonObject dashboard)
    {
        foreach (var panel in GrafanaFiles.Panels(dashboard))
        {
            var title = panel["title"]?.GetValue<string>() ?? "(untitled)";
            if (panel["datasource"] is { } panelReference)
            {
                yield return ($"panel '{title}'", panelReference);
            }
            else if (panel["type"]?.GetValue<string>() != "row" && GrafanaFiles.Targets(panel).Any(t => t["datasource"] is null))
            {
                // A target with no data source anywhere runs against the default one: implicit, so not allowed.
                yield return ($"panel '{title}'", JsonValue.Create("(default data source)"));
            }

            foreach (var target in GrafanaFiles.Targets(panel))
            {
                if (target["datasource"] is { } targetReference)
                {
                    yield return ($"panel '{title}' target {target["refId"]}", targetReference);
                }
            }
        }

        foreach (var annotation in GrafanaFiles.Annotations(dashboard))
        {
            yield return ($"annotation '{annotation["name"]}'", annotation["datasource"] ?? JsonValue.Create("(default data source)"));
        }

        foreach (var variable in GrafanaFiles.Variables(dashboard).Where(v => v["type"]?.GetValue<string>() == "query"))
        {
            yield return ($"variable '{variable["name"]}'", variable["datasource"] ?? JsonValue.Create("(default data source)"));
        }
    }

    [GeneratedRegex(@"\$\{[^}]*\}|\$[A-Za-z_][A-Za-z0-9_]*")]
    private static partial Regex EnvironmentReference();
}
