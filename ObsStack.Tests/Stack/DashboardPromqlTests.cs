using ObsStack.Tests.Api;
using ObsStack.Tests.Infrastructure;
using Xunit.Abstractions;

namespace ObsStack.Tests.Stack;

/// <summary>
/// Every PromQL in every dashboard, variables substituted as Grafana would, returns data from a real Prometheus
/// scraping the running worker and api — the same names the OTLP path produces, so what works here works there.
/// </summary>
public sealed class DashboardPromqlTests(ITestOutputHelper output)
{
    [SkippableFact]
    public async Task Every_dashboard_query_returns_data_from_a_real_Prometheus_scraping_worker_and_api()
    {
        PrometheusServer.SkipIfUnavailable();
        // Some errors on purpose, so that error-rate and failed-job panels have series to show.
        await using var api = new ApiApp(new Dictionary<string, string?> { ["Data:ErrorRate"] = "0.2" });
        api.Start();
        await using var worker = new WorkerApp(new Dictionary<string, string?>
        {
            ["services:api:http:0"] = api.Address.ToString(),
            ["LoadGenerator:Enabled"] = "true",
            ["LoadGenerator:RatePerSecond"] = "30",
        });
        worker.Start();
        await using var prometheus = await PrometheusServer.StartAsync(new Dictionary<string, Uri>
        {
            ["worker"] = worker.Address,
            ["api"] = api.Address,
        });

        var queries = DashboardQueries.All(GrafanaFiles.FindRepoRoot()).ToList();
        Assert.True(queries.Count > 40, $"only {queries.Count} queries extracted");

        var required = queries.Where(q => q.Prerequisite == QueryPrerequisite.None).ToList();
        var missing = new List<DashboardQuery>();
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        foreach (var query in required)
        {
            // Rates need two scrapes of a series that moved; poll each query until the shared deadline.
            var found = false;
            while (!found)
            {
                found = (await prometheus.QueryAsync(query.Expr)).Length > 0;
                if (found || DateTime.UtcNow > deadline)
                {
                    break;
                }

                await Task.Delay(250);
            }

            if (!found)
            {
                missing.Add(query);
            }
        }

        foreach (var query in queries.Where(q => q.Prerequisite != QueryPrerequisite.None))
        {
            output.WriteLine($"not checked here ({query.Prerequisite}): {query}");
        }

        output.WriteLine($"{required.Count - missing.Count} of {required.Count} scrape-backed queries returned data.");
        Assert.True(missing.Count == 0, "No data for:\n" + string.Join("\n", missing));
    }
}
