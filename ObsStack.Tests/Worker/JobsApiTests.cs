using System.Net;
using System.Text;
using System.Text.Json;
using ObsStack.Tests.Infrastructure;

namespace ObsStack.Tests.Worker;

public sealed class JobsApiTests : IClassFixture<JobsApiTests.Worker>
{
    private readonly Worker _worker;

    public JobsApiTests(Worker worker) => _worker = worker;

    public sealed class Worker : IAsyncLifetime
    {
        public WorkerApp App { get; } = new(new Dictionary<string, string?>
        {
            ["WorkerPool:MaxBatchSize"] = "3",
            ["WorkerPool:AllowedTargetHosts:0"] = "localhost",
        });

        public Task InitializeAsync()
        {
            App.Start();
            return Task.CompletedTask;
        }

        public async Task DisposeAsync() => await App.DisposeAsync();
    }

    public static TheoryData<string, string, string?, int, string> BadSubmissions => new()
    {
        // case, body, content type, status, text the problem must contain
        { "malformed JSON", "{\"urls\": [", "application/json", 400, "not valid JSON" },
        { "wrong JSON shape", "{\"urls\": 42}", "application/json", 400, "must be a JSON array" },
        { "JSON null", "null", "application/json", 400, "JSON null" },
        { "no urls property", "{}", "application/json", 400, "At least one URL" },
        { "empty batch", "{\"urls\": []}", "application/json", 400, "At least one URL" },
        { "oversized batch", "{\"urls\": [\"http://localhost/1\",\"http://localhost/2\",\"http://localhost/3\",\"http://localhost/4\"]}", "application/json", 400, "At most 3 URLs" },
        { "relative URL", "{\"urls\": [\"/data/1\"]}", "application/json", 400, "not an absolute http or https URL" },
        { "not http", "{\"urls\": [\"file:///etc/passwd\"]}", "application/json", 400, "not an absolute http or https URL" },
        { "empty URL", "{\"urls\": [\"\"]}", "application/json", 400, "empty" },
        { "host not allowed (SSRF)", "{\"urls\": [\"http://169.254.169.254/latest/meta-data\"]}", "application/json", 400, "not on the allow-list" },
        { "wrong content type", "{\"urls\": [\"http://localhost/1\"]}", "text/plain", 415, "application/json" },
        { "no content type", "{\"urls\": [\"http://localhost/1\"]}", null, 415, "application/json" },
        { "body too large", "{\"urls\": [\"http://localhost/" + new string('a', 300_000) + "\"]}", "application/json", 413, "exceeds" },
    };

    [Theory]
    [MemberData(nameof(BadSubmissions))]
    public async Task Bad_submission_gets_its_status_and_a_problem_saying_what_is_wrong(string @case, string body, string? contentType, int status, string expected)
    {
        using var client = _worker.App.Client();
        using var content = new StringContent(body, Encoding.UTF8);
        content.Headers.ContentType = contentType is null ? null : new System.Net.Http.Headers.MediaTypeHeaderValue(contentType);

        using var response = await client.PostAsync("/jobs", content);

        var text = await response.Content.ReadAsStringAsync();
        Assert.True(status == (int)response.StatusCode, $"{@case}: expected {status}, got {(int)response.StatusCode} {text}");
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.Contains(expected, text);
        Assert.Equal(0, _worker.App.Get<ObsStack.Worker.Jobs.JobQueue>().Count);
    }

    [Fact]
    public async Task Only_the_bad_urls_of_a_batch_are_named_and_nothing_is_queued()
    {
        using var client = _worker.App.Client();
        using var content = new StringContent("{\"urls\": [\"http://localhost/ok\", \"http://evil.invalid/x\"]}", Encoding.UTF8, "application/json");

        using var response = await client.PostAsync("/jobs", content);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        using var problem = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        var errors = problem.RootElement.GetProperty("errors");
        Assert.False(errors.TryGetProperty("urls[0]", out _));
        Assert.Contains("evil.invalid", errors.GetProperty("urls[1]")[0].GetString());
    }

    [Theory]
    [InlineData("not-a-guid", 400, "not a job id")]
    [InlineData("12345", 400, "not a job id")]
    [InlineData("0f8fad5b-d9cb-469f-a165-70867728950e", 404, "No job")]
    public async Task Get_job_with_a_bad_or_unknown_id_gets_a_problem(string id, int status, string expected)
    {
        using var client = _worker.App.Client();

        using var response = await client.GetAsync($"/jobs/{id}");

        Assert.Equal(status, (int)response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.Contains(expected, await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task A_problem_names_the_trace_the_response_header_names()
    {
        using var client = _worker.App.Client();

        using var response = await client.GetAsync("/jobs/not-a-guid");

        // The same contract as the api's, from ServiceDefaults: X-Trace-Id on every response, the bare id in the problem.
        var traceId = Assert.Single(response.Headers.GetValues("X-Trace-Id"));
        Assert.Matches("^[0-9a-f]{32}$", traceId);
        using var problem = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal(traceId, problem.RootElement.GetProperty("traceId").GetString());
    }

    [Fact]
    public async Task A_plain_request_id_is_echoed()
    {
        using var client = _worker.App.Client();
        using var request = new HttpRequestMessage(HttpMethod.Get, "/jobs/0f8fad5b-d9cb-469f-a165-70867728950e");
        request.Headers.Add("X-Request-Id", "drill-42");

        using var response = await client.SendAsync(request);

        Assert.Equal("drill-42", Assert.Single(response.Headers.GetValues("X-Request-Id")));
    }
}
