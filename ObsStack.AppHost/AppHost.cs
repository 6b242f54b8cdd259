// A bad setting (e.g. ObsStack:Containers=maybe) ends the AppHost with one line naming it and exit code 1.
ObsStack.ServiceDefaults.Startup.StartupSettings.ExitOnInvalidSettings();

var builder = DistributedApplication.CreateBuilder(args)
    .RequireDevelopmentCertificateForHttps();

// The key PUT/DELETE /chaos need (X-Chaos-Key), with or without containers: generated on first run, kept in user
// secrets (Parameters:chaos-key), shown on the parameter in the Aspire dashboard for the incident drill.
var chaosKey = builder.AddParameter("chaos-key",
    new GenerateParameterDefault { MinLength = 32, Special = false }, secret: true, persist: true);

// The five backends run as containers. Without Docker or Podman they are listed as not started, saying why, and
// worker and api run with their telemetry in the Aspire dashboard only (ObsStack:Containers = auto | on | off).
TelemetryBackends? backends = null;
var containers = builder.ContainerBackendsCanRun();
if (containers)
{
    // Generated on first run and kept in this project's user secrets (Parameters:grafana-password), never in the repo.
    var grafanaPassword = builder.AddParameter("grafana-password",
        new GenerateParameterDefault { MinLength = 24, Special = false }, secret: true, persist: true);

    var prometheus = builder.AddPrometheus(ContainerBackends.Prometheus);
    var loki = builder.AddLoki(ContainerBackends.Loki);
    var tempo = builder.AddTempo(ContainerBackends.Tempo, remoteWriteTo: prometheus);
    var pyroscope = builder.AddPyroscope(ContainerBackends.Pyroscope);
    backends = new TelemetryBackends(prometheus, loki, tempo, pyroscope);

    builder.AddGrafana(ContainerBackends.Grafana, grafanaPassword, backends)
        .WithGrafanaDashboardLink("obsstack-overview", "Overview")
        .WithGrafanaDashboardLink("obsstack-worker-pool", "Worker pool")
        .WithGrafanaDashboardLink("obsstack-api", "API")
        .WithGrafanaDashboardLink("obsstack-dotnet-runtime", ".NET runtime");
}

// The job engine: Redis (a container, or ConnectionStrings:redis) shared by the worker replicas; else the in-process pool.
var redis = builder.AddJobEngine(containers);

// Telemetry is optional by design: the services push to the backends but never wait for them.
var api = builder.AddProject<Projects.ObsStack_Api>("api")
    .WithExternalHttpEndpoints()
    .WithHttpHealthCheck("/health")
    .WithEnvironment("Api__ChaosKey", chaosKey)
    .WithChaosCommands(chaosKey)
    .WithTelemetryBackends(backends);

// The worker's load generator calls the api's /data/{id}, so the worker starts once the api is healthy.
var worker = builder.AddProject<Projects.ObsStack_Worker>("worker")
    .WithHttpHealthCheck("/health")
    .WithTelemetryBackends(backends)
    .WithJobEngine(redis)
    .WithJobBurstCommand(api)
    .WithReference(api).WaitFor(api);

// The api forwards job intake to the worker: a reference only, since waiting this way round too would be a cycle.
api.WithReference(worker);

builder.Build().Run();
