using Aspire.Hosting;
using Aspire.Hosting.ApplicationModel;
using Aspire.Hosting.Testing;
using Microsoft.Extensions.Logging.Abstractions;
using ObsStack.Tests.Stack;

namespace ObsStack.Tests.AppHost;

/// <summary>
/// Builds the AppHost's application model without starting anything (no container runtime needed) and checks what
/// it declares: resources, pinned images, mounts, health checks, the services' telemetry wiring and the secret.
/// Endpoint values are checked as Aspire expressions (<c>{tempo.bindings.otlp-http.url}</c>): they resolve to host
/// ports only once the app runs, which the end-to-end test covers.
/// </summary>
public sealed class AppHostModelTests
{
    private static readonly string[] Backends = ["prometheus", "loki", "tempo", "pyroscope", "grafana"];

    [Fact]
    public async Task Declares_the_five_backends_as_containers_and_the_two_services_as_projects()
    {
        await using var appHost = await CreateAppHostAsync();

        foreach (var name in Backends)
        {
            Assert.IsType<ContainerResource>(Resource(appHost, name));
        }

        Assert.IsType<ProjectResource>(Resource(appHost, "worker"));
        Assert.IsType<ProjectResource>(Resource(appHost, "api"));
    }

    [Fact]
    public async Task Every_backend_image_is_the_tested_version_never_latest()
    {
        await using var appHost = await CreateAppHostAsync();

        foreach (var name in Backends)
        {
            var image = Assert.Single(Resource(appHost, name).Annotations.OfType<ContainerImageAnnotation>());
            Assert.NotEqual("latest", image.Tag);
            Assert.True(ObsStackRepository.TestedImages.TryGetValue(image.Image, out var tested),
                $"{name} uses {image.Image}, which is not in the tested set.");
            Assert.Equal(tested, image.Tag);
        }
    }

    [Fact]
    public async Task Backend_configuration_is_mounted_read_only_from_grafana_and_data_lives_in_a_named_volume()
    {
        await using var appHost = await CreateAppHostAsync();

        foreach (var name in Backends)
        {
            var mounts = Resource(appHost, name).Annotations.OfType<ContainerMountAnnotation>().ToList();

            foreach (var bind in mounts.Where(m => m.Type == ContainerMountType.BindMount))
            {
                Assert.True(bind.IsReadOnly, $"{name} mounts {bind.Source} writable.");
                Assert.StartsWith(ObsStackRepository.GrafanaDirectory + Path.DirectorySeparatorChar, bind.Source);
                Assert.True(Directory.Exists(bind.Source) || File.Exists(bind.Source),
                    $"{name} mounts {bind.Source}, which does not exist.");
            }

            var volume = Assert.Single(mounts, m => m.Type == ContainerMountType.Volume);
            Assert.False(string.IsNullOrEmpty(volume.Source), $"{name}'s data volume is anonymous.");
        }
    }

    [Fact]
    public async Task Every_backend_has_a_health_check()
    {
        await using var appHost = await CreateAppHostAsync();

        foreach (var name in Backends)
        {
            Assert.NotEmpty(Resource(appHost, name).Annotations.OfType<HealthCheckAnnotation>());
        }
    }

    [Theory]
    [InlineData("worker")]
    [InlineData("api")]
    public async Task Service_sends_each_signal_to_its_backend(string service)
    {
        await using var appHost = await CreateAppHostAsync();

        var environment = await EnvironmentAsync(appHost, service);

        Assert.Equal("{tempo.bindings.otlp-http.url}/v1/traces",
            Expression(environment, "Telemetry__Traces__OtlpEndpoint"));
        Assert.Equal("{loki.bindings.http.url}/otlp/v1/logs",
            Expression(environment, "Telemetry__Logs__OtlpEndpoint"));
        Assert.Equal("{prometheus.bindings.http.url}/api/v1/otlp/v1/metrics",
            Expression(environment, "Telemetry__Metrics__OtlpEndpoint"));
        Assert.Equal("{pyroscope.bindings.http.url}",
            Expression(environment, "Telemetry__Profiles__PyroscopeEndpoint"));
    }

