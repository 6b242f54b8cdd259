using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Net.Sockets;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using ObsStack.Tests.Infrastructure;

namespace ObsStack.Tests.Api;

/// <summary>
/// What a client of the job endpoints gets when the worker is missing, down, slow or failing: a problem+json with the
/// right 5xx, within the documented bound (Api:WorkerTimeout), never a hang or a bare 500.
/// </summary>
public sealed class WorkerFailureTests
{
    private static readonly object ValidJob = new { urls = new[] { "http://localhost/ok" } };

    [Fact]
    public async Task Unwired_worker_is_503_naming_the_configuration_key_to_set()
    {
        await using var api = new ApiApp().Start();
        using var client = api.Client();

        using var submit = await client.PostAsJsonAsync("/jobs", ValidJob);
        using var get = await client.GetAsync($"/jobs/{Guid.NewGuid()}");

        foreach (var response in new[] { submit, get })
        {
            var problem = await ApiTest.ProblemAsync(response, 503);
            Assert.Equal("Worker not configured", problem.GetProperty("title").GetString());
            Assert.Contains("services__worker__http__0", problem.GetProperty("detail").GetString());
        }
    }

    [Fact]
    public async Task Worker_down_is_503_at_once_well_within_the_worker_timeout()
    {
        var port = ApiTest.ClosedPort();
        await using var api = new ApiApp(new Dictionary<string, string?>
        {
            ["services:worker:http:0"] = $"http://127.0.0.1:{port}",
            ["Api:WorkerTimeout"] = "00:00:02",
        }).Start();
        using var client = api.Client();

        var stopwatch = Stopwatch.StartNew();
        using var response = await client.PostAsJsonAsync("/jobs", ValidJob);
        stopwatch.Stop();

        var problem = await ApiTest.ProblemAsync(response, 503);
        Assert.Equal("Worker unavailable", problem.GetProperty("title").GetString());
        Assert.Contains("ConnectionError", problem.GetProperty("detail").GetString());
        Assert.Contains($"127.0.0.1:{port}", problem.GetProperty("detail").GetString());
        Assert.True(stopwatch.Elapsed < TimeSpan.FromSeconds(2), $"took {stopwatch.Elapsed}");
        Assert.Contains(api.Logs.Logs, l => l.Level == LogLevel.Warning && l.Message.StartsWith("Worker unreachable", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Worker_that_never_answers_is_504_after_the_worker_timeout_not_a_hang()
    {
        // Accepts connections (the kernel completes them into the backlog) and never says a word.
        using var silent = new TcpListener(IPAddress.Loopback, 0);
        silent.Start();
        await using var api = new ApiApp(new Dictionary<string, string?>
        {
            ["services:worker:http:0"] = $"http://{silent.LocalEndpoint}",
            ["Api:WorkerTimeout"] = "00:00:00.500",
        }).Start();
        using var client = api.Client();

        var stopwatch = Stopwatch.StartNew();
        using var response = await client.GetAsync($"/jobs/{Guid.NewGuid()}");
        stopwatch.Stop();

        var problem = await ApiTest.ProblemAsync(response, 504);
        Assert.Equal("Worker timeout", problem.GetProperty("title").GetString());
        Assert.Contains("within 0.5 s (Api:WorkerTimeout)", problem.GetProperty("detail").GetString());
        Assert.InRange(stopwatch.Elapsed, TimeSpan.FromSeconds(0.5), TimeSpan.FromSeconds(3));
    }

    [Fact]
    public async Task Worker_5xx_is_502_but_its_503_with_retry_after_passes_through()
    {
        await using var fake = await FakeWorker.StartAsync();
        await using var api = new ApiApp(new Dictionary<string, string?> { ["services:worker:http:0"] = fake.BaseAddress.ToString() }).Start();
        using var client = api.Client();

        using var failed = await client.PostAsJsonAsync("/jobs", ValidJob);
        using var shuttingDown = await client.GetAsync($"/jobs/{Guid.NewGuid()}");

        var problem = await ApiTest.ProblemAsync(failed, 502);
        Assert.Equal("Worker failed", problem.GetProperty("title").GetString());
        Assert.Contains("HTTP 500", problem.GetProperty("detail").GetString());
        var passed = await ApiTest.ProblemAsync(shuttingDown, 503);
        Assert.Equal("Shutting down", passed.GetProperty("title").GetString());
        Assert.Equal(TimeSpan.FromSeconds(5), shuttingDown.Headers.RetryAfter?.Delta);
    }

    [Fact]
    public async Task Request_past_the_request_timeout_is_canceled_and_answered_504()
    {
        // /data/{id} itself takes 30 s (chaos latency is capped below the deadline, so it cannot be the slow part).
        await using var api = new ApiApp(new Dictionary<string, string?>
        {
            ["Api:RequestTimeout"] = "00:00:01",
            ["Api:WorkerTimeout"] = "00:00:00.500",
            ["Data:MinLatencyMs"] = "30000",
            ["Data:MaxLatencyMs"] = "30000",
        }).Start();
        using var client = api.Client();

        var stopwatch = Stopwatch.StartNew();
        using var response = await client.GetAsync("/data/1");
        stopwatch.Stop();

        await ApiTest.ProblemAsync(response, 504);
        Assert.InRange(stopwatch.Elapsed, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(5));
    }

    [Fact]
    public async Task Chaos_can_be_switched_off_for_an_instance_and_then_refuses_to_inject()
    {
        await using var api = new ApiApp(new Dictionary<string, string?> { ["Api:ChaosEnabled"] = "false" }).Start();
        using var client = api.ChaosClient();

        using var response = await client.PutAsJsonAsync("/chaos", new { errorRate = 1.0 });

        var problem = await ApiTest.ProblemAsync(response, 403);
        Assert.Contains("Api:ChaosEnabled=false", problem.GetProperty("detail").GetString());
        using var data = await client.GetAsync("/data/1");
        Assert.Equal(HttpStatusCode.OK, data.StatusCode);
    }

    [Fact]
    public void A_worker_timeout_not_below_the_request_timeout_fails_the_start_naming_both_keys()
    {
        using var api = new ApiApp(new Dictionary<string, string?>
        {
            ["Api:RequestTimeout"] = "00:00:05",
            ["Api:WorkerTimeout"] = "00:00:05",
        });

        var error = Assert.ThrowsAny<Exception>(() => api.Start());

        Assert.Contains("Api:WorkerTimeout must be shorter than Api:RequestTimeout", error.ToString());
    }

    /// <summary>A worker that fails: POST /jobs answers 500, GET /jobs/{id} answers 503 "Shutting down" with Retry-After.</summary>
    private static class FakeWorker
    {
        public static Task<LoopbackServer> StartAsync() => LoopbackServer.StartAsync(app =>
        {
            app.MapPost("/jobs", () => Results.StatusCode(StatusCodes.Status500InternalServerError));
            app.MapGet("/jobs/{id}", (HttpResponse response) =>
            {
                response.Headers.RetryAfter = "5";
                return Results.Problem("The worker is shutting down.", statusCode: StatusCodes.Status503ServiceUnavailable, title: "Shutting down");
            });
        });
    }
}
