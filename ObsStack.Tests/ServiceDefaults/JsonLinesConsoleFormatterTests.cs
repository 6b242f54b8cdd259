using System.Diagnostics;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using ObsStack.ServiceDefaults.Logging;

namespace ObsStack.Tests.ServiceDefaults;

public sealed class JsonLinesConsoleFormatterTests
{
    private sealed class Monitor(JsonLinesConsoleFormatterOptions value) : IOptionsMonitor<JsonLinesConsoleFormatterOptions>
    {
        public JsonLinesConsoleFormatterOptions CurrentValue => value;
        public JsonLinesConsoleFormatterOptions Get(string? name) => value;
        public IDisposable? OnChange(Action<JsonLinesConsoleFormatterOptions, string?> listener) => null;
    }

    /// <summary>What a message template produces: its named values, then the template under {OriginalFormat}.</summary>
    private sealed class State(string message, string template, (string Key, object? Value)[] values) : List<KeyValuePair<string, object?>>(
        values.Select(v => new KeyValuePair<string, object?>(v.Key, v.Value)).Append(new("{OriginalFormat}", template)))
    {
        public override string ToString() => message;
    }

    private static JsonElement Write(string message, (string Key, object? Value)[] values, bool includeScopes, object? scope = null, Exception? exception = null)
    {
        using var formatter = new JsonLinesConsoleFormatter(new Monitor(new JsonLinesConsoleFormatterOptions { IncludeScopes = includeScopes }));
        var state = new State(message, "(template)", values);
        var scopes = new LoggerExternalScopeProvider();
        using var _ = scope is null ? null : scopes.Push(scope);
        using var writer = new StringWriter();
        formatter.Write(new LogEntry<State>(LogLevel.Warning, "Tests.Category", new EventId(7), state, exception, (s, _) => s.ToString()), scopes, writer);

        var line = writer.ToString();
        Assert.EndsWith("\n", line);
        Assert.DoesNotContain('\n', line.TrimEnd('\n'));
        return JsonDocument.Parse(line).RootElement.Clone();
    }

    [Fact]
    public void A_line_inside_a_span_carries_its_trace_and_span_ids_and_whether_it_was_sampled()
    {
        using var activity = new Activity("test").SetIdFormat(ActivityIdFormat.W3C).Start();
        activity.ActivityTraceFlags = ActivityTraceFlags.Recorded;

        var json = Write("Job 42 failed after 12.5 ms", [("JobId", "42"), ("DurationMs", 12.5)], includeScopes: false);

        Assert.Equal("warn", json.GetProperty("level").GetString());
        Assert.Equal("Tests.Category", json.GetProperty("category").GetString());
        Assert.Equal("Job 42 failed after 12.5 ms", json.GetProperty("message").GetString());
        Assert.Equal(activity.TraceId.ToHexString(), json.GetProperty("trace_id").GetString());
        Assert.Equal(activity.SpanId.ToHexString(), json.GetProperty("span_id").GetString());
        Assert.True(json.GetProperty("trace_sampled").GetBoolean());
        Assert.Equal("42", json.GetProperty("JobId").GetString());
        Assert.Equal(12.5, json.GetProperty("DurationMs").GetDouble());
    }

    [Fact]
    public void A_line_inside_an_unsampled_span_says_trace_sampled_false()
    {
        using var activity = new Activity("test").SetIdFormat(ActivityIdFormat.W3C).Start();
        activity.ActivityTraceFlags = ActivityTraceFlags.None;

        var json = Write("Job 43 succeeded", [], includeScopes: false);

        Assert.Equal(activity.TraceId.ToHexString(), json.GetProperty("trace_id").GetString());
        Assert.False(json.GetProperty("trace_sampled").GetBoolean());
    }

