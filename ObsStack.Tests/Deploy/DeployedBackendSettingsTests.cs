using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Aspire.Hosting;
using Aspire.Hosting.ApplicationModel;
using Aspire.Hosting.Testing;
using ObsStack.Tests.Stack;

namespace ObsStack.Tests.Deploy;

/// <summary>
/// The backends as deployed, locally (grafana/, what the AppHost mounts) and on a cluster (deploy/helm, values for the
/// official charts): settings that start without an error yet do nothing when one side is missing, the same settings
/// on both sides, and the chart versions and images pinned to the versions the AppHost runs.
/// </summary>
public sealed partial class DeployedBackendSettingsTests
{
    private static readonly string Root = GrafanaFiles.FindRepoRoot();

    /// <summary>Where the Grafana image looks for provisioning: one subfolder per kind.</summary>
    private const string ProvisioningPath = "/etc/grafana/provisioning";

    [Fact]
    public void Tempo_streams_over_http_and_the_Tempo_datasource_streams_search_and_metrics()
    {
        var tempo = GrafanaFiles.LoadYaml(Path.Combine(Root, "grafana", "tempo", "tempo.yaml"));
        var datasource = Assert.Single(GrafanaFiles.Datasources(Root), d => (string?)d["uid"] == "tempo");

        Assert.True((bool?)tempo["stream_over_http_enabled"], "tempo.yaml must serve streamed results.");
        var streaming = datasource["jsonData"]?["streamingEnabled"];
        Assert.True((bool?)streaming?["search"], "The Tempo datasource does not stream search results.");
        Assert.True((bool?)streaming?["metrics"], "The Tempo datasource does not stream TraceQL metrics.");
    }

    [Fact]
    public void Loki_runs_the_pattern_ingester_that_Logs_Drilldown_patterns_read()
    {
        var loki = GrafanaFiles.LoadYaml(Path.Combine(Root, "grafana", "loki", "loki.yaml"));

        Assert.True((bool?)loki["pattern_ingester"]?["enabled"], "loki.yaml leaves the pattern ingester off.");
    }

    [Fact]
    public async Task Grafana_gets_each_provisioning_folder_of_grafana_and_keeps_the_images_other_folders()
    {
        await using var appHost = await DistributedApplicationTestingBuilder.CreateAsync<Projects.ObsStack_AppHost>(
            [$"--{ContainerBackends.ModeKey}=on"]);
        var grafana = Assert.Single(appHost.Resources, r => r.Name == "grafana");
        var mounts = grafana.Annotations.OfType<ContainerMountAnnotation>()
            .Where(m => m.Type == ContainerMountType.BindMount)
            .ToList();

        // Mounting over the whole folder hides the image's plugins/ and alerting/, which Grafana then reports as
        // errors on every start.
        Assert.DoesNotContain(mounts, m => m.Target.TrimEnd('/') == ProvisioningPath);
        var provisioning = Path.Combine(Root, "grafana", "provisioning");
        var folders = Directory.GetDirectories(provisioning).Select(path => Path.GetFileName(path)).Order().ToList();
        var mounted = mounts
            .Where(m => m.Target.StartsWith(ProvisioningPath + "/", StringComparison.Ordinal))
            .Select(m =>
            {
                var folder = m.Target[(ProvisioningPath.Length + 1)..].TrimEnd('/');
                Assert.Equal(Path.Combine(provisioning, folder), m.Source);
                return folder;
            })
            .Order()
            .ToList();
        Assert.Equal(folders, mounted);
    }

    /// <summary>values file → (chart, chart version): the chart version whose app version is the AppHost's image.</summary>
    private static readonly Dictionary<string, (string Chart, string Version)> Charts = new()
    {
        ["kube-prometheus-stack.yaml"] = ("prometheus-community/kube-prometheus-stack", "88.5.3"),
        ["loki.yaml"] = ("grafana-community/loki", "18.11.0"),
        ["tempo-distributed.yaml"] = ("grafana-community/tempo-distributed", "3.3.0"),
        ["pyroscope.yaml"] = ("grafana/pyroscope", "2.2.1"),
    };

    private static string HelmDirectory => Path.Combine(Root, "deploy", "helm");

    private static JsonObject Values(string file) => GrafanaFiles.LoadYaml(Path.Combine(HelmDirectory, file));

    private static JsonObject Grafana(string path) => GrafanaFiles.LoadYaml(Path.Combine(Root, "grafana", path));

