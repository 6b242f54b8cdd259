using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.RegularExpressions;
using Aspire.Hosting;
using Aspire.Hosting.Testing;
using Microsoft.Playwright;
using ObsStack.Tests.AppHost;
using ObsStack.Tests.Infrastructure;
using static Microsoft.Playwright.Assertions;

namespace ObsStack.Tests.Dashboard;

/// <summary>
/// What a user looks at, in a real browser: the Aspire dashboard of the AppHost run (the collection's one run, no
/// containers), signed in with its login token. The resources list, a backend's reason for not running, one job's trace
/// across api and worker, its logs, the jobs metric, and the incident drill's buttons with their effect on
/// <c>jobs_total</c>. With <c>OBSSTACK_WRITE_IMAGES=1</c> the same run writes the README's screenshots to docs/images/.
/// </summary>
[Collection(AppHostRunCollection.Name)]
[Trait("Category", "AppHost")]
public sealed class DashboardBrowserTests(AppHostRunFixture fixture)
{
    private static readonly TimeSpan SignalTimeout = TimeSpan.FromSeconds(60);

    // Expectations retry until this passes: the dashboard's pages fill in as telemetry arrives.
    private static readonly LocatorAssertionsToBeVisibleOptions Visible = new() { Timeout = 60_000 };

    [SkippableFact]
    public async Task Resources_a_job_s_trace_its_logs_and_the_jobs_metric_are_on_the_dashboard()
    {
        DashboardBrowser.SkipUnlessChromiumIsInstalled();
        await using var dashboard = await DashboardBrowser.OpenAsync(fixture.App);
        var page = dashboard.Page;

        // The resources list: both services running, each backend saying it was not started and why.
        foreach (var service in new[] { "api", "worker" })
        {
            await Expect(dashboard.ResourceRow("Project", service).Locator("td[title='Running']")).ToBeVisibleAsync(Visible);
        }

        foreach (var backend in ContainerBackends.Names)
        {
            await Expect(dashboard.ResourceRow("Container", backend).Locator($"td[title='{ContainerBackends.OffState}']")).ToBeVisibleAsync(Visible);
        }

        await dashboard.ScreenshotAsync("dashboard-resources");

        // The reason and what to do, on the backend's own console log: no "Show all properties" needed.
        await dashboard.GoToAsync("/consolelogs/resource/prometheus");
        await Expect(page.GetByText("prometheus was not started: ObsStack:Containers is 'off'. Remove ObsStack:Containers=off", new() { Exact = false }))
            .ToBeVisibleAsync(Visible);
        await dashboard.ScreenshotAsync("dashboard-backend-reason");

        // One job through the api's public endpoint: its trace spans both services.
        var (jobId, traceId) = await JobWhoseTraceReachedTheDashboardAsync(dashboard);
        foreach (var span in new[] { "process_job", "load_data" })
        {
            await Expect(page.GetByText(span).First).ToBeVisibleAsync(Visible);
        }

        foreach (var service in new[] { "api", "worker" })
        {
            await Expect(page.GetByText(service, new() { Exact = true }).First).ToBeVisibleAsync(Visible);
        }

        await dashboard.ScreenshotAsync("dashboard-trace");

        // The same trace in the traces list.
        await dashboard.GoToAsync("/traces");
        // The traces list filters by name; the row shows the short trace id, as the detail page's header does.
        await page.GetByRole(AriaRole.Searchbox).First.FillAsync("POST /jobs");
        await Expect(page.GetByText(traceId[..7]).First).ToBeVisibleAsync(Visible);
        await dashboard.ScreenshotAsync("dashboard-traces");

        // The job's log lines carry that trace id.
        await dashboard.GoToAsync($"/structuredlogs?traceId={traceId}");
        await Expect(page.GetByText($"Job {jobId} success", new() { Exact = false }).First).ToBeVisibleAsync(Visible);
        await dashboard.ScreenshotAsync("dashboard-structured-logs");

        // The worker's jobs counter (jobs_total in Prometheus) on the metrics page.
        await dashboard.GoToAsync("/metrics/resource/worker?meter=ObsStack.Worker&instrument=jobs");
        await Expect(page.GetByText("ObsStack.Worker", new() { Exact = true }).First).ToBeVisibleAsync(Visible);
        await Expect(page.Locator("h3, h4, h2", new() { HasTextRegex = new Regex("^jobs$") }).First).ToBeVisibleAsync(Visible);
        // Data, not just a name: the chart is drawn and the status dimension has its values.
        await Expect(page.Locator(".js-plotly-plot").First).ToBeVisibleAsync(Visible);
        await Expect(page.GetByText("success", new() { Exact = true }).First).ToBeVisibleAsync(Visible);
        await dashboard.ScreenshotAsync("dashboard-metrics");
    }

