using System.Net.Sockets;
using System.Text;
using ObsStack.Api.Chaos;
using ObsStack.Tests.Api;
using ObsStack.Tests.Infrastructure;
using Microsoft.Extensions.Logging;

namespace ObsStack.Tests.ServiceDefaults;

/// <summary>
/// A careless or hostile client's broken body, on a raw socket, against every JSON endpoint of both services (they share
/// one body reader): each row gets its 4xx as problem+json within a bounded time, never a 500, no error log line, and
/// no 5xx in <c>http.server.request.duration</c>. Stalled and trickled bodies are cut off by Kestrel's minimum body
/// data rate (240 B/s after a 5 s grace), so the rows run together in about 7 s.
/// </summary>
public static class BadRequestBodies
{
    /// <param name="Status">What the server decides (the request metric records it).</param>
    /// <param name="Answered">False when the client has gone before the answer (Kestrel takes a half-close as the end of the connection).</param>
    public sealed record Row(string Case, string Headers, Func<Socket, CancellationToken, Task> Body, int Status, bool Answered = true);

    private const string Start = "{\"urls\": [\"http://x/";

    public static IReadOnlyList<Row> Rows(int maxBytes) =>
    [
        new("chunk size not hex (zz)", "Transfer-Encoding: chunked", (s, ct) => s.WriteAsync("zz\r\n{}\r\n0\r\n\r\n", ct), 400),
        new("chunk size ffffffffffffffff", "Transfer-Encoding: chunked", (s, ct) => s.WriteAsync("ffffffffffffffff\r\n{}\r\n0\r\n\r\n", ct), 400),
        new("bad chunk suffix", "Transfer-Encoding: chunked", (s, ct) => s.WriteAsync("2\r\n{}XX0\r\n\r\n", ct), 400),
        new("chunked body with no last chunk, then a stall", "Transfer-Encoding: chunked", async (s, ct) =>
        {
            await s.WriteAsync("2\r\n{}\r\n", ct);
            await Task.Delay(Timeout.Infinite, ct);
        }, 408),
        new("shorter than Content-Length, then a stall", "Content-Length: 100", async (s, ct) =>
        {
            await s.WriteAsync(Start, ct);
            await Task.Delay(Timeout.Infinite, ct);
        }, 408),
        new("shorter than Content-Length, then the client stops sending", "Content-Length: 100", async (s, ct) =>
        {
            await s.WriteAsync(Start, ct);
            s.Shutdown(SocketShutdown.Send);
        }, 400, Answered: false),
        new("trickled at 1 byte per 0.5 s", "Content-Length: 100", async (s, ct) =>
        {
            for (var i = 0; i < 40; i++)
            {
                await s.WriteAsync(Start[i % Start.Length].ToString(), ct);
                await Task.Delay(500, ct);
            }
        }, 408),
        new("declared length over the limit", $"Content-Length: {maxBytes + 1}", (s, ct) => s.WriteAsync(Start, ct), 413),
        new("chunked body over the limit", "Transfer-Encoding: chunked", async (s, ct) =>
        {
            var chunk = $"1000\r\n{new string(' ', 0x1000)}\r\n";
            for (var sent = 0; sent <= maxBytes; sent += 0x1000)
            {
                await s.WriteAsync(chunk, ct);
            }

            await s.WriteAsync("0\r\n\r\n", ct);
        }, 413),
    ];

    /// <summary>Every row at once against <paramref name="method"/> <paramref name="path"/>; the failure message is the whole table.</summary>
    public static async Task AssertEachGetsItsStatusAsync<T>(ServiceApp<T> app, string method, string path, int maxBytes, string extraHeaders = "")
        where T : class
    {
        var rows = Rows(maxBytes);
        var answers = await Task.WhenAll(rows.Select(row => RawHttp.SendAsync(app.Address,
            $"{method} {path} HTTP/1.1\r\nContent-Type: application/json\r\n{extraHeaders}{row.Headers}", row.Body, TimeSpan.FromSeconds(20))));

        var table = string.Join("\n", rows.Zip(answers, (row, answer) =>
            $"  {row.Case}: expected {(row.Answered ? row.Status : "no answer")}, got {answer}{(answer.IsProblemJson || answer.Status is null ? "" : " (not problem+json)")}"));
        Assert.True(rows.Zip(answers).All(p => p.First.Answered
                ? p.First.Status == p.Second.Status && p.Second.IsProblemJson
                : p.Second.Status is null),
            $"{method} {path}:\n{table}");
        Assert.All(answers, a => Assert.InRange(a.Elapsed, TimeSpan.Zero, TimeSpan.FromSeconds(12)));

        // Not a server error anywhere: no error log line, no 5xx in the request metric.
        Assert.DoesNotContain(app.Logs.Logs, l => l.Level >= LogLevel.Error);
        using var client = app.Client();
        var metrics = await client.GetStringAsync("/metrics");
        Assert.DoesNotContain(metrics.Split('\n'), line => line.StartsWith("http_server_request_duration_seconds_count{", StringComparison.Ordinal)
            && line.Contains("http_response_status_code=\"5"));
        // Every row is counted once, under a 4xx: its answer's status, or for a client gone before the answer the
        // server's verdict or 499 (ASP.NET Core's "client closed request").
        var counts = metrics.Split('\n')
            .Where(line => line.StartsWith("http_server_request_duration_seconds_count{", StringComparison.Ordinal) && line.Contains($"http_route=\"{path}\""))
            .Select(line => (Status: int.Parse(line.Split("http_response_status_code=\"")[1][..3]),
                Count: double.Parse(line[(line.LastIndexOf(' ') + 1)..], System.Globalization.CultureInfo.InvariantCulture)))
            .ToList();
        var summary = string.Join(", ", counts.Select(c => $"{c.Status}: {c.Count}"));
        Assert.True(counts.Sum(c => c.Count) == rows.Count && counts.All(c => c.Status is >= 400 and < 500), $"{path}: request metric {summary}");
        foreach (var status in rows.Where(r => r.Answered).Select(r => r.Status).Distinct())
        {
            Assert.True(counts.Where(c => c.Status == status).Sum(c => c.Count) >= rows.Count(r => r.Answered && r.Status == status), $"{path}: request metric {summary}");
        }
    }
}

public sealed class WorkerBadRequestBodyTests
{
    [Fact]
    public async Task Post_jobs_answers_every_broken_body_with_its_4xx_problem_never_a_500()
    {
        await using var worker = new WorkerApp().Start();

        await BadRequestBodies.AssertEachGetsItsStatusAsync(worker, "POST", "/jobs", ObsStack.Worker.Apis.JobsApi.MaxBodyBytes);
    }
}

public sealed class ApiBadRequestBodyTests
{
    [Fact]
    public async Task Post_jobs_answers_every_broken_body_with_its_4xx_problem_never_a_500()
    {
        await using var api = new ApiApp().Start();

        await BadRequestBodies.AssertEachGetsItsStatusAsync(api, "POST", "/jobs", ObsStack.Api.Apis.JobsApi.MaxBodyBytes);
    }

    [Fact]
    public async Task Put_chaos_answers_every_broken_body_with_its_4xx_problem_never_a_500()
    {
        await using var api = new ApiApp().Start();

        await BadRequestBodies.AssertEachGetsItsStatusAsync(api, "PUT", "/chaos", ObsStack.Api.Apis.ChaosApi.MaxBodyBytes,
            $"{ChaosGuard.KeyHeader}: {ApiApp.ChaosKey}\r\n");
        Assert.False(api.Get<ChaosState>().Current.IsActive);
    }
}