    [Fact]
    public void Every_values_file_parses_and_names_its_chart_at_a_pinned_version()
    {
        var files = Directory.GetFiles(HelmDirectory, "*.yaml").Select(path => Path.GetFileName(path)).Order().ToList();

        Assert.Equal(Charts.Keys.Order(), files);
        var documented = HelmInstall().Matches(File.ReadAllText(Path.Combine(Root, "docs", "deployment.md")))
            .ToDictionary(m => m.Groups["values"].Value, m => (m.Groups["chart"].Value, m.Groups["version"].Value));
        Assert.Equal(Charts.OrderBy(p => p.Key), documented.OrderBy(p => p.Key));
        foreach (var (file, (chart, version)) in Charts)
        {
            var text = File.ReadAllText(Path.Combine(HelmDirectory, file));
            Assert.NotEmpty(GrafanaFiles.ParseYaml(text));
            // The install command in the file's header, as docs/deployment.md gives it.
            var install = Assert.Single(HelmInstall().Matches(text));
            Assert.Equal(chart, install.Groups["chart"].Value);
            Assert.Equal(version, install.Groups["version"].Value);
            Assert.Equal(Path.GetFileName(file), install.Groups["values"].Value);
        }
    }

    [Fact]
    public void The_charts_run_the_images_the_AppHost_runs()
    {
        var images = ObsStackRepository.TestedImages;
        var kps = Values("kube-prometheus-stack.yaml");

        Assert.Equal(images["prom/prometheus"], (string?)kps["prometheus"]?["prometheusSpec"]?["image"]?["tag"]);
        Assert.Equal(images["grafana/grafana"], (string?)kps["grafana"]?["image"]?["tag"]);
        Assert.Equal(images["grafana/loki"], (string?)Values("loki.yaml")["loki"]?["image"]?["tag"]);
        Assert.Equal(images["grafana/tempo"], (string?)Values("tempo-distributed.yaml")["tempo"]?["image"]?["tag"]);
        Assert.Equal(images["grafana/pyroscope"], (string?)Values("pyroscope.yaml")["pyroscope"]?["image"]?["tag"]);
    }

    [Fact]
    public void Prometheus_in_the_cluster_takes_OTLP_remote_write_and_exemplars_as_grafana_prometheus_configures_it()
    {
        var local = Grafana(Path.Combine("prometheus", "prometheus.yaml"));
        var spec = Values("kube-prometheus-stack.yaml")["prometheus"]!["prometheusSpec"]!;

        Assert.True((bool?)spec["enableOTLPReceiver"]);
        Assert.True((bool?)spec["enableRemoteWriteReceiver"]);
        Assert.Contains("exemplar-storage", spec["enableFeatures"]!.AsArray().Select(f => (string?)f));
        Assert.Equal((string?)local["otlp"]!["translation_strategy"], (string?)spec["otlp"]?["translationStrategy"]);
        Assert.Equal((bool?)local["otlp"]!["keep_identifying_resource_attributes"], (bool?)spec["otlp"]?["keepIdentifyingResourceAttributes"]);
        Assert.Equal((long?)local["storage"]!["exemplars"]!["max_exemplars"], (long?)spec["exemplars"]?["maxSize"]);
        Assert.Equal((string?)local["storage"]!["tsdb"]!["out_of_order_time_window"], (string?)spec["tsdb"]?["outOfOrderTimeWindow"]);
        Assert.Equal((string?)local["global"]!["scrape_interval"], (string?)spec["scrapeInterval"]);
        Assert.Equal((string?)local["global"]!["evaluation_interval"], (string?)spec["evaluationInterval"]);
        // The PrometheusRules generated from grafana/prometheus/rules carry no release label.
        Assert.False((bool?)spec["ruleSelectorNilUsesHelmValues"]);
    }

    [Fact]
    public void Loki_in_the_cluster_keeps_grafana_lokis_OTLP_labels_structured_metadata_and_patterns_on_object_storage()
    {
        var local = Grafana(Path.Combine("loki", "loki.yaml"));
        var values = Values("loki.yaml");
        var loki = values["loki"]!;

        Assert.Equal("SimpleScalable", (string?)values["deploymentMode"]);
        Assert.NotEqual("filesystem", (string?)loki["storage"]?["type"]);
        Assert.Equal((bool?)local["auth_enabled"], (bool?)loki["auth_enabled"]);
        foreach (var key in new[] { "allow_structured_metadata", "volume_enabled", "otlp_config" })
        {
            Assert.True(JsonNode.DeepEquals(local["limits_config"]![key], loki["limits_config"]?[key]), $"limits_config.{key} differs");
        }

        Assert.True(JsonNode.DeepEquals(local["pattern_ingester"], loki["pattern_ingester"]), "pattern_ingester differs");
    }

