namespace Aspire.Hosting;

/// <summary>The four backends the services push telemetry to, passed around as one value.</summary>
public sealed record TelemetryBackends(
    IResourceBuilder<ContainerResource> Prometheus,
    IResourceBuilder<ContainerResource> Loki,
    IResourceBuilder<ContainerResource> Tempo,
    IResourceBuilder<ContainerResource> Pyroscope);

/// <summary>
/// ObsStack's observability containers, one method per backend. Each pins its image to an exact tag (the constants
/// beside it; one tested-together set, docs/architecture.md "Versions", never <c>latest</c>), bind-mounts its configuration
/// read-only from <c>grafana/&lt;name&gt;/</c>, keeps its data in a named volume and reports healthy once its
/// readiness endpoint answers.
/// </summary>
public static class ObservabilityResourceExtensions
{
    // Fully qualified, so that Podman (no default search registry) pulls the same images as Docker.
    private const string Registry = "docker.io";

    private const string PrometheusImage = "prom/prometheus";
    private const string PrometheusTag = "v3.14.0";

    /// <summary>Prometheus: OTLP receiver, remote-write receiver (Tempo's span metrics) and exemplar storage.</summary>
    public static IResourceBuilder<ContainerResource> AddPrometheus(
        this IDistributedApplicationBuilder builder, [ResourceName] string name) =>
        builder.AddContainer(name, PrometheusImage, PrometheusTag)
            .WithImageRegistry(Registry)
            .WithBindMount("../grafana/prometheus", "/etc/prometheus", isReadOnly: true)
            .WithDataVolume("/prometheus")
            // The arguments replace the image's default command, so the config and storage paths are repeated here.
            .WithArgs(
                "--config.file=/etc/prometheus/prometheus.yaml",
                "--storage.tsdb.path=/prometheus",
                "--web.enable-otlp-receiver",
                "--web.enable-remote-write-receiver",
                "--enable-feature=exemplar-storage")
            .WithHttpEndpoint(targetPort: 9090, name: "http")
            .WithHttpHealthCheck("/-/ready", endpointName: "http");

    private const string LokiImage = "grafana/loki";
    private const string LokiTag = "3.7.6";

    /// <summary>Loki single binary: native OTLP log ingestion on <c>/otlp/v1/logs</c>.</summary>
    public static IResourceBuilder<ContainerResource> AddLoki(
        this IDistributedApplicationBuilder builder, [ResourceName] string name) =>
        builder.AddContainer(name, LokiImage, LokiTag)
            .WithImageRegistry(Registry)
            .WithBindMount("../grafana/loki", "/etc/loki", isReadOnly: true)
            .WithDataVolume("/loki")
            .WithArgs("-config.file=/etc/loki/loki.yaml")
            .WithHttpEndpoint(targetPort: 3100, name: "http")
            .WithHttpHealthCheck("/ready", endpointName: "http");

    private const string TempoImage = "grafana/tempo";
    private const string TempoTag = "3.0.3";

    /// <summary>
    /// Tempo 3 monolithic: OTLP receivers, and a metrics generator whose span metrics and service graph are
    /// remote-written to <paramref name="remoteWriteTo"/>.
    /// </summary>
    public static IResourceBuilder<ContainerResource> AddTempo(
        this IDistributedApplicationBuilder builder, [ResourceName] string name,
        IResourceBuilder<ContainerResource> remoteWriteTo) =>
        builder.AddContainer(name, TempoImage, TempoTag)
            .WithImageRegistry(Registry)
            .WithBindMount("../grafana/tempo", "/etc/tempo", isReadOnly: true)
            .WithDataVolume("/var/tempo")
            // expand-env: tempo.yaml reads the remote-write URL from the environment, so no address is hard-coded.
            .WithArgs("-config.file=/etc/tempo/tempo.yaml", "-config.expand-env=true")
            .WithEnvironment("PROMETHEUS_REMOTE_WRITE_URL",
                ReferenceExpression.Create($"{remoteWriteTo.GetEndpoint("http")}/api/v1/write"))
            .WithHttpEndpoint(targetPort: 3200, name: "http")
            .WithHttpEndpoint(targetPort: 4318, name: "otlp-http")
            .WithHttpHealthCheck("/ready", endpointName: "http");

    private const string PyroscopeImage = "grafana/pyroscope";
    private const string PyroscopeTag = "2.2.1";

    /// <summary>Pyroscope single binary with its default configuration: the push API on the http endpoint.</summary>
    public static IResourceBuilder<ContainerResource> AddPyroscope(
        this IDistributedApplicationBuilder builder, [ResourceName] string name) =>
        builder.AddContainer(name, PyroscopeImage, PyroscopeTag)
            .WithImageRegistry(Registry)
            // The default configuration stores everything under the working directory's ./data, i.e. /data.
            .WithDataVolume("/data")
            // The arguments replace the image's default command, so its own config path is repeated; a local
            // developer stack sends no usage statistics.
            .WithArgs("-config.file=/etc/pyroscope/config.yaml", "-usage-stats.enabled=false")
            .WithHttpEndpoint(targetPort: 4040, name: "http")
            .WithHttpHealthCheck("/ready", endpointName: "http");

    private const string GrafanaImage = "grafana/grafana";
    private const string GrafanaTag = "13.1.3";