    [Fact]
    public async Task Both_services_write_their_console_lines_with_this_formatter()
    {
        using var workerConsole = new ObsStack.Tests.Infrastructure.ConsoleCapture();
        using var apiConsole = new ObsStack.Tests.Infrastructure.ConsoleCapture();
        await using var worker = new ObsStack.Tests.Infrastructure.WorkerApp { ConsoleOutput = workerConsole }.Start();
        await using var api = new ObsStack.Tests.Api.ApiApp { ConsoleOutput = apiConsole }.Start();

        foreach (var (services, console) in new[] { (worker.Services, workerConsole), (api.Services, apiConsole) })
        {
            // One console provider, this one: Microsoft's would write every line a second time.
            var provider = Assert.Single(services.GetServices<ILoggerProvider>(), p => p is JsonLinesConsoleLoggerProvider or Microsoft.Extensions.Logging.Console.ConsoleLoggerProvider);
            Assert.IsType<JsonLinesConsoleLoggerProvider>(provider);

            services.GetRequiredService<ILoggerFactory>().CreateLogger("ObsStack.Tests.Console").LogWarning("Through the console provider");
            await ObsStack.Tests.Infrastructure.Poll.UntilAsync(() => console.Lines().Any(line => line.Contains("Through the console provider")),
                "the service's line reaches its console", TimeSpan.FromSeconds(30));
            var line = Assert.Single(console.JsonLines(), l => l.GetProperty("message").GetString() == "Through the console provider");
            Assert.Equal("ObsStack.Tests.Console", line.GetProperty("category").GetString());
        }
    }

    [Fact]
    public async Task Job_and_data_lines_carry_DurationMs_rounded_as_their_message_shows_it()
    {
        using var workerConsole = new ObsStack.Tests.Infrastructure.ConsoleCapture();
        using var apiConsole = new ObsStack.Tests.Infrastructure.ConsoleCapture();
        await using var worker = new ObsStack.Tests.Infrastructure.WorkerApp { ConsoleOutput = workerConsole }.Start();
        await using var api = new ObsStack.Tests.Api.ApiApp { ConsoleOutput = apiConsole }.Start();
        using var workerClient = worker.Client();
        using var apiClient = api.Client();

        using var accepted = await workerClient.PostAsync("/jobs", new StringContent(
            $"{{\"urls\": [\"{new Uri(worker.Address, "/demo/work/5")}\"]}}", System.Text.Encoding.UTF8, "application/json"));
        Assert.Equal(System.Net.HttpStatusCode.Accepted, accepted.StatusCode);
        (await apiClient.GetAsync("/data/5")).EnsureSuccessStatusCode();

        foreach (var (console, message) in new[] { (workerConsole, "success: GET"), (apiConsole, "Data 5 served in") })
        {
            await ObsStack.Tests.Infrastructure.Poll.UntilAsync(() => console.Lines().Any(l => l.Contains(message)),
                $"a line with '{message}'", TimeSpan.FromSeconds(30));
            var line = console.Lines().First(l => l.Contains(message));
            // The raw text, not a parsed double: 122.3 in the line, as in the message, not 122.28559999999999.
            var duration = System.Text.RegularExpressions.Regex.Match(line, "\"DurationMs\":([^,}]+)").Groups[1].Value;
            Assert.Matches(@"^\d+(\.\d)?$", duration);
            Assert.Contains($" {double.Parse(duration, System.Globalization.CultureInfo.InvariantCulture):0.0} ms", line);
        }
    }

    [Fact]
    public void Outside_a_span_there_are_no_trace_fields_and_exceptions_are_one_escaped_field()
    {
        var json = Write("Boom", [], includeScopes: false, exception: new InvalidOperationException("line1\nline2"));

        Assert.False(json.TryGetProperty("trace_id", out _));
        Assert.Contains("line1\nline2", json.GetProperty("exception").GetString());
    }

