using System.Diagnostics;
using System.Text.Json;
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
}
