using System.Globalization;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Aspire.Hosting;
using Aspire.Hosting.ApplicationModel;
using Aspire.Hosting.Testing;
using Microsoft.Extensions.Configuration;
using ObsStack.Tests.Infrastructure;

namespace ObsStack.Tests.AppHost;

/// <summary>
/// Starts the whole AppHost (five containers, worker, api) and follows the signals as the incident workflow does:
/// a metric in Prometheus, a <c>process_job</c> trace in Tempo, the worker's logs of that very trace in Loki, and
/// a provisioned Grafana whose four data sources answer. Needs a container runtime; skipped, saying why, without.
/// </summary>
[Trait("Category", "EndToEnd")]
// Pulling the five images on a first run takes most of its ten-minute start allowance.
[TestTimeLimit(Minutes = 20)]
public sealed class AppHostEndToEndTests
{
    // Room for the first image pulls and the containers' start before anything is asserted.
    private static readonly TimeSpan StartTimeout = TimeSpan.FromMinutes(10);

    // Once everything is healthy: the load generator runs, exporters flush every second or so, and Tempo's and
    // Loki's ingestion makes data queryable within seconds.
    private static readonly TimeSpan SignalTimeout = TimeSpan.FromMinutes(3);

    private static readonly TimeSpan PollInterval = TimeSpan.FromSeconds(2);

    private static readonly string[] Resources =
        ["prometheus", "loki", "tempo", "pyroscope", "grafana", "api", "worker"];

    private static readonly string[] DataSourceUids = ["prometheus", "loki", "tempo", "pyroscope"];

    private static readonly string[] DashboardUids =
        ["obsstack-overview", "obsstack-worker-pool", "obsstack-api", "obsstack-dotnet-runtime"];

