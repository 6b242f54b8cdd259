using System.Net.Http.Headers;
using System.Text;
using ObsStack.Tests.Infrastructure;

namespace ObsStack.Tests.Api;

/// <summary>
/// Every api endpoint, every kind of bad input: the status a client can act on and a problem+json that says what is
/// wrong, carrying the trace id of the request. Envelope errors (media type, size, JSON syntax, id format) are the
/// api's own; content errors of a job request are the worker's, passed through with its status and body.
/// </summary>
public sealed class BadInputTests(BadInputTests.Services services) : IClassFixture<BadInputTests.Services>
{
    public sealed class Services : IAsyncLifetime
    {
        public WorkerApp Worker { get; } = new();

        public ApiApp Api { get; private set; } = null!;

        public Task InitializeAsync()
        {
            Worker.Start();
            Api = new ApiApp(new Dictionary<string, string?> { ["services:worker:http:0"] = Worker.Address.ToString() });
            Api.Start();
            return Task.CompletedTask;
        }

        public async Task DisposeAsync()
        {
            await Api.DisposeAsync();
            await Worker.DisposeAsync();
        }
    }

    private const string Json = "application/json";

    public static TheoryData<string, string, string?, string?, int, string, string> Cases => new()
    {
        // method, path, body, content type, status, problem title, text the problem must contain
        { "GET", "/data/abc", null, null, 400, "Invalid data id", "'abc' is not a data id" },
        { "GET", "/data/0", null, null, 400, "Invalid data id", "positive integers" },
        { "GET", "/data/-3", null, null, 400, "Invalid data id", "positive integers" },
        { "GET", "/data/+3", null, null, 400, "Invalid data id", "positive integers" },
        { "GET", "/data/1e3", null, null, 400, "Invalid data id", "positive integers" },
        { "GET", "/data/2147483648", null, null, 400, "Invalid data id", "up to 2147483647" },
        { "GET", "/data/" + new string('9', 300), null, null, 400, "Invalid data id", "…" },

        { "GET", "/jobs/not-a-guid", null, null, 400, "Invalid job id", "ids are GUIDs" },
        { "GET", "/jobs/" + Guid.Empty.ToString().Replace('0', '7'), null, null, 404, "Job not found", "never existed" },

        { "POST", "/jobs", "{\"urls\": [\"http://localhost/1\"]}", "text/plain", 415, "Unsupported media type", "got 'text/plain" },
        { "POST", "/jobs", "{\"urls\": [\"http://localhost/1\"]}", null, 415, "Unsupported media type", "got 'none'" },
        { "POST", "/jobs", "{\"urls\": [", Json, 400, "Malformed JSON", "not valid JSON" },
        { "POST", "/jobs", "", Json, 400, "Malformed JSON", "body is empty" },
        { "POST", "/jobs", "[\"http://localhost/1\"]", Json, 400, "Malformed JSON", "not an object" },
        { "POST", "/jobs", "{\"urls\": [\"http://localhost/" + new string('a', 300_000) + "\"]}", Json, 413, "Body too large", "exceeds 262144 bytes" },
        // The worker judges the content; its validation problems pass through unchanged.
        { "POST", "/jobs", "{\"urls\": []}", Json, 400, "The job request is invalid.", "At least one URL" },
        { "POST", "/jobs", "{\"urls\": 42}", Json, 400, "Invalid JSON field", "Field 'urls' must be a JSON array" },
        { "POST", "/jobs", "{\"urls\": [7]}", Json, 400, "Invalid JSON field", "\"errors\":{\"urls[0]\":[\"Field 'urls[0]' has the wrong type" },
        { "POST", "/jobs", "{\"urls\": [\"http://localhost/1\"], \"priority\": 1}", Json, 400, "Invalid JSON field", "Unknown field 'priority'; the fields are: urls" },
        { "POST", "/jobs", "{\"urls\": [\"ftp://localhost/x\"]}", Json, 400, "The job request is invalid.", "not an absolute http or https URL" },
        { "POST", "/jobs", "{\"urls\": [\"http://169.254.169.254/latest/meta-data\"]}", Json, 400, "The job request is invalid.", "not on the allow-list" },

        { "PUT", "/chaos", "{\"errorRate\": 1}", "text/plain", 415, "Unsupported media type", "application/json" },
        { "PUT", "/chaos", "{\"errorRate\": ", Json, 400, "Malformed JSON", "not valid JSON" },
        { "PUT", "/chaos", "", Json, 400, "Malformed JSON", "body is empty" },
        { "PUT", "/chaos", "{\"error_rate\": 1}", Json, 400, "Invalid JSON field", "\"errors\":{\"error_rate\":[\"Unknown field 'error_rate'; the fields are: latencyMs, errorRate, exceptionRate, durationSeconds" },
        { "PUT", "/chaos", "{\"errorRate\": \"lots\"}", Json, 400, "Invalid JSON field", "Field 'errorRate' must be a JSON number (not a string)" },
        // Numbers as strings are refused, not guessed at: "5" is a mistyped field like "lots".
        { "PUT", "/chaos", "{\"latencyMs\": \"5\"}", Json, 400, "Invalid JSON field", "\"errors\":{\"latencyMs\":[\"Field 'latencyMs' must be a JSON number (not a string)" },
        { "PUT", "/chaos", "{\"errorRate\": 0.5, \"durationSeconds\": \"60\"}", Json, 400, "Invalid JSON field", "Field 'durationSeconds' must be a JSON number (not a string)" },
        { "PUT", "/chaos", "{\"errorRate\": 0.5, \"durationSeconds\": 1e99}", Json, 400, "Invalid JSON field", "Field 'durationSeconds' must be a JSON number" },
        { "PUT", "/chaos", "{\"errorRate\": 1.5}", Json, 400, "The chaos settings are invalid.", "\"errorRate\":[\"Must be between 0 and 1" },
        { "PUT", "/chaos", "{\"exceptionRate\": -0.1}", Json, 400, "The chaos settings are invalid.", "\"exceptionRate\":[\"Must be between 0 and 1" },
        { "PUT", "/chaos", "{\"errorRate\": 0.6, \"exceptionRate\": 0.6}", Json, 400, "The chaos settings are invalid.", "must not exceed 1" },
        { "PUT", "/chaos", "{\"latencyMs\": 5001}", Json, 400, "The chaos settings are invalid.", "\"latencyMs\":[\"Must be between 0 and 5000" },
        { "PUT", "/chaos", "{\"errorRate\": 1, \"durationSeconds\": 3601}", Json, 400, "The chaos settings are invalid.", "\"durationSeconds\":[\"Must be between 1 and 3600" },
        { "PUT", "/chaos", "{\"latencyMs\": 100, \"durationSeconds\": 0}", Json, 400, "The chaos settings are invalid.", "\"durationSeconds\":[\"Must be between 1" },
        { "PUT", "/chaos", "{\"latencyMs\": 1, \"pad\": \"" + new string(' ', 5000) + "\"}", Json, 413, "Body too large", "exceeds 4096 bytes" },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task Bad_input_gets_its_status_and_a_problem_saying_what_is_wrong(
        string method, string path, string? body, string? contentType, int status, string title, string expected)
    {
        using var client = services.Api.ChaosClient();
        using var request = new HttpRequestMessage(new HttpMethod(method), path);
        if (body is not null)
        {
            request.Content = new StringContent(body, Encoding.UTF8);
            request.Content.Headers.ContentType = contentType is null ? null : new MediaTypeHeaderValue(contentType);
        }

        using var response = await client.SendAsync(request);

        var problem = await ApiTest.ProblemAsync(response, status);
        Assert.Equal(title, problem.GetProperty("title").GetString());
        Assert.Contains(expected, problem.GetRawText().Replace("\\u0027", "'").Replace("\\u0022", "\"").Replace("\\u2026", "…"));
        // Every problem, the api's and the worker's passed through, carries the bare id of the same trace.
        var traceId = response.Header("X-Trace-Id");
        Assert.Matches("^[0-9a-f]{32}$", traceId);
        Assert.Contains(traceId, problem.GetProperty("traceId").GetString());
        // Nothing bad got through: the knobs are untouched and the worker queued nothing.
        Assert.False(services.Api.Get<ObsStack.Api.Chaos.ChaosState>().Current.IsActive);
        Assert.Equal(0, services.Worker.Get<ObsStack.Worker.Jobs.JobQueue>().Count);
    }

    public static TheoryData<string, string, string> Encodings => new()
    {
        // extra headers (with Content-Type), body as sent (chunked when Transfer-Encoding says so), text the problem must contain
        { "Content-Type: application/json\r\nContent-Encoding: gzip", "plain", "Content-Encoding 'gzip' is not supported" },
        { "Content-Type: application/json\r\nContent-Encoding: identity, br", "plain", "Content-Encoding 'br' is not supported" },
        { "Content-Type: application/json\r\nTransfer-Encoding: gzip, chunked", "chunked", "Transfer-Encoding 'gzip' is not supported" },
        { "Content-Type: application/json; charset=utf-16", "plain", "charset must be utf-8 (or absent); got 'utf-16'" },
        { "Content-Type: application/json; charset=ISO-8859-1", "plain", "got 'ISO-8859-1'" },
    };

    /// <summary>
    /// A body the server would misread — compressed, in another transfer coding, in another charset — is refused with
    /// 415 before it is parsed, on every JSON endpoint of both services; nothing is queued and no knob moves.
    /// </summary>
    [Theory]
    [MemberData(nameof(Encodings))]
    public async Task A_body_in_an_encoding_the_server_does_not_decode_is_415_on_every_json_endpoint(
        string headers, string framing, string expected)
    {
        var endpoints = new[]
        {
            (services.Worker.Address, "POST /jobs", "{\"urls\": [\"http://localhost/1\"]}", ""),
            (services.Api.Address, "POST /jobs", "{\"urls\": [\"http://localhost/1\"]}", ""),
            (services.Api.Address, "PUT /chaos", "{\"errorRate\": 1}", $"{ObsStack.Api.Chaos.ChaosGuard.KeyHeader}: {ApiApp.ChaosKey}\r\n"),
        };

        foreach (var (address, route, body, key) in endpoints)
        {
            var length = framing == "chunked" ? "" : $"\r\nContent-Length: {Encoding.UTF8.GetByteCount(body)}";
            var wire = framing == "chunked" ? $"{Encoding.UTF8.GetByteCount(body):x}\r\n{body}\r\n0\r\n\r\n" : body;
            var answer = await RawHttp.SendAsync(address, $"{route} HTTP/1.1\r\n{key}{headers}{length}",
                (socket, ct) => socket.WriteAsync(wire, ct), TimeSpan.FromSeconds(20));

            Assert.True(answer.Status == 415 && answer.IsProblemJson, $"{route} with {headers.Replace("\r\n", " | ")}: {answer}\n{answer.Text}");
            Assert.Contains(expected, answer.Text.Replace("\\u0027", "'"));
        }

        Assert.False(services.Api.Get<ObsStack.Api.Chaos.ChaosState>().Current.IsActive);
        Assert.Equal(0, services.Worker.Get<ObsStack.Worker.Jobs.JobQueue>().Count);
    }

    [Theory]
    [InlineData("Content-Type: application/json; charset=utf-8")]
    [InlineData("Content-Type: application/json; charset=\"UTF-8\"\r\nContent-Encoding: identity")]
    public async Task Utf8_and_identity_are_read_as_plain_json(string headers)
    {
        const string body = "{\"urls\": []}";
        var answer = await RawHttp.SendAsync(services.Api.Address,
            $"POST /jobs HTTP/1.1\r\n{headers}\r\nContent-Length: {body.Length}", (socket, ct) => socket.WriteAsync(body, ct), TimeSpan.FromSeconds(20));

        // Read and judged on its content: the worker's validation problem, passed through.
        Assert.True(answer.Status == 400, $"{headers}: {answer}\n{answer.Text}");
        Assert.Contains("At least one URL", answer.Text);
    }

    [Fact]
    public async Task A_body_sent_in_chunks_without_a_length_is_cut_off_at_the_limit_too()
    {
        using var client = services.Api.ChaosClient();
        // A stream of unknown length makes HttpClient send Transfer-Encoding: chunked, so only reading can find the size.
        var huge = Encoding.UTF8.GetBytes("{\"urls\": [\"http://localhost/" + new string('a', 400_000) + "\"]}");
        using var content = new StreamContent(new UnknownLengthStream(huge));
        content.Headers.ContentType = new MediaTypeHeaderValue(Json);

        using var response = await client.PostAsync("/jobs", content);

        var problem = await ApiTest.ProblemAsync(response, 413);
        Assert.Equal("Body too large", problem.GetProperty("title").GetString());
        Assert.Null(response.RequestMessage!.Content!.Headers.ContentLength);
    }

    /// <summary>A readable stream that will not tell its length.</summary>
    private sealed class UnknownLengthStream(byte[] data) : MemoryStream(data)
    {
        public override bool CanSeek => false;
    }
}
