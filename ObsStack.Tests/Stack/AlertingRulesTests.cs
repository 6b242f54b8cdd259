using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using ObsStack.Tests.Api;
using ObsStack.Tests.Infrastructure;
using Xunit.Abstractions;

namespace ObsStack.Tests.Stack;

/// <summary>
/// The shipped alerting rules on a real Prometheus scraping the running worker and api: quiet while all is well; the
/// api's chaos knob makes the matching alerts go pending, then fire, and they resolve once the knob is reset; the api
/// stopping fires ServiceDown.
/// The rules run time-compressed — every range selector and <c>for</c> divided by <see cref="TimeCompression"/>
/// (<c>[5m]</c> → <c>[15s]</c>, <c>for: 5m</c> → <c>15s</c>), thresholds unchanged — so the incident takes seconds, not
/// minutes; the shipped text itself is what promtool checks and unit-tests (<see cref="PromtoolRulesTests"/>).
/// </summary>
public sealed class AlertingRulesTests(ITestOutputHelper output) : IAsyncLifetime
{
    private const int TimeCompression = 20;

    /// <summary>Ten evaluations (1 s each) without any alert even pending: nothing is about to fire.</summary>
    private static readonly TimeSpan QuietWindow = TimeSpan.FromSeconds(10);

    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(45);

    /// <summary>What errorRate 1 on the api must fire: the api's 5xx ratio, and the worker's failures and SLO burn.</summary>
    private static readonly (string Alert, string Job)[] ChaosAlerts =
    [
        ("HttpServerErrorRatioHigh", "api"),
        ("JobFailureRatioHigh", "worker"),
        ("JobErrorBudgetBurnFast", "worker"),
    ];

    /// <summary>
    /// Those that must resolve after the reset. The page-level burn alert stays: its 6h/30m pair (90 s here) still
    /// holds the outage's failures, as it should — the budget was spent.
    /// </summary>
    private static readonly (string Alert, string Job)[] ResolvingAlerts =
    [
        ("HttpServerErrorRatioHigh", "api"),
        ("JobFailureRatioHigh", "worker"),
    ];

    private readonly string _rules = Directory.CreateTempSubdirectory("obsstack-rules-").FullName;

    public Task InitializeAsync() => Task.CompletedTask;

    public Task DisposeAsync()
    {
        Directory.Delete(_rules, recursive: true);
        return Task.CompletedTask;
    }

