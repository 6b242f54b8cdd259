using System.Net.Http.Json;
using System.Text.Json;
using ObsStack.Tests.Infrastructure;

namespace ObsStack.Tests.Worker;

/// <summary>The worker's HTTP API as tests use it.</summary>
public static class WorkerClient
{
    public static async Task<Guid[]> SubmitAsync(this HttpClient client, params string[] urls)
    {
        using var response = await client.PostAsJsonAsync("/jobs", new { urls });
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == System.Net.HttpStatusCode.Accepted, $"POST /jobs: {(int)response.StatusCode} {body}");
        using var json = JsonDocument.Parse(body);
        return [.. json.RootElement.GetProperty("jobs").EnumerateArray().Select(j => j.GetProperty("id").GetGuid())];
    }

    public static async Task<JsonElement> GetJobAsync(this HttpClient client, Guid id)
    {
        var body = await client.GetStringAsync($"/jobs/{id}");
        using var json = JsonDocument.Parse(body);
        return json.RootElement.Clone();
    }

    public static async Task<JsonElement[]> WaitCompletedAsync(this HttpClient client, IReadOnlyList<Guid> ids, TimeSpan? timeout = null)
    {
        var results = new JsonElement[ids.Count];
        await Poll.UntilAsync(async () =>
        {
            for (var i = 0; i < ids.Count; i++)
            {
                results[i] = await client.GetJobAsync(ids[i]);
                if (results[i].GetProperty("state").GetString() != "Completed")
                {
                    return false;
                }
            }

            return true;
        }, $"{ids.Count} jobs completed", timeout ?? TimeSpan.FromSeconds(20));
        return results;
    }

    public static string Status(this JsonElement job) => job.GetProperty("result").GetProperty("status").GetString()!;

    public static async Task<string> MetricsAsync(this HttpClient client) => await client.GetStringAsync("/metrics");

    /// <summary>The value of one exposition line, e.g. <c>jobs_total{status="success"}</c>; null when absent.</summary>
    public static double? Sample(string exposition, string series)
    {
        foreach (var line in exposition.Split('\n'))
        {
            if (line.StartsWith(series + " ", StringComparison.Ordinal))
            {
                return double.Parse(line[(series.Length + 1)..], System.Globalization.CultureInfo.InvariantCulture);
            }
        }

        return null;
    }
}