    [Theory]
    [InlineData("worker")]
    [InlineData("api")]
    public async Task Service_never_waits_for_a_telemetry_backend(string service)
    {
        await using var appHost = await CreateAppHostAsync();

        var waitsFor = WaitsFor(appHost, service);

        Assert.Empty(waitsFor.Intersect(Backends));
    }

    [Fact]
    public async Task Grafana_waits_for_its_four_data_sources()
    {
        await using var appHost = await CreateAppHostAsync();

        Assert.Equal(new HashSet<string> { "prometheus", "loki", "tempo", "pyroscope" }, WaitsFor(appHost, "grafana"));
    }

    [Fact]
    public async Task Without_containers_the_backends_are_listed_as_not_started_with_the_reason()
    {
        await using var appHost = await CreateAppHostAsync("off");

        foreach (var name in Backends)
        {
            var resource = Resource(appHost, name);
            Assert.IsNotType<ContainerResource>(resource);
            var snapshot = Assert.Single(resource.Annotations.OfType<ResourceSnapshotAnnotation>()).InitialSnapshot;
            Assert.Equal(ContainerBackends.OffState, snapshot.State?.Text);
            Assert.Contains(snapshot.Properties, p => p.Name == "Why" && $"{p.Value}" == "Not started: ObsStack:Containers is 'off'. Remove ObsStack:Containers=off (or set it to auto) and run the AppHost again.");
            // Nothing to install: the user turned them off.
            Assert.Empty(snapshot.Urls);
        }

        Assert.DoesNotContain(appHost.Resources, r => r.Name == "grafana-password");
    }

    [Fact]
    public async Task Without_a_container_runtime_each_backend_links_to_what_to_install_in_the_resources_list()
    {
        await using var appHost = await DistributedApplicationTestingBuilder.CreateAsync<Projects.ObsStack_AppHost>(
            [$"--{ContainerBackends.ModeKey}=auto", "--ASPIRE_CONTAINER_RUNTIME=obsstack-no-such-runtime"]);

        foreach (var name in Backends)
        {
            var snapshot = Assert.Single(Resource(appHost, name).Annotations.OfType<ResourceSnapshotAnnotation>()).InitialSnapshot;
            Assert.Equal(ContainerBackends.NotStartedState, snapshot.State?.Text);
            Assert.Contains(snapshot.Properties, p => p.Name == "Why"
                && $"{p.Value}" == "Not started: no container runtime answers (obsstack-no-such-runtime is not installed). Start Docker or Podman and run the AppHost again.");
            var link = Assert.Single(snapshot.Urls);
            Assert.Equal(ContainerBackends.GetContainerRuntimeUrl, link.Url);
            Assert.False(link.IsInternal);
            Assert.Equal("No container runtime: get Docker or Podman", link.DisplayProperties.DisplayName);
        }
    }

    [Fact]
    public async Task The_incident_drill_is_a_set_of_commands_on_the_api_and_the_worker()
    {
        await using var appHost = await CreateAppHostAsync("off");

        Assert.Equal(
            [IncidentDrillCommands.InjectErrorsCommand, IncidentDrillCommands.InjectLatencyCommand, IncidentDrillCommands.StopChaosCommand],
            Resource(appHost, "api").Annotations.OfType<ResourceCommandAnnotation>().Select(c => c.Name).Intersect(
                [IncidentDrillCommands.InjectErrorsCommand, IncidentDrillCommands.InjectLatencyCommand, IncidentDrillCommands.StopChaosCommand]));
        Assert.Contains(Resource(appHost, "worker").Annotations.OfType<ResourceCommandAnnotation>(), c => c.Name == IncidentDrillCommands.JobBurstCommand);
    }

    [Theory]
    [InlineData("worker")]
    [InlineData("api")]
    public async Task Without_containers_a_service_has_no_backend_destination_and_waits_for_none(string service)
    {
        await using var appHost = await CreateAppHostAsync("off");

        var environment = await EnvironmentAsync(appHost, service);

        Assert.DoesNotContain(environment.Keys, key => key.StartsWith("Telemetry__", StringComparison.Ordinal));
        Assert.Empty(WaitsFor(appHost, service).Intersect(Backends));
    }