    [SkippableFact]
    public async Task Without_chaos_nothing_fires_api_error_chaos_fires_the_error_alerts_until_reset_and_a_stopped_api_fires_ServiceDown()
    {
        PrometheusServer.SkipIfUnavailable();
        var root = GrafanaFiles.FindRepoRoot();
        var rules = PrometheusRules.RuleFiles(root).Select(f => PrometheusRules.WriteTimeCompressedCopy(f, TimeCompression, _rules)).ToList();
        await using var api = new ApiApp();
        api.Start();
        await using var worker = new WorkerApp(new Dictionary<string, string?>
        {
            ["services:api:http:0"] = api.Address.ToString(),
            ["LoadGenerator:Enabled"] = "true",
            ["LoadGenerator:RatePerSecond"] = "20",
        });
        worker.Start();
        await using var prometheus = await PrometheusServer.StartAsync(
            new Dictionary<string, Uri> { ["worker"] = worker.Address, ["api"] = api.Address }, rules);
        using var apiClient = api.ChaosClient();
        await WarmUpAsync(prometheus);

        // 1. No chaos: not one alert pending or firing, at any evaluation of the quiet window.
        await AssertQuietAsync(prometheus, QuietWindow);

        // 2. Every job fetch from the api fails: the matching alerts go pending, then fire.
        using (var set = await apiClient.PutAsJsonAsync("/chaos", new { errorRate = 1.0, durationSeconds = 120 }))
        {
            Assert.Equal(HttpStatusCode.OK, set.StatusCode);
        }

        var (pendingAt, firingAt, alerts) = await WaitUntilFiringAsync(prometheus, ChaosAlerts);
        // Nothing unrelated fires (no one is down, slow or saturated); the slow budget burn may be pending.
        var expected = ChaosAlerts.Select(a => a.Alert).Append("JobErrorBudgetBurnSlow").ToHashSet();
        Assert.True(alerts.All(a => expected.Contains(Label(a, "alertname"))), "Unexpected alert(s): " + Describe(alerts));
        var apiAlert = alerts.Single(a => Label(a, "alertname") == "HttpServerErrorRatioHigh");
        Assert.Equal("page", Label(apiAlert, "severity"));
        Assert.Contains("api: 100% of requests answered 5xx", apiAlert.GetProperty("annotations").GetProperty("summary").GetString());
        Assert.Contains("/d/obsstack-api", apiAlert.GetProperty("annotations").GetProperty("description").GetString());
        await AssertAlertViewsShowDataAsync(prometheus, root);

        // 3. Reset: the error alerts resolve.
        using (var reset = await apiClient.DeleteAsync("/chaos"))
        {
            Assert.Equal(HttpStatusCode.OK, reset.StatusCode);
        }

        var resolvedAt = await WaitUntilResolvedAsync(prometheus, ResolvingAlerts);

        // 4. The api stops: its series stop arriving and ServiceDown fires for it (scrape path here; the OTLP path,
        // where a series just ends without staleness markers, is in grafana/prometheus/tests/alerts.test.yaml).
        await api.StopAsync();
        var (downPending, downFiring, _) = await WaitUntilFiringAsync(prometheus, [("ServiceDown", "api")]);

        Report(ChaosAlerts, "the knob", pendingAt, firingAt, resolvedAt);
        Report([("ServiceDown", "api")], "the api stopped", downPending, downFiring, []);
    }

    private void Report(
        (string Alert, string Job)[] keys, string after, Dictionary<(string, string), TimeSpan> pendingAt,
        Dictionary<(string, string), TimeSpan> firingAt, Dictionary<(string, string), TimeSpan> resolvedAt)
    {
        var shipped = PrometheusRules.All(GrafanaFiles.FindRepoRoot());
        foreach (var key in keys)
        {
            var rule = shipped.First(r => r.Alert == key.Alert);
            output.WriteLine(
                $"{key.Alert}{{job=\"{key.Job}\"}} (for {rule.For}, here {PrometheusRules.Compress(rule.For!, TimeCompression)}): " +
                $"pending {Seconds(pendingAt[key])}, firing {Seconds(firingAt[key])} after {after}" +
                (resolvedAt.TryGetValue(key, out var resolved) ? $"; resolved {Seconds(resolved)} after the reset" : ""));
        }
    }

    /// <summary>
    /// Waits until the series the alerts read have two scrapes' worth of data and the evaluations since have cleared
    /// what a Prometheus without any history sees at its first evaluations (ServiceDown before the first scrape,
    /// NoJobThroughput before the second: no rate yet). A Prometheus with history never starts that way.
    /// </summary>
    private static async Task WarmUpAsync(PrometheusServer prometheus)
    {
        foreach (var input in new[] { "job:jobs_failed:ratio_rate1h{job=\"worker\"}", "job:http_server_requests_5xx:ratio_rate5m{job=\"api\"}" })
        {
            await prometheus.WaitForDataAsync(input, TimeSpan.FromSeconds(30));
        }

        await Poll.UntilAsync(async () => (await prometheus.AlertsAsync()).Length == 0, "no alert after the first evaluations", TimeSpan.FromSeconds(15));
    }

