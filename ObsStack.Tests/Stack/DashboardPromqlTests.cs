using ObsStack.Tests.Api;
using ObsStack.Tests.Infrastructure;
using Xunit.Abstractions;

namespace ObsStack.Tests.Stack;

/// <summary>
/// Every PromQL in every dashboard, variables substituted as Grafana would, returns data from a real Prometheus
/// scraping the running worker and api and evaluating the shipped recording rules — the same names the OTLP path
/// produces, so what works here works there.
/// </summary>
public sealed class DashboardPromqlTests(DashboardPromqlTests.ScrapedStack stack, ITestOutputHelper output)
    : IClassFixture<DashboardPromqlTests.ScrapedStack>
{
    /// <summary>The api, the worker calling it, and a Prometheus scraping both with the shipped rule files loaded.</summary>
    public sealed class ScrapedStack : IAsyncLifetime
    {
        public ApiApp Api { get; private set; } = null!;

        public WorkerApp Worker { get; private set; } = null!;

        public PrometheusServer? Prometheus { get; private set; }

        public async Task InitializeAsync()
        {
            if (Tools.Find("prometheus") is null)
            {
                return; // Each test skips (or fails under CI) with the reason.
            }

            // Some errors on purpose, so that error-rate and failed-job panels have series to show.
            Api = new ApiApp(new Dictionary<string, string?> { ["Data:ErrorRate"] = "0.2" });
            Api.Start();
            Worker = new WorkerApp(new Dictionary<string, string?>
            {
                ["services:api:http:0"] = Api.Address.ToString(),
                ["LoadGenerator:Enabled"] = "true",
                ["LoadGenerator:RatePerSecond"] = "30",
            });
            Worker.Start();
            Prometheus = await PrometheusServer.StartAsync(
                new Dictionary<string, Uri> { ["worker"] = Worker.Address, ["api"] = Api.Address },
                PrometheusRules.RuleFiles(GrafanaFiles.FindRepoRoot()));
        }

        public async Task DisposeAsync()
        {
            if (Prometheus is not null)
            {
                await Prometheus.DisposeAsync();
                await Worker.DisposeAsync();
                await Api.DisposeAsync();
            }
        }
    }

    [SkippableFact]
    public async Task Every_dashboard_query_returns_data_from_a_real_Prometheus_scraping_worker_and_api()
    {
        PrometheusServer.SkipIfUnavailable();
        var prometheus = stack.Prometheus!;

        var queries = DashboardQueries.All(GrafanaFiles.FindRepoRoot()).ToList();
        Assert.True(queries.Count > 40, $"only {queries.Count} queries extracted");

        var required = queries.Where(q => q.Prerequisite == QueryPrerequisite.None).ToList();
        var missing = await WithoutDataAsync(prometheus, required.Select(q => (q.ToString(), q.Expr)), TimeSpan.FromSeconds(60));

        foreach (var query in queries.Where(q => q.Prerequisite != QueryPrerequisite.None))
        {
            output.WriteLine($"not checked here ({query.Prerequisite}): {query}");
        }

        output.WriteLine($"{required.Count - missing.Count} of {required.Count} scrape-backed queries returned data.");
        Assert.True(missing.Count == 0, "No data for:\n" + string.Join("\n", missing));
    }

    [SkippableFact]
    public async Task Every_recording_rule_has_output_and_every_rule_evaluates_without_error()
    {
        PrometheusServer.SkipIfUnavailable();
        var prometheus = stack.Prometheus!;
        var recording = PrometheusRules.All(GrafanaFiles.FindRepoRoot()).Where(r => r.Record is not null).ToList();

        // A rule recording one name for several static label sets (the quantiles) must produce each of them.
        var selectors = recording
            .Select(r => (r.ToString(), r.Record + "{" + string.Join(", ", r.Labels.Select(l => $"{l.Key}=\"{l.Value}\"")) + "}"))
            .ToList();
        var missing = await WithoutDataAsync(prometheus, selectors, TimeSpan.FromSeconds(60));

        output.WriteLine($"{selectors.Count - missing.Count} of {selectors.Count} recording rules have output.");
        Assert.True(missing.Count == 0, "No output from:\n" + string.Join("\n", missing));

        var unhealthy = (await prometheus.RulesAsync())
            .Where(rule => rule.GetProperty("health").GetString() != "ok")
            .Select(rule => $"{rule.GetProperty("name")}: {rule.GetProperty("health")} {(rule.TryGetProperty("lastError", out var error) ? error.ToString() : "")}")
            .ToList();
        Assert.True(unhealthy.Count == 0, string.Join('\n', unhealthy));
    }

    /// <summary>
    /// Polls each query until it returns data or the shared deadline passes (rates need two scrapes of a series that
    /// moved); returns the names of the ones that never did.
    /// </summary>
    private static async Task<List<string>> WithoutDataAsync(
        PrometheusServer prometheus, IEnumerable<(string Name, string Expr)> queries, TimeSpan timeout)
    {
        var missing = new List<string>();
        var deadline = DateTime.UtcNow + timeout;
        foreach (var (name, expr) in queries)
        {
            var found = false;
            while (!found)
            {
                found = (await prometheus.QueryAsync(expr)).Length > 0;
                if (found || DateTime.UtcNow > deadline)
                {
                    break;
                }

                await Task.Delay(250);
            }

            if (!found)
            {
                missing.Add(name);
            }
        }

        return missing;
    }
}
