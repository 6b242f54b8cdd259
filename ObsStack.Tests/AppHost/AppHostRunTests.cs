using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Aspire.Hosting;
using Aspire.Hosting.ApplicationModel;
using Aspire.Hosting.Testing;
using Microsoft.Extensions.DependencyInjection;
using ObsStack.Tests.Infrastructure;

namespace ObsStack.Tests.AppHost;

/// <summary>
/// What a developer gets from F5 on a machine without a container runtime: worker and api healthy under DCP, a job
/// through the api's public endpoint, and every signal of both services at the OTLP destinations, one trace across both.
/// </summary>
[Collection(AppHostRunCollection.Name)]
[Trait("Category", "AppHost")]
public sealed class AppHostRunTests(AppHostRunFixture fixture)
{
    private static readonly TimeSpan SignalTimeout = TimeSpan.FromSeconds(60);

    [Fact]
    public void Without_redis_the_console_says_once_that_one_worker_runs_the_embedded_pool_and_how_to_get_replicas()
    {
        var said = fixture.AppHostLog.Logs.Where(l => l.Category == "ObsStack.AppHost" && l.Message.StartsWith("No Redis:", StringComparison.Ordinal)).ToList();

        var line = Assert.Single(said).Message;
        Assert.Contains("ConnectionStrings:redis", line);
        Assert.Contains("docs/scaling.md", line);
    }

    [Fact]
    public async Task A_job_submitted_through_the_api_completes_and_is_one_trace_across_api_and_worker()
    {
        using var api = fixture.App.CreateHttpClient("api", "http");
        var target = new Uri(fixture.App.GetEndpoint("api", "http"), "/data/7").ToString();

        using var accepted = await api.PostAsJsonAsync("/jobs", new { urls = new[] { target } });
        var body = await accepted.Content.ReadAsStringAsync();
        Assert.True(accepted.StatusCode == HttpStatusCode.Accepted, $"POST /jobs through the api: {(int)accepted.StatusCode} {body}");
        var id = JsonDocument.Parse(body).RootElement.GetProperty("jobs")[0].GetProperty("id").GetGuid();

        JsonElement job = default;
        await Poll.UntilAsync(async () =>
        {
            job = JsonDocument.Parse(await api.GetStringAsync($"/jobs/{id}")).RootElement.Clone();
            return job.GetProperty("state").GetString() == "Completed";
        }, $"job {id} to complete", SignalTimeout);
        Assert.Equal("success", job.GetProperty("result").GetProperty("status").GetString());
        var traceId = job.GetProperty("traceId").GetString()!;

        // api POST /jobs → worker POST /jobs → process_job → GET → api GET /data/{id} → load_data, each span
        // exported by the service that made it.
        var receiver = fixture.Receiver;
        await receiver.WaitForAsync(r =>
        {
            var spans = r.Spans.Where(s => s.TraceId == traceId).ToList();
            return spans.Any(s => s.Service == "api" && s.Name == "POST /jobs")
                && spans.Any(s => s.Service == "worker" && s.Name == "POST /jobs")
                && spans.Any(s => s.Service == "worker" && s.Name == "process_job" && s.Attribute("job.id") == id.ToString())
                && spans.Any(s => s.Service == "api" && s.Name == "GET /data/{id}")
                && spans.Any(s => s.Service == "api" && s.Name == "load_data");
        }, $"trace {traceId}: api POST /jobs → worker POST /jobs → process_job → api GET /data/{{id}} → load_data", SignalTimeout);

        // The job's own log line, in the worker's logs, carries the trace id.
        await receiver.WaitForAsync(
            r => r.Logs.Any(l => l.Service == "worker" && l.TraceId == traceId && l.Body.Contains(id.ToString())),
            $"the worker's log line of job {id} with trace id {traceId}", SignalTimeout);
    }

    [Fact]
    public async Task The_api_s_chaos_knobs_need_the_key_the_AppHost_gives_it()
    {
        using var api = fixture.App.CreateHttpClient("api", "http");

        using var stranger = await api.PutAsJsonAsync("/chaos", new { latencyMs = 1, durationSeconds = 1 });
        Assert.Equal(HttpStatusCode.Forbidden, stranger.StatusCode);

        using var drill = new HttpRequestMessage(HttpMethod.Put, "/chaos") { Content = JsonContent.Create(new { latencyMs = 1, durationSeconds = 1 }) };
        drill.Headers.Add("X-Chaos-Key", AppHostRunFixture.ChaosKey);
        using var set = await api.SendAsync(drill);
        Assert.Equal(HttpStatusCode.OK, set.StatusCode);
    }