    /// <summary>No alert at any poll of the window, nor in <c>ALERTS</c> (every evaluation) over it.</summary>
    private static async Task AssertQuietAsync(PrometheusServer prometheus, TimeSpan window)
    {
        var quiet = Stopwatch.StartNew();
        while (quiet.Elapsed < window)
        {
            var active = await prometheus.AlertsAsync();
            Assert.True(active.Length == 0, "Alert(s) without chaos: " + Describe(active));
            await Task.Delay(250);
        }

        var seconds = ((int)quiet.Elapsed.TotalSeconds).ToString(CultureInfo.InvariantCulture);
        var anyAlert = await prometheus.QueryAsync($"ALERTS[{seconds}s]");
        Assert.True(anyAlert.Length == 0, $"ALERTS had samples in the last {seconds} s without chaos: {Describe(anyAlert)}");
    }

    /// <summary>Polls until every alert named is firing; returns when each was first seen pending and firing.</summary>
    private static async Task<(Dictionary<(string, string), TimeSpan> Pending, Dictionary<(string, string), TimeSpan> Firing, JsonElement[] Alerts)>
        WaitUntilFiringAsync(PrometheusServer prometheus, (string Alert, string Job)[] expected)
    {
        var clock = Stopwatch.StartNew();
        var pendingAt = new Dictionary<(string, string), TimeSpan>();
        var firingAt = new Dictionary<(string, string), TimeSpan>();
        JsonElement[] alerts = [];
        await Poll.UntilAsync(async () =>
        {
            alerts = await prometheus.AlertsAsync();
            foreach (var alert in alerts)
            {
                var key = (Label(alert, "alertname"), Label(alert, "job"));
                pendingAt.TryAdd(key, clock.Elapsed); // Firing already implies it was pending.
                if (alert.GetProperty("state").GetString() == "firing")
                {
                    firingAt.TryAdd(key, clock.Elapsed);
                }
            }

            return expected.All(firingAt.ContainsKey);
        }, "firing: " + string.Join(", ", expected), Deadline);
        return (pendingAt, firingAt, alerts);
    }

    /// <summary>Polls until none of the alerts named is active; returns when each was first seen gone.</summary>
    private static async Task<Dictionary<(string, string), TimeSpan>> WaitUntilResolvedAsync(
        PrometheusServer prometheus, (string Alert, string Job)[] expected)
    {
        var clock = Stopwatch.StartNew();
        var resolvedAt = new Dictionary<(string, string), TimeSpan>();
        await Poll.UntilAsync(async () =>
        {
            var alerts = await prometheus.AlertsAsync();
            foreach (var key in expected.Where(k => !alerts.Any(a => (Label(a, "alertname"), Label(a, "job")) == k)))
            {
                resolvedAt.TryAdd(key, clock.Elapsed);
            }

            return expected.All(resolvedAt.ContainsKey);
        }, "resolved: " + string.Join(", ", expected), Deadline);
        return resolvedAt;
    }

    /// <summary>The dashboards' alert views (the state panel, the annotations) have data while alerts fire.</summary>
    private static async Task AssertAlertViewsShowDataAsync(PrometheusServer prometheus, string root)
    {
        var alertQueries = DashboardQueries.All(root).Where(q => q.Prerequisite == QueryPrerequisite.FiringAlert).ToList();
        Assert.NotEmpty(alertQueries);
        foreach (var query in alertQueries)
        {
            Assert.True((await prometheus.QueryAsync(query.Expr)).Length > 0, $"No data while alerts fire: {query}");
        }
    }

    private static string Label(JsonElement alertOrSample, string name)
    {
        var labels = alertOrSample.TryGetProperty("labels", out var l) ? l : alertOrSample.GetProperty("metric");
        return labels.TryGetProperty(name, out var value) ? value.GetString()! : "";
    }

    private static string Describe(IEnumerable<JsonElement> alerts) =>
        string.Join("; ", alerts.Select(a => $"{Label(a, "alertname")}{{job=\"{Label(a, "job")}\"}} {(a.TryGetProperty("state", out var s) ? s.GetString() : Label(a, "alertstate"))}"));

    private static string Seconds(TimeSpan time) => time.TotalSeconds.ToString("0.0 s", CultureInfo.InvariantCulture);
}
