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
        var shipped = PrometheusRules.All(root);
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
        using var apiClient = api.Client();

        // Warm-up: the series the alerts read have two scrapes' worth of data.
        foreach (var input in new[] { "job:jobs_failed:ratio_rate1h{job=\"worker\"}", "job:http_server_requests_5xx:ratio_rate5m{job=\"api\"}" })
        {
            await prometheus.WaitForDataAsync(input, TimeSpan.FromSeconds(30));
        }

        // 1. No chaos: not one alert pending or firing, at any evaluation of the quiet window.
        var quiet = Stopwatch.StartNew();
        while (quiet.Elapsed < QuietWindow)
        {
            var active = await prometheus.AlertsAsync();
            Assert.True(active.Length == 0, "Alert(s) without chaos: " + Describe(active));
            await Task.Delay(250);
        }

        var seconds = ((int)quiet.Elapsed.TotalSeconds).ToString(CultureInfo.InvariantCulture);
        var anyAlert = await prometheus.QueryAsync($"ALERTS[{seconds}s]");
        Assert.True(anyAlert.Length == 0, $"ALERTS had samples in the last {seconds} s without chaos: {Describe(anyAlert)}");

        // 2. Every job fetch from the api fails: the matching alerts go pending, then fire.
        using (var set = await apiClient.PutAsJsonAsync("/chaos", new { errorRate = 1.0, durationSeconds = 120 }))
        {
            Assert.Equal(HttpStatusCode.OK, set.StatusCode);
        }

        var chaos = Stopwatch.StartNew();
        var pendingAt = new Dictionary<(string, string), TimeSpan>();
        var firingAt = new Dictionary<(string, string), TimeSpan>();
        JsonElement[] alerts = [];
        await Poll.UntilAsync(async () =>
        {
            alerts = await prometheus.AlertsAsync();
            foreach (var alert in alerts)
            {
                var key = (Label(alert, "alertname"), Label(alert, "job"));
                var state = alert.GetProperty("state").GetString();
                pendingAt.TryAdd(key, chaos.Elapsed); // Firing already implies it was pending.
                if (state == "firing")
                {
                    firingAt.TryAdd(key, chaos.Elapsed);
                }
            }

            return ChaosAlerts.All(firingAt.ContainsKey);
        }, "the chaos alerts firing: " + string.Join(", ", ChaosAlerts), Deadline);

        // Nothing unrelated fires (no one is down, slow or saturated); the slow budget burn may be pending.
        var expected = ChaosAlerts.Select(a => a.Alert).Append("JobErrorBudgetBurnSlow").ToHashSet();
        Assert.True(alerts.All(a => expected.Contains(Label(a, "alertname"))), "Unexpected alert(s): " + Describe(alerts));
        var apiAlert = alerts.Single(a => Label(a, "alertname") == "HttpServerErrorRatioHigh");
        Assert.Equal("page", Label(apiAlert, "severity"));
        Assert.Contains("api: 100% of requests answered 5xx", apiAlert.GetProperty("annotations").GetProperty("summary").GetString());
        Assert.Contains("/d/obsstack-api", apiAlert.GetProperty("annotations").GetProperty("description").GetString());

        // The alert views of the dashboards (state panels, annotations) show them.
        var alertQueries = DashboardQueries.All(root).Where(q => q.Prerequisite == QueryPrerequisite.FiringAlert).ToList();
        Assert.NotEmpty(alertQueries);
        foreach (var query in alertQueries)
        {
            Assert.True((await prometheus.QueryAsync(query.Expr)).Length > 0, $"No data while alerts fire: {query}");
        }

        // 3. Reset: the error alerts resolve.
        using (var reset = await apiClient.DeleteAsync("/chaos"))
        {
            Assert.Equal(HttpStatusCode.OK, reset.StatusCode);
        }

        var recovery = Stopwatch.StartNew();
        var resolvedAt = new Dictionary<(string, string), TimeSpan>();
        await Poll.UntilAsync(async () =>
        {
            alerts = await prometheus.AlertsAsync();
            foreach (var key in ResolvingAlerts.Where(k => !alerts.Any(a => (Label(a, "alertname"), Label(a, "job")) == k)))
            {
                resolvedAt.TryAdd(key, recovery.Elapsed);
            }

            return ResolvingAlerts.All(resolvedAt.ContainsKey);
        }, "the error alerts resolved: " + string.Join(", ", ResolvingAlerts), Deadline);

        // 4. The api stops: its series stop arriving and ServiceDown fires for it (scrape path here; the OTLP path,
        // where a series just ends without staleness markers, is in grafana/prometheus/tests/alerts.test.yaml).
        await api.StopAsync();
        var stopped = Stopwatch.StartNew();
        TimeSpan? downPending = null;
        await Poll.UntilAsync(async () =>
        {
            var down = (await prometheus.AlertsAsync()).FirstOrDefault(a => Label(a, "alertname") == "ServiceDown");
            if (down.ValueKind == JsonValueKind.Undefined)
            {
                return false;
            }

            Assert.Equal("api", Label(down, "job"));
            downPending ??= stopped.Elapsed;
            return down.GetProperty("state").GetString() == "firing";
        }, "ServiceDown{job=\"api\"} firing", Deadline);
        var downFiring = stopped.Elapsed;

        foreach (var key in ChaosAlerts)
        {
            var rule = shipped.First(r => r.Alert == key.Alert);
            output.WriteLine(
                $"{key.Alert}{{job=\"{key.Job}\"}} (for {rule.For}, here {PrometheusRules.Compress(rule.For!, TimeCompression)}): " +
                $"pending {Seconds(pendingAt[key])}, firing {Seconds(firingAt[key])} after the knob; " +
                (resolvedAt.TryGetValue(key, out var resolved) ? $"resolved {Seconds(resolved)} after the reset" : "still firing at the end (by design)"));
        }

        var serviceDown = shipped.First(r => r.Alert == "ServiceDown");
        output.WriteLine($"ServiceDown{{job=\"api\"}} (for {serviceDown.For}, here {PrometheusRules.Compress(serviceDown.For!, TimeCompression)}): " +
            $"pending {Seconds(downPending!.Value)}, firing {Seconds(downFiring)} after the api stopped");
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