    [Fact]
    public void Tempo_in_the_cluster_streams_and_writes_span_metrics_with_exemplars_to_the_clusters_Prometheus()
    {
        var local = Grafana(Path.Combine("tempo", "tempo.yaml"));
        var values = Values("tempo-distributed.yaml");
        var generator = values["metricsGenerator"]!;

        Assert.Equal((bool?)local["stream_over_http_enabled"], (bool?)values["streamOverHTTPEnabled"]);
        Assert.True((bool?)values["traces"]?["otlp"]?["http"]?["enabled"]);
        Assert.True((bool?)generator["enabled"]);
        Assert.True(JsonNode.DeepEquals(
            local["metrics_generator"]!["registry"]!["external_labels"], generator["config"]?["registry"]?["external_labels"]));
        Assert.True(JsonNode.DeepEquals(
            local["overrides"]!["defaults"]!["metrics_generator"]!["processors"],
            values["overrides"]?["defaults"]?["metrics_generator"]?["processors"]));
        var remoteWrite = Assert.Single(generator["config"]!["storage"]!["remote_write"]!.AsArray())!;
        var localRemoteWrite = Assert.Single(local["metrics_generator"]!["storage"]!["remote_write"]!.AsArray())!;
        Assert.Equal((bool?)localRemoteWrite["send_exemplars"], (bool?)remoteWrite["send_exemplars"]);

        // The Prometheus the services push their metrics to.
        var prometheus = (string?)Values("kube-prometheus-stack.yaml")["grafana"]!["env"]!["PROMETHEUS_URL"];
        Assert.Equal(prometheus + "/api/v1/write", (string?)remoteWrite["url"]);
    }

    [Fact]
    public void Grafana_in_the_cluster_loads_the_generated_ConfigMaps_and_gets_every_url_the_datasources_expand()
    {
        var grafana = Values("kube-prometheus-stack.yaml")["grafana"]!;
        var sidecar = grafana["sidecar"]!;
        // Grafana expands the variables in the values it reads, not in comments.
        var expanded = File.ReadAllLines(GrafanaFiles.DatasourcesFile(Root))
            .Where(line => !line.TrimStart().StartsWith('#'))
            .SelectMany(line => EnvironmentReference().Matches(line))
            .Select(m => m.Groups["name"].Value)
            .ToHashSet();
        var generator = File.ReadAllText(Path.Combine(Root, "deploy", "kubernetes", "generate.sh"));

        Assert.Equal(expanded.Order(), grafana["env"]!.AsObject().Select(pair => pair.Key).Order());
        foreach (var (kind, label) in new[] { ("dashboards", "grafana_dashboard"), ("datasources", "grafana_datasource") })
        {
            Assert.Equal(label, (string?)sidecar[kind]?["label"]);
            Assert.Equal("1", (string?)sidecar[kind]?["labelValue"]);
            Assert.Equal("ALL", (string?)sidecar[kind]?["searchNamespace"]);
            Assert.Contains($"{label}: \"1\"", generator);
        }

        Assert.Equal("grafana_folder", (string?)sidecar["dashboards"]?["folderAnnotation"]);
        Assert.True((bool?)sidecar["dashboards"]?["provider"]?["foldersFromFilesStructure"]);
        // ObsStack's Prometheus datasource has the uid the chart's default one would take.
        Assert.False((bool?)sidecar["datasources"]?["defaultDatasourceEnabled"]);
    }

    [Fact]
    public void The_services_push_to_the_Services_the_releases_create()
    {
        // Release names and chart naming: kps (fullnameOverride) → kps-prometheus; loki → loki-gateway;
        // tempo → tempo-distributor; pyroscope → pyroscope. All in the namespace monitoring.
        var expected = new Dictionary<string, string>
        {
            ["Telemetry__Metrics__OtlpEndpoint"] = "kps-prometheus",
            ["Telemetry__Logs__OtlpEndpoint"] = "loki-gateway",
            ["Telemetry__Traces__OtlpEndpoint"] = "tempo-distributor",
            ["Telemetry__Profiles__PyroscopeEndpoint"] = "pyroscope",
        };
        var kps = Values("kube-prometheus-stack.yaml");
        Assert.Equal("kps", (string?)kps["fullnameOverride"]);

        foreach (var file in new[] { "worker.yaml", "api.yaml" })
        {
            var deployment = k8s.KubernetesYaml.LoadAllFromString(
                    File.ReadAllText(Path.Combine(Root, "deploy", "kubernetes", "base", file)), strict: true)
                .OfType<k8s.Models.V1Deployment>()
                .Single();
            var environment = deployment.Spec.Template.Spec.Containers.Single().Env.ToDictionary(e => e.Name, e => e.Value);
            foreach (var (key, service) in expected)
            {
                Assert.Equal($"{service}.monitoring.svc.cluster.local", new Uri(environment[key]).Host);
            }

            Assert.Equal(new Uri((string)kps["grafana"]!["env"]!["PROMETHEUS_URL"]!).Authority,
                new Uri(environment["Telemetry__Metrics__OtlpEndpoint"]).Authority);
        }
    }

    [GeneratedRegex(@"helm upgrade --install \S+ (?<chart>\S+) --version (?<version>\S+)[\s\\#]+--namespace monitoring -f deploy/helm/(?<values>\S+)")]
    private static partial Regex HelmInstall();

    [GeneratedRegex(@"(?<!\$)\$\{(?<name>[A-Z_][A-Z0-9_]*)\}")]
    private static partial Regex EnvironmentReference();
}