    [SkippableFact]
    public async Task Inject_errors_makes_jobs_fail_and_Stop_chaos_ends_it()
    {
        DashboardBrowser.SkipUnlessChromiumIsInstalled();
        await using var dashboard = await DashboardBrowser.OpenAsync(fixture.App);
        var page = dashboard.Page;
        var api = dashboard.ResourceRow("Project", "api");
        await Expect(api.Locator("td[title='Running']")).ToBeVisibleAsync(Visible);

        try
        {
            var before = await JobCountsAsync();
            // The command's answer lands in the notification center: what is in force, and until when.
            await dashboard.RunCommandAndOpenNotificationsAsync(api.Locator("fluent-button[title^='Inject errors']"));
            await Expect(page.GetByText("Chaos on: 50% errors", new() { Exact = false }).First).ToBeVisibleAsync(Visible);
            await dashboard.ScreenshotAsync("dashboard-inject-errors");
            await page.Keyboard.PressAsync("Escape");

            // Half of the api's answers are 500 now: the worker's failed jobs climb with them.
            var during = await JobsAfterAsync(before, 40);
            Assert.True(during.FailedRatio >= 0.25,
                $"with 50% injected errors, {during.Failed} of {during.Total} jobs failed (jobs_total{{status=\"failed\"}} on the worker's /metrics)");
        }
        finally
        {
            await dashboard.RunCommandAndOpenNotificationsAsync(api.Locator("fluent-button[title^='Stop chaos']"));
        }

        await Expect(page.GetByText("Chaos off: GET /data/{id} runs normally.", new() { Exact = false }).First).ToBeVisibleAsync(Visible);
        using var client = fixture.App.CreateHttpClient("api", "http");
        Assert.False(JsonDocument.Parse(await client.GetStringAsync("/chaos")).RootElement.GetProperty("active").GetBoolean());

        // Back to the api's own simulated error rate (1%): the failures stop climbing.
        var stopped = await JobCountsAsync();
        var after = await JobsAfterAsync(stopped, 40);
        Assert.True(after.FailedRatio < 0.2, $"after Stop chaos, {after.Failed} of {after.Total} jobs failed");
    }

    /// <summary>
    /// A job whose trace the dashboard shows, up to three tries of 20 s: on a machine starved by the rest of the suite
    /// the dashboard has twice in CI not shown a job's trace within a minute, while the services' export queues are
    /// bounded and drop what a slow receiver cannot take. The last failure says whether the test's own receiver got it.
    /// </summary>
    private async Task<(Guid JobId, string TraceId)> JobWhoseTraceReachedTheDashboardAsync(DashboardBrowser dashboard)
    {
        for (var attempt = 1; ; attempt++)
        {
            var (jobId, traceId) = await SubmitJobAsync();
            try
            {
                await dashboard.GoToUntilVisibleAsync($"/traces/detail/{traceId}", p => p.GetByText("process_job").First, TimeSpan.FromSeconds(20));
                return (jobId, traceId);
            }
            catch (PlaywrightException) when (attempt < 3)
            {
                // Another job stands in.
            }
            catch (PlaywrightException ex)
            {
                var received = fixture.Receiver.Spans.Count(span => span.TraceId == traceId);
                throw new TimeoutException($"No job's trace reached the dashboard in {attempt} tries; the test's own OTLP receiver has {received} spans of the last one ({traceId}).", ex);
            }
        }
    }

    private async Task<(Guid JobId, string TraceId)> SubmitJobAsync()
    {
        using var api = fixture.App.CreateHttpClient("api", "http");
        var target = new Uri(fixture.App.GetEndpoint("api", "http"), "/data/11").ToString();
        using var accepted = await api.PostAsJsonAsync("/jobs", new { urls = new[] { target } });
        Assert.Equal(HttpStatusCode.Accepted, accepted.StatusCode);
        var id = JsonDocument.Parse(await accepted.Content.ReadAsStringAsync()).RootElement.GetProperty("jobs")[0].GetProperty("id").GetGuid();

        string? traceId = null;
        await Poll.UntilAsync(async () =>
        {
            var job = JsonDocument.Parse(await api.GetStringAsync($"/jobs/{id}")).RootElement;
            traceId = job.GetProperty("traceId").GetString();
            return job.GetProperty("state").GetString() == "Completed";
        }, $"job {id} to complete", SignalTimeout);
        return (id, traceId!);
    }

    private sealed record JobCounts(double Success, double Failed)
    {
        public double Total => Success + Failed;

        public double FailedRatio => Total == 0 ? 0 : Failed / Total;

        public static JobCounts operator -(JobCounts later, JobCounts earlier) =>
            new(later.Success - earlier.Success, later.Failed - earlier.Failed);
    }

    /// <summary>The jobs finished since <paramref name="since"/>, once there are at least <paramref name="jobs"/> of them.</summary>
    private async Task<JobCounts> JobsAfterAsync(JobCounts since, int jobs)
    {
        var delta = new JobCounts(0, 0);
        await Poll.UntilAsync(async () => (delta = await JobCountsAsync() - since).Total >= jobs,
            $"{jobs} more jobs finished on the worker (the load generator runs 5 per second)", SignalTimeout);
        return delta;
    }

    /// <summary>jobs_total{status="success"} and {status="failed"} from the worker's own /metrics.</summary>
    private async Task<JobCounts> JobCountsAsync()
    {
        using var worker = fixture.App.CreateHttpClient("worker", "http");
        var lines = (await worker.GetStringAsync("/metrics")).Split('\n');
        double Sum(string status) => lines
            .Where(l => l.StartsWith("jobs_total{", StringComparison.Ordinal) && l.Contains($"status=\"{status}\""))
            .Sum(l => double.Parse(l[(l.LastIndexOf(' ') + 1)..], CultureInfo.InvariantCulture));
        return new JobCounts(Sum("success"), Sum("failed"));
    }
}