    [Fact]
    public async Task An_unknown_containers_mode_stops_the_AppHost_naming_the_key()
    {
        var error = await Assert.ThrowsAnyAsync<Exception>(() => CreateAppHostAsync("sometimes"));

        Assert.Contains("ObsStack:Containers is 'sometimes'; use 'auto' (the default), 'on' or 'off'.",
            error.ToString());
    }

    [Fact]
    public async Task Worker_and_api_find_each_other_and_only_the_worker_waits()
    {
        await using var appHost = await CreateAppHostAsync();

        var worker = await EnvironmentAsync(appHost, "worker");
        var api = await EnvironmentAsync(appHost, "api");

        // The worker's load generator targets the api; the api forwards job intake to the worker.
        Assert.Equal("{api.bindings.http.url}", Expression(worker, "services__api__http__0"));
        Assert.Equal("{worker.bindings.http.url}", Expression(api, "services__worker__http__0"));
        Assert.Contains("api", WaitsFor(appHost, "worker"));
        Assert.DoesNotContain("worker", WaitsFor(appHost, "api"));
    }

    [Fact]
    public async Task Only_the_api_is_reachable_from_outside()
    {
        await using var appHost = await CreateAppHostAsync();

        Assert.Contains(Resource(appHost, "api").Annotations.OfType<EndpointAnnotation>(), e => e.IsExternal);
        Assert.DoesNotContain(Resource(appHost, "worker").Annotations.OfType<EndpointAnnotation>(), e => e.IsExternal);
    }

    [Theory]
    [InlineData("on")]
    [InlineData("off")]
    public async Task The_chaos_key_is_a_generated_secret_parameter_given_to_the_api_with_or_without_containers(string containers)
    {
        await using var appHost = await CreateAppHostAsync(containers);

        var key = Assert.IsType<ParameterResource>(Resource(appHost, "chaos-key"));
        var api = await EnvironmentAsync(appHost, "api");

        Assert.True(key.Secret);
        Assert.NotNull(key.Default);
        Assert.Same(key, api["Api__ChaosKey"]);
        Assert.False((await EnvironmentAsync(appHost, "worker")).ContainsKey("Api__ChaosKey"));
    }

    [Fact]
    public async Task Grafana_admin_password_is_a_generated_secret_parameter()
    {
        await using var appHost = await CreateAppHostAsync();

        var password = Assert.IsType<ParameterResource>(Resource(appHost, "grafana-password"));
        var grafana = await EnvironmentAsync(appHost, "grafana");

        Assert.True(password.Secret);
        // A default the AppHost generates (in a run, wrapped so that it is kept in the user secrets), not a value
        // from the repository's configuration.
        Assert.NotNull(password.Default);
        Assert.Same(password, grafana["GF_SECURITY_ADMIN_PASSWORD"]);
        Assert.Equal("true", grafana["GF_AUTH_ANONYMOUS_ENABLED"]);
        Assert.Equal("Viewer", grafana["GF_AUTH_ANONYMOUS_ORG_ROLE"]);
    }

    [Fact]
    public async Task Grafana_and_tempo_reach_the_backends_through_endpoint_references()
    {
        await using var appHost = await CreateAppHostAsync();

        var grafana = await EnvironmentAsync(appHost, "grafana");
        var tempo = await EnvironmentAsync(appHost, "tempo");

        Assert.Equal("{prometheus.bindings.http.url}", Expression(grafana, "PROMETHEUS_URL"));
        Assert.Equal("{loki.bindings.http.url}", Expression(grafana, "LOKI_URL"));
        Assert.Equal("{tempo.bindings.http.url}", Expression(grafana, "TEMPO_URL"));
        Assert.Equal("{pyroscope.bindings.http.url}", Expression(grafana, "PYROSCOPE_URL"));
        Assert.Equal("{prometheus.bindings.http.url}/api/v1/write", Expression(tempo, "PROMETHEUS_REMOTE_WRITE_URL"));
    }

