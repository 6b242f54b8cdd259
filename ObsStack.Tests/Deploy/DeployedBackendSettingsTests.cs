using Aspire.Hosting;
using Aspire.Hosting.ApplicationModel;
using Aspire.Hosting.Testing;
using ObsStack.Tests.Stack;

namespace ObsStack.Tests.Deploy;

/// <summary>
/// Settings that start without an error yet do nothing when one side is missing: a backend feature Grafana only uses
/// when its data source says so, a Loki component Grafana's Logs Drilldown reads from, and Grafana's provisioning
/// folders. Checked in grafana/ (what the AppHost runs).
/// </summary>
public sealed class DeployedBackendSettingsTests
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
}
