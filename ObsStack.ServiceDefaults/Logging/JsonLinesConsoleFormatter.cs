using System.Buffers;
using System.Collections.Frozen;
using System.Diagnostics;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Logging.Console;
using Microsoft.Extensions.Options;

namespace ObsStack.ServiceDefaults.Logging;

public sealed class JsonLinesConsoleFormatterOptions : ConsoleFormatterOptions;

/// <summary>
/// One JSON object per line: <c>timestamp, level, category, message, trace_id, span_id, trace_sampled</c>, the
/// message template's named values, scope values, and the exception. <c>trace_sampled</c> tells the reader whether a
/// trace for <c>trace_id</c> was recorded (and so can be opened in Tempo) or was sampled out.
/// </summary>
internal sealed class JsonLinesConsoleFormatter : ConsoleFormatter, IDisposable
{
    public const string FormatterName = "obsstack-json";

    private static readonly FrozenSet<string> FixedFields = FrozenSet.ToFrozenSet(
        ["timestamp", "level", "category", "event_id", "message", "trace_id", "span_id", "trace_sampled", "exception"], StringComparer.Ordinal);

    private readonly IDisposable? _reload;
    private JsonLinesConsoleFormatterOptions _options;

    public JsonLinesConsoleFormatter(IOptionsMonitor<JsonLinesConsoleFormatterOptions> options) : base(FormatterName)
    {
        _options = options.CurrentValue;
        _reload = options.OnChange(o => _options = o);
    }

    public void Dispose() => _reload?.Dispose();

    public override void Write<TState>(in LogEntry<TState> logEntry, IExternalScopeProvider? scopeProvider, TextWriter textWriter)
    {
        var message = logEntry.Formatter(logEntry.State, logEntry.Exception);
        if (message is null && logEntry.Exception is null)
        {
            return;
        }

        var buffer = new ArrayBufferWriter<byte>(512);
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteString("timestamp", _options.UseUtcTimestamp ? DateTimeOffset.UtcNow : DateTimeOffset.Now);
            json.WriteString("level", LevelName(logEntry.LogLevel));
            json.WriteString("category", logEntry.Category);
            if (logEntry.EventId.Id != 0)
            {
                json.WriteNumber("event_id", logEntry.EventId.Id);
            }

            json.WriteString("message", message);

            if (Activity.Current is { } activity)
            {
                json.WriteString("trace_id", activity.TraceId.ToHexString());
                json.WriteString("span_id", activity.SpanId.ToHexString());
                json.WriteBoolean("trace_sampled", activity.Recorded);
            }

            // A key is written once: the record's own fields first, then the message's values, then scopes (innermost
            // last), so a scope repeating trace_id cannot make the line invalid for JSON parsers. The per-line set is
            // only needed when scopes are written; otherwise the fixed field names are all there is to avoid.
            var written = _options.IncludeScopes && scopeProvider is not null ? new HashSet<string>(FixedFields, StringComparer.Ordinal) : null;
            if (logEntry.State is IReadOnlyList<KeyValuePair<string, object?>> values)
            {
                foreach (var (key, value) in values)
                {
                    if (key != "{OriginalFormat}" && !FixedFields.Contains(key) && (written is null || written.Add(key)))
                    {
                        WriteValue(json, key, value);
                    }
                }
            }

            if (written is not null)
            {
                scopeProvider!.ForEachScope(static (scope, state) =>
                {
                    if (scope is IEnumerable<KeyValuePair<string, object?>> pairs)
                    {
                        foreach (var (key, value) in pairs)
                        {
                            if (key != "{OriginalFormat}" && state.Written.Add(key))
                            {
                                WriteValue(state.Json, key, value);
                            }
                        }
                    }
                }, (Json: json, Written: written));
            }

            if (logEntry.Exception is { } exception)
            {
                json.WriteString("exception", exception.ToString());
            }

            json.WriteEndObject();
        }

        textWriter.Write(System.Text.Encoding.UTF8.GetString(buffer.WrittenSpan));
        textWriter.Write('\n');
    }

    private static void WriteValue(Utf8JsonWriter json, string key, object? value)
    {
        switch (value)
        {
            case null: json.WriteNull(key); break;
            case bool b: json.WriteBoolean(key, b); break;
            case int i: json.WriteNumber(key, i); break;
            case long l: json.WriteNumber(key, l); break;
            case double d when double.IsFinite(d): json.WriteNumber(key, d); break;
            case float f when float.IsFinite(f): json.WriteNumber(key, f); break;
            case decimal m: json.WriteNumber(key, m); break;
            case IFormattable formattable: json.WriteString(key, formattable.ToString(null, System.Globalization.CultureInfo.InvariantCulture)); break;
            default: json.WriteString(key, value.ToString()); break;
        }
    }

    private static string LevelName(LogLevel level) => level switch
    {
        LogLevel.Trace => "trace",
        LogLevel.Debug => "debug",
        LogLevel.Information => "info",
        LogLevel.Warning => "warn",
        LogLevel.Error => "error",
        LogLevel.Critical => "fatal",
        _ => "none",
    };
}