    /// <summary>
    /// Grafana with the data sources and dashboards provisioned from <c>grafana/provisioning</c> and
    /// <c>grafana/dashboards</c>. The provisioning files read the backends' addresses from <c>PROMETHEUS_URL</c>,
    /// <c>LOKI_URL</c>, <c>TEMPO_URL</c> and <c>PYROSCOPE_URL</c>. Anonymous visitors are read-only viewers;
    /// the <c>admin</c> password is <paramref name="adminPassword"/>.
    /// </summary>
    public static IResourceBuilder<ContainerResource> AddGrafana(
        this IDistributedApplicationBuilder builder, [ResourceName] string name,
        IResourceBuilder<ParameterResource> adminPassword, TelemetryBackends backends) =>
        builder.AddContainer(name, GrafanaImage, GrafanaTag)
            .WithImageRegistry(Registry)
            // Only the two provisioning folders ObsStack fills: the image's own /etc/grafana/provisioning also holds
            // plugins/ and alerting/, and Grafana logs an error on every start for each of them that is missing.
            .WithBindMount("../grafana/provisioning/datasources", "/etc/grafana/provisioning/datasources", isReadOnly: true)
            .WithBindMount("../grafana/provisioning/dashboards", "/etc/grafana/provisioning/dashboards", isReadOnly: true)
            // Dashboard provider path (grafana/provisioning/dashboards/dashboards.yaml): /etc/grafana/dashboards.
            .WithBindMount("../grafana/dashboards", "/etc/grafana/dashboards", isReadOnly: true)
            .WithDataVolume("/var/lib/grafana")
            // Applied when Grafana creates its database, i.e. on the first start with an empty data volume.
            .WithEnvironment("GF_SECURITY_ADMIN_PASSWORD", adminPassword)
            .WithEnvironment("GF_AUTH_ANONYMOUS_ENABLED", "true")
            .WithEnvironment("GF_AUTH_ANONYMOUS_ORG_ROLE", "Viewer")
            .WithEnvironment("GF_ANALYTICS_REPORTING_ENABLED", "false")
            // Resolved in the container network (e.g. http://prometheus.dev.internal:9090), not as host ports.
            .WithEnvironment("PROMETHEUS_URL", backends.Prometheus.GetEndpoint("http"))
            .WithEnvironment("LOKI_URL", backends.Loki.GetEndpoint("http"))
            .WithEnvironment("TEMPO_URL", backends.Tempo.GetEndpoint("http"))
            .WithEnvironment("PYROSCOPE_URL", backends.Pyroscope.GetEndpoint("http"))
            .WithHttpEndpoint(targetPort: 3000, name: "http")
            .WithHttpHealthCheck("/api/health", endpointName: "http")
            .WaitFor(backends.Prometheus)
            .WaitFor(backends.Loki)
            .WaitFor(backends.Tempo)
            .WaitFor(backends.Pyroscope);

    /// <summary>Adds a link on the Aspire dashboard's Grafana resource straight to one Grafana dashboard.</summary>
    public static IResourceBuilder<ContainerResource> WithGrafanaDashboardLink(
        this IResourceBuilder<ContainerResource> grafana, string dashboardUid, string title) =>
        // A relative URL is completed with the http endpoint's allocated address.
        grafana.WithUrlForEndpoint("http", (EndpointReference _) => new ResourceUrlAnnotation
        {
            Url = $"/d/{dashboardUid}",
            DisplayText = $"Grafana: {title}",
        });

    /// <summary>
    /// Points a service's telemetry at the backends through the ObsStack.ServiceDefaults configuration keys
    /// (<c>Telemetry:Traces|Logs|Metrics:OtlpEndpoint</c>, <c>Telemetry:Profiles:PyroscopeEndpoint</c>); with no
    /// backends (no container runtime) the service keeps only the Aspire dashboard's OTLP endpoint. The service does not
    /// wait for them: telemetry is optional, and a backend that is not up yet costs dropped, counted batches.
    /// </summary>
    public static IResourceBuilder<T> WithTelemetryBackends<T>(
        this IResourceBuilder<T> service, TelemetryBackends? backends)
        where T : IResourceWithEnvironment =>
        backends is null
            ? service
            : service
                .WithEnvironment("Telemetry__Traces__OtlpEndpoint",
                    ReferenceExpression.Create($"{backends.Tempo.GetEndpoint("otlp-http")}/v1/traces"))
                .WithEnvironment("Telemetry__Logs__OtlpEndpoint",
                    ReferenceExpression.Create($"{backends.Loki.GetEndpoint("http")}/otlp/v1/logs"))
                .WithEnvironment("Telemetry__Metrics__OtlpEndpoint",
                    ReferenceExpression.Create($"{backends.Prometheus.GetEndpoint("http")}/api/v1/otlp/v1/metrics"))
                .WithEnvironment("Telemetry__Profiles__PyroscopeEndpoint", backends.Pyroscope.GetEndpoint("http"));

    // Named after the AppHost and resource (e.g. obsstack.apphost-<hash>-prometheus-data), so it survives restarts
    // and does not collide with another AppHost's volumes.
    private static IResourceBuilder<ContainerResource> WithDataVolume(
        this IResourceBuilder<ContainerResource> container, string target) =>
        container.WithVolume(VolumeNameGenerator.Generate(container, "data"), target);
}