    [Fact]
    public async Task Backends_start_with_the_receivers_the_stack_relies_on()
    {
        await using var appHost = await CreateAppHostAsync();

        var prometheus = await ArgumentsAsync(appHost, "prometheus");
        var tempo = await ArgumentsAsync(appHost, "tempo");

        Assert.Contains("--web.enable-otlp-receiver", prometheus);
        Assert.Contains("--web.enable-remote-write-receiver", prometheus);
        Assert.Contains("--enable-feature=exemplar-storage", prometheus);
        Assert.Contains("-config.expand-env=true", tempo);
    }

    [Fact]
    public async Task Prometheus_container_loads_the_rule_files_from_its_mounted_config_folder()
    {
        await using var appHost = await CreateAppHostAsync();

        var mount = Assert.Single(Resource(appHost, "prometheus").Annotations.OfType<ContainerMountAnnotation>(),
            m => m.Type == ContainerMountType.BindMount && m.Target == "/etc/prometheus");
        Assert.Contains("--config.file=/etc/prometheus/prometheus.yaml", await ArgumentsAsync(appHost, "prometheus"));

        // rule_files resolve against the config file's folder: rules/*.yaml in the container is the mounted source's.
        var config = GrafanaFiles.LoadYaml(Path.Combine(mount.Source!, "prometheus.yaml"));
        var glob = Assert.Single(config["rule_files"]!.AsArray())!.GetValue<string>();
        var loaded = Directory.GetFiles(Path.Combine(mount.Source!, Path.GetDirectoryName(glob)!), Path.GetFileName(glob)).Order().ToList();
        Assert.Equal(PrometheusRules.RuleFiles(GrafanaFiles.FindRepoRoot()).Select(Path.GetFullPath), loaded.Select(Path.GetFullPath));
        Assert.NotEmpty(loaded);
    }

    [Fact]
    public async Task Grafana_resource_links_to_each_ObsStack_dashboard()
    {
        await using var appHost = await CreateAppHostAsync();
        var grafana = Resource(appHost, "grafana");
        var urls = new List<ResourceUrlAnnotation>();
        var context = new ResourceUrlsCallbackContext(appHost.ExecutionContext, grafana, urls)
        {
            Logger = NullLogger.Instance,
        };

        foreach (var callback in grafana.Annotations.OfType<ResourceUrlsCallbackAnnotation>())
        {
            await callback.Callback(context);
        }

        string[] dashboards = ["obsstack-overview", "obsstack-worker-pool", "obsstack-api", "obsstack-dotnet-runtime"];
        foreach (var uid in dashboards)
        {
            var link = Assert.Single(urls, u => u.Url == $"/d/{uid}");
            Assert.Equal("http", link.Endpoint?.EndpointName);
        }
    }

    [Fact]
    public async Task With_containers_redis_is_the_job_engine_pinned_in_a_volume_with_an_append_only_file_and_two_worker_replicas_wait_for_it()
    {
        await using var appHost = await CreateAppHostAsync();

        var redis = Assert.IsType<RedisResource>(Resource(appHost, JobEngineExtensions.RedisName));
        var image = Assert.Single(redis.Annotations.OfType<ContainerImageAnnotation>());
        Assert.Equal(ObsStackRepository.JobEngineImages[image.Image], image.Tag);
        Assert.Contains(redis.Annotations.OfType<ContainerMountAnnotation>(), m => m.Type == ContainerMountType.Volume && m.Target == "/data");
        // Aspire's own arguments first (redis-server, password, snapshots), then the append-only file's, in the same form.
        var arguments = await ArgumentsAsync(appHost, JobEngineExtensions.RedisName);
        Assert.Equal("redis-server", arguments[0]);
        Assert.Equal(["--appendonly", "yes", "--appendfsync", "everysec"], arguments[^4..]);

        Assert.Equal("{redis.connectionString}", Expression(await EnvironmentAsync(appHost, "worker"), "ConnectionStrings__redis"));
        Assert.Contains("redis", WaitsFor(appHost, "worker"));
        Assert.Equal(JobEngineExtensions.DefaultReplicas, Assert.Single(Resource(appHost, "worker").Annotations.OfType<ReplicaAnnotation>()).Replicas);
        Assert.DoesNotContain("redis", WaitsFor(appHost, "api"));
    }

