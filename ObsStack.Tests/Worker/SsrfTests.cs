using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using ObsStack.Tests.Api;
using ObsStack.Tests.Infrastructure;
using ObsStack.Worker.Jobs;

namespace ObsStack.Tests.Worker;

/// <summary>
/// The worker as a port scanner, tried through its public intake: only what it is wired to (host and port), its own
/// demo target and its configured entries pass; every other loopback port is refused like any other host, and the
/// refusal names the key to change without listing what is allowed.
/// </summary>
public sealed class SsrfTests : IAsyncLifetime
{
    private TargetServer _wired = null!;
    private TargetServer _unlisted = null!;

    public async Task InitializeAsync()
    {
        _wired = await TargetServer.StartAsync();
        _unlisted = await TargetServer.StartAsync();
    }

    public async Task DisposeAsync()
    {
        await _wired.DisposeAsync();
        await _unlisted.DisposeAsync();
    }

    [Fact]
    public async Task Every_loopback_port_but_the_wired_one_and_the_own_demo_target_is_refused_and_nothing_is_fetched()
    {
        await using var worker = new WorkerApp(new Dictionary<string, string?> { ["services:api:http:0"] = _wired.BaseAddress.ToString() }).Start();
        using var client = worker.Client();
        var own = worker.Address.Port;
        int[] ports = [.. Enumerable.Range(1, 90), _unlisted.BaseAddress.Port, own, ApiTest.ClosedPort()];
        string[] scan =
        [
            .. ports.Select(p => $"http://127.0.0.1:{p}/"),
            $"http://localhost:{_wired.BaseAddress.Port}/ok",  // the wired port under another name
            $"http://[::1]:{_wired.BaseAddress.Port}/ok",
            $"http://127.0.0.1:{own}/metrics",                 // the worker itself, off its demo path
            $"http://127.0.0.1:{own}/demo/work/..%2F..%2Fmetrics",
            $"http://127.0.0.1:{own}/jobs/00000000-0000-0000-0000-000000000000",
        ];

        using var response = await client.PostAsJsonAsync("/jobs", new { urls = scan });

        var problem = await ApiTest.ProblemAsync(response, 400);
        var errors = problem.GetProperty("errors").EnumerateObject().ToList();
        Assert.Equal(scan.Length, errors.Count);
        Assert.All(errors, e =>
        {
            var message = e.Value[0].GetString()!;
            Assert.Contains("not on the allow-list", message);
            Assert.Contains("WorkerPool:AllowedTargetHosts", message);
            Assert.DoesNotContain(_wired.BaseAddress.Authority, message); // what is allowed is not told
        });
        Assert.Equal(0, worker.Get<JobQueue>().Count);

        // What is allowed does pass, and only it was ever fetched.
        var ids = await client.SubmitAsync(_wired.Url("/ok"), $"http://127.0.0.1:{own}/demo/work/7", $"http://localhost:{own}/demo/work/8");
        var results = await client.WaitCompletedAsync(ids);
        Assert.Equal("success", results[0].Status());
        Assert.All(results[1..], j => Assert.Contains(j.GetProperty("result").GetProperty("httpStatusCode").GetInt32(), new[] { 200, 500 }));
        Assert.Equal(1, _wired.Requests);
        Assert.Equal(0, _unlisted.Requests);
    }

    [Fact]
    public async Task A_test_worker_cannot_reach_a_non_loopback_address_even_when_its_allow_list_lets_it_through()
    {
        // The allow-list admits them on purpose here; the test's connect guard is what stops them.
        await using var worker = new WorkerApp(new Dictionary<string, string?>
        {
            ["WorkerPool:AllowedTargetHosts:0"] = "169.254.169.254",
            ["WorkerPool:AllowedTargetHosts:1"] = "metadata.invalid:*",
        }).Start();
        using var client = worker.Client();

        var results = await client.WaitCompletedAsync(await client.SubmitAsync("http://169.254.169.254/latest/meta-data", "http://metadata.invalid:8080/"));

        Assert.All(results, r =>
        {
            Assert.Equal("failed", r.Status());
            Assert.Contains(LoopbackOnly.RefusedMessage, r.GetProperty("result").GetProperty("error").GetString());
        });
    }

    [Fact]
    public void A_malformed_allow_list_entry_fails_the_start_naming_the_key()
    {
        using var worker = new WorkerApp(new Dictionary<string, string?> { ["WorkerPool:AllowedTargetHosts:0"] = "localhost:99999" });

        var error = Assert.ThrowsAny<Exception>(() => worker.Start());

        Assert.Contains("WorkerPool:AllowedTargetHosts", error.ToString());
    }
}