    [Fact]
    public void A_scope_repeating_a_key_does_not_duplicate_it()
    {
        using var activity = new Activity("test").SetIdFormat(ActivityIdFormat.W3C).Start();
        var scope = new Dictionary<string, object?> { ["trace_id"] = "from-scope", ["request_id"] = "r-1" };

        var json = Write("Hello x", [("Name", "x")], includeScopes: true, scope: scope);

        Assert.Equal(activity.TraceId.ToHexString(), json.GetProperty("trace_id").GetString());
        Assert.Equal("r-1", json.GetProperty("request_id").GetString());
        Assert.Equal(1, json.EnumerateObject().Count(p => p.Name == "trace_id"));
    }

    [Fact]
    public void Lines_written_one_after_another_on_one_thread_share_nothing_whatever_their_size()
    {
        // The formatter reuses its buffers per thread: a huge line (beyond what is kept) and non-ASCII text must not
        // leave anything behind in the next line.
        var huge = new string('x', 100_000) + " grüße 日本";
        var first = Write(huge, [("Size", huge.Length)], includeScopes: false);
        var second = Write("small", [("Name", "ß")], includeScopes: false);
        var third = Write("small again", [], includeScopes: false);

        Assert.Equal(huge, first.GetProperty("message").GetString());
        Assert.Equal("small", second.GetProperty("message").GetString());
        Assert.Equal("ß", second.GetProperty("Name").GetString());
        Assert.False(third.TryGetProperty("Name", out _));
    }

    [Fact]
    public void Values_are_formatted_invariantly_whatever_the_current_culture()
    {
        var culture = System.Globalization.CultureInfo.CurrentCulture;
        System.Globalization.CultureInfo.CurrentCulture = new System.Globalization.CultureInfo("de-DE");
        try
        {
            var id = Guid.CreateVersion7();
            var at = new DateTimeOffset(2026, 11, 22, 10, 30, 0, TimeSpan.Zero);
            var json = Write("values", [("JobId", id), ("At", at), ("Ratio", 0.25m), ("Url", new Uri("http://127.0.0.1:5000/a?b=1&c=2"))], includeScopes: false);

            Assert.Equal(id.ToString(), json.GetProperty("JobId").GetString());
            Assert.Equal(at.ToString(System.Globalization.CultureInfo.InvariantCulture), json.GetProperty("At").GetString());
            Assert.Equal(0.25m, json.GetProperty("Ratio").GetDecimal());
            Assert.Equal("http://127.0.0.1:5000/a?b=1&c=2", json.GetProperty("Url").GetString());
        }
        finally
        {
            System.Globalization.CultureInfo.CurrentCulture = culture;
        }
    }

    [Fact]
    public void A_value_that_logs_while_it_is_formatted_does_not_corrupt_either_line()
    {
        using var formatter = new JsonLinesConsoleFormatter(new Monitor(new JsonLinesConsoleFormatterOptions()));
        using var inner = new StringWriter();
        var reentrant = new LoggingValue(() => formatter.Write(
            new LogEntry<State>(LogLevel.Information, "Inner", default, new State("inner", "inner", [("Depth", 2)]), null, (s, _) => s.ToString()), null, inner));
        using var outer = new StringWriter();

        formatter.Write(new LogEntry<State>(LogLevel.Information, "Outer", default, new State("outer", "outer", [("Before", 1), ("Value", reentrant), ("After", 3)]), null, (s, _) => s.ToString()), null, outer);

        var outerJson = JsonDocument.Parse(outer.ToString()).RootElement;
        var innerJson = JsonDocument.Parse(inner.ToString()).RootElement;
        Assert.Equal("outer", outerJson.GetProperty("message").GetString());
        Assert.Equal("logged", outerJson.GetProperty("Value").GetString());
        Assert.Equal(3, outerJson.GetProperty("After").GetInt32());
        Assert.Equal(2, innerJson.GetProperty("Depth").GetInt32());
    }

    private sealed class LoggingValue(Action log)
    {
        public override string ToString()
        {
            log();
            return "logged";
        }
    }
}