    [Fact]
    public async Task Without_containers_a_redis_the_user_runs_is_the_job_engine_and_its_replica_count_is_configurable()
    {
        await using var appHost = await DistributedApplicationTestingBuilder.CreateAsync<Projects.ObsStack_AppHost>(
            [$"--{ContainerBackends.ModeKey}=off", "--ConnectionStrings:redis=localhost:6379", $"--{JobEngineExtensions.ReplicasKey}=3"]);

        Assert.IsNotType<RedisResource>(Resource(appHost, JobEngineExtensions.RedisName));
        Assert.Equal("{redis.connectionString}", Expression(await EnvironmentAsync(appHost, "worker"), "ConnectionStrings__redis"));
        Assert.Equal(3, Assert.Single(Resource(appHost, "worker").Annotations.OfType<ReplicaAnnotation>()).Replicas);
    }

    [Fact]
    public async Task Without_containers_or_redis_one_worker_runs_the_embedded_pool()
    {
        await using var appHost = await CreateAppHostAsync("off");

        Assert.DoesNotContain(appHost.Resources, r => r.Name == JobEngineExtensions.RedisName);
        Assert.DoesNotContain("ConnectionStrings__redis", (await EnvironmentAsync(appHost, "worker")).Keys);
        Assert.Empty(Resource(appHost, "worker").Annotations.OfType<ReplicaAnnotation>());
    }

    /// <summary>The model as a machine with a container runtime builds it (<c>on</c>), or as one without (<c>off</c>).</summary>
    private static Task<IDistributedApplicationTestingBuilder> CreateAppHostAsync(string containers = "on") =>
        DistributedApplicationTestingBuilder.CreateAsync<Projects.ObsStack_AppHost>(
            [$"--{ContainerBackends.ModeKey}={containers}"]);

    private static IResource Resource(IDistributedApplicationTestingBuilder appHost, string name) =>
        Assert.Single(appHost.Resources, r => r.Name == name);

    private static HashSet<string> WaitsFor(IDistributedApplicationTestingBuilder appHost, string name) =>
        Resource(appHost, name).Annotations.OfType<WaitAnnotation>().Select(w => w.Resource.Name).ToHashSet();

    /// <summary>Runs the resource's environment callbacks as a run would, without resolving any value.</summary>
    private static async Task<Dictionary<string, object>> EnvironmentAsync(
        IDistributedApplicationTestingBuilder appHost, string name)
    {
        var resource = Resource(appHost, name);
        var environment = new Dictionary<string, object>();
        var context = new EnvironmentCallbackContext(appHost.ExecutionContext, resource, environment)
        {
            Logger = NullLogger.Instance,
        };

        foreach (var callback in resource.Annotations.OfType<EnvironmentCallbackAnnotation>())
        {
            await callback.Callback(context);
        }

        return environment;
    }

    private static async Task<List<string>> ArgumentsAsync(IDistributedApplicationTestingBuilder appHost, string name)
    {
        var resource = Resource(appHost, name);
        var arguments = new List<object>();
        var context = new CommandLineArgsCallbackContext(arguments, resource) { Logger = NullLogger.Instance };

        foreach (var callback in resource.Annotations.OfType<CommandLineArgsCallbackAnnotation>())
        {
            await callback.Callback(context);
        }

        return arguments.OfType<string>().ToList();
    }

    /// <summary>The Aspire expression behind a value, e.g. <c>{loki.bindings.http.url}/otlp/v1/logs</c>.</summary>
    private static string Expression(Dictionary<string, object> environment, string key)
    {
        Assert.True(environment.TryGetValue(key, out var value), $"{key} is not set.");
        return Assert.IsAssignableFrom<IManifestExpressionProvider>(value).ValueExpression;
    }
}