    [SkippableFact]
    public async Task The_four_signals_reach_their_backends_and_Grafana_is_provisioned()
    {
        var unavailable = ContainerBackends.WhyNoContainerRuntime(
            new ConfigurationBuilder().AddEnvironmentVariables().Build());
        Skip.If(unavailable is not null,
            $"The five backend containers cannot run here: {unavailable}. Start Docker or Podman to run this test.");

        using var cancellation = new CancellationTokenSource(StartTimeout + 4 * SignalTimeout);
        var cancellationToken = cancellation.Token;
        var appHost = await DistributedApplicationTestingBuilder.CreateAsync<Projects.ObsStack_AppHost>(
            cancellationToken);
        WithoutDataVolumes(appHost);
        var grafanaPassword = (ParameterResource)Assert.Single(appHost.Resources, r => r.Name == "grafana-password");

        await using var app = await appHost.BuildAsync(cancellationToken);
        await StartHealthyAsync(app, cancellationToken);

        // Metrics: the worker's job counter, pushed over OTLP, labelled job = service.name.
        using var prometheus = Client(app, "prometheus");
        await EventuallyAsync("Prometheus has jobs_total{job=\"worker\"} above zero", async token =>
        {
            var query = Uri.EscapeDataString("sum(jobs_total{job=\"worker\"})");
            using var json = await GetJsonAsync(prometheus, $"/api/v1/query?query={query}", token);
            var result = json.RootElement.GetProperty("data").GetProperty("result");
            return result.GetArrayLength() > 0
                && double.Parse(result[0].GetProperty("value")[1].GetString()!, CultureInfo.InvariantCulture) > 0
                ? "found"
                : null;
        }, cancellationToken);

        // Traces: a process_job span of the worker.
        using var tempo = Client(app, "tempo");
        await EventuallyAsync("Tempo finds a process_job trace of the worker",
            async token => await ProcessJobTraceIdsAsync(tempo, token) is [var first, ..] ? first : null,
            cancellationToken);

        // Logs: the worker's lines of one of those traces, selected in Loki by the trace_id structured metadata.
        using var loki = Client(app, "loki");
        await EventuallyAsync("Loki has worker logs carrying the id of a process_job trace in Tempo", async token =>
        {
            foreach (var traceId in (await ProcessJobTraceIdsAsync(tempo, token)).Take(10))
            {
                var query = Uri.EscapeDataString($"{{service_name=\"worker\"}} | trace_id=\"{traceId}\"");
                using var json = await GetJsonAsync(
                    loki, $"/loki/api/v1/query_range?since=15m&limit=5&query={query}", token);
                if (json.RootElement.GetProperty("data").GetProperty("result").GetArrayLength() > 0)
                {
                    return traceId;
                }
            }

            return null;
        }, cancellationToken);

        // Grafana: the four provisioned data sources pass their health check; the dashboards are in "ObsStack".
        using var grafana = Client(app, "grafana");
        var password = await grafanaPassword.GetValueAsync(cancellationToken);
        grafana.DefaultRequestHeaders.Authorization =
            new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes($"admin:{password}")));
        foreach (var uid in DataSourceUids)
        {
            await EventuallyAsync($"Grafana reports data source '{uid}' healthy", async token =>
            {
                using var json = await GetJsonAsync(grafana, $"/api/datasources/uid/{uid}/health", token);
                return json.RootElement.GetProperty("status").GetString() == "OK" ? "healthy" : null;
            }, cancellationToken);
        }

        foreach (var uid in DashboardUids)
        {
            using var json = await GetJsonAsync(grafana, $"/api/dashboards/uid/{uid}", cancellationToken);
            Assert.Equal("ObsStack", json.RootElement.GetProperty("meta").GetProperty("folderTitle").GetString());
        }
    }

    /// <summary>
    /// Every run starts from empty stores and a new Grafana database (so the admin password is this run's): what the
    /// test finds was produced by this run, and the developer's own data volumes are left alone.
    /// </summary>
    private static void WithoutDataVolumes(IDistributedApplicationTestingBuilder appHost)
    {
        foreach (var container in appHost.Resources.OfType<ContainerResource>())
        {
            var volumes = container.Annotations.OfType<ContainerMountAnnotation>()
                .Where(m => m.Type == ContainerMountType.Volume)
                .ToList();
            foreach (var volume in volumes)
            {
                container.Annotations.Remove(volume);
            }
        }
    }

    private static async Task StartHealthyAsync(DistributedApplication app, CancellationToken cancellationToken)
    {
        await app.StartAsync(cancellationToken).WaitAsync(StartTimeout, cancellationToken);
        foreach (var resource in Resources)
        {
            try
            {
                await app.ResourceNotifications.WaitForResourceHealthyAsync(resource, cancellationToken)
                    .WaitAsync(StartTimeout, cancellationToken);
            }
            catch (TimeoutException)
            {
                throw new TimeoutException($"{resource} was not healthy within {StartTimeout.TotalMinutes:0} min.");
            }
        }
    }

    private static HttpClient Client(DistributedApplication app, string resource)
    {
        var client = app.CreateHttpClient(resource, "http");
        client.Timeout = TimeSpan.FromSeconds(15);
        return client;
    }

    /// <summary>Trace ids (32 hex digits, as Loki stores them) of the worker's recent process_job spans.</summary>
    private static async Task<List<string>> ProcessJobTraceIdsAsync(HttpClient tempo, CancellationToken token)
    {
        var query = Uri.EscapeDataString("{ resource.service.name = \"worker\" && name = \"process_job\" }");
        using var json = await GetJsonAsync(tempo, $"/api/search?limit=20&q={query}", token);
        return json.RootElement.TryGetProperty("traces", out var traces)
            // Tempo's search answers trace ids without their leading zeros.
            ? traces.EnumerateArray().Select(t => t.GetProperty("traceID").GetString()!.PadLeft(32, '0')).ToList()
            : [];
    }

    private static async Task<JsonDocument> GetJsonAsync(HttpClient client, string path, CancellationToken token)
    {
        using var response = await client.GetAsync(path, token);
        var body = await response.Content.ReadAsStringAsync(token);
        if (!response.IsSuccessStatusCode)
        {
            throw new HttpRequestException($"GET {path} answered {(int)response.StatusCode}: {body}");
        }

        return JsonDocument.Parse(body);
    }

    /// <summary>Polls <paramref name="probe"/> till it finds something; fails naming <paramref name="what"/>.</summary>
    private static async Task<string> EventuallyAsync(
        string what, Func<CancellationToken, Task<string?>> probe, CancellationToken cancellationToken)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(SignalTimeout);
        string? lastProblem = null;
        while (!deadline.IsCancellationRequested)
        {
            try
            {
                if (await probe(deadline.Token) is { } found)
                {
                    return found;
                }
            }
            catch (Exception ex) when (ex is HttpRequestException or JsonException or KeyNotFoundException
                                           or InvalidOperationException or FormatException
                                       || (ex is OperationCanceledException && !deadline.IsCancellationRequested))
            {
                // A backend still warming up, or one slow answer (HttpClient's own timeout): try again.
                lastProblem = ex.Message;
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                break;
            }

            try
            {
                await Task.Delay(PollInterval, deadline.Token);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                break;
            }
        }

        throw new TimeoutException($"Within {SignalTimeout.TotalSeconds:0} s: {what} never held."
            + (lastProblem is null ? "" : $" Last problem: {lastProblem}"));
    }
}