    [Fact]
    public async Task The_drill_commands_turn_the_api_s_knobs_with_the_key_and_say_what_is_in_force()
    {
        var commands = fixture.App.Services.GetRequiredService<ResourceCommandService>();
        using var api = fixture.App.CreateHttpClient("api", "http");
        try
        {
            var injected = await commands.ExecuteCommandAsync("api", IncidentDrillCommands.InjectErrorsCommand);
            Assert.True(injected.Success, injected.Message);
            Assert.Matches(@"^Chaos on: 50% errors on GET /data/\{id\} until \d\d:\d\d:\d\d UTC\.$", injected.Message);
            var chaos = JsonDocument.Parse(await api.GetStringAsync("/chaos")).RootElement;
            Assert.True(chaos.GetProperty("active").GetBoolean());
            Assert.Equal(IncidentDrillCommands.InjectedErrorRate, chaos.GetProperty("errorRate").GetDouble());

            var slowed = await commands.ExecuteCommandAsync("api", IncidentDrillCommands.InjectLatencyCommand);
            Assert.True(slowed.Success, slowed.Message);
            Assert.StartsWith($"Chaos on: +{IncidentDrillCommands.InjectedLatencyMs} ms latency on GET /data/{{id}} until ", slowed.Message);

            var burst = await commands.ExecuteCommandAsync("worker", IncidentDrillCommands.JobBurstCommand);
            Assert.True(burst.Success, burst.Message);
        }
        finally
        {
            var stopped = await commands.ExecuteCommandAsync("api", IncidentDrillCommands.StopChaosCommand);
            Assert.True(stopped.Success, stopped.Message);
            Assert.Equal("Chaos off: GET /data/{id} runs normally.", stopped.Message);
        }

        Assert.False(JsonDocument.Parse(await api.GetStringAsync("/chaos")).RootElement.GetProperty("active").GetBoolean());
    }

    [Theory]
    [InlineData("worker")]
    [InlineData("api")]
    public async Task Service_sends_traces_logs_and_metrics_under_its_resource_name(string service)
    {
        var receiver = fixture.Receiver;

        await receiver.WaitForAsync(r => r.Spans.Any(s => s.Service == service), $"spans from {service}", SignalTimeout);
        await receiver.WaitForAsync(r => r.Logs.Any(l => l.Service == service), $"log records from {service}", SignalTimeout);
        await receiver.WaitForAsync(
            r => r.ResourceMetrics.Any(m => Otel.ServiceName(m.Resource) == service
                && m.ScopeMetrics.SelectMany(s => s.Metrics).Any(x => x.Name == "http.server.request.duration")),
            $"http.server.request.duration from {service}", SignalTimeout);
    }

    [Fact]
    public async Task Worker_job_metrics_arrive_over_otlp()
    {
        await fixture.Receiver.WaitForAsync(
            r => r.ResourceMetrics.Any(m => Otel.ServiceName(m.Resource) == "worker"
                && m.ScopeMetrics.SelectMany(s => s.Metrics).Select(x => x.Name).Intersect(["jobs", "job.duration"]).Count() == 2),
            "the worker's jobs counter and job.duration histogram", SignalTimeout);
    }

    [Theory]
    [InlineData("prometheus")]
    [InlineData("loki")]
    [InlineData("tempo")]
    [InlineData("pyroscope")]
    [InlineData("grafana")]
    public void Backend_that_was_not_started_says_why_in_the_dashboard(string backend)
    {
        Assert.True(fixture.App.ResourceNotifications.TryGetCurrentState(backend, out var current),
            $"{backend} is not in the resource list.");

        var snapshot = current!.Snapshot;
        Assert.Equal(ContainerBackends.OffState, snapshot.State?.Text);
        Assert.Equal(KnownResourceStateStyles.Warn, snapshot.State?.Style);
        Assert.Contains(snapshot.Properties, p => p.Name == "Why" && $"{p.Value}".Contains("ObsStack:Containers"));
    }
}
