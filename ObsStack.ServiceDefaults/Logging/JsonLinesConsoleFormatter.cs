using System.Buffers;
using System.Collections.Frozen;
using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Logging.Console;
using Microsoft.Extensions.Options;

namespace ObsStack.ServiceDefaults.Logging;

internal sealed class JsonLinesConsoleFormatterOptions : ConsoleFormatterOptions;

/// <summary>
/// One JSON object per line: <c>timestamp, level, category, message, trace_id, span_id, trace_sampled</c>, the
/// message template's named values, scope values, and the exception. <c>trace_sampled</c> tells the reader whether a
/// trace for <c>trace_id</c> was recorded (and so can be opened in Tempo) or was sampled out.
/// </summary>
/// <remarks>
/// <see cref="JsonLinesConsoleLoggerProvider"/> takes each line as UTF-8; the <see cref="ConsoleFormatter"/> form (a
/// <see cref="TextWriter"/>) writes the same text and is what Microsoft's console logger would call.
/// </remarks>
internal sealed class JsonLinesConsoleFormatter : ConsoleFormatter, IDisposable
{
    public const string FormatterName = "obsstack-json";

    private static readonly FrozenSet<string> FixedFields = FrozenSet.ToFrozenSet(
        ["timestamp", "level", "category", "event_id", "message", "trace_id", "span_id", "trace_sampled", "exception"], StringComparer.Ordinal);

    [ThreadStatic] private static LineBuffer? t_line;

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
        var line = RentLine();
        try
        {
            if (TryFormat(line, logEntry, scopeProvider))
            {
                line.WriteTo(textWriter);
            }
        }
        finally
        {
            ReturnLine(line);
        }
    }

    /// <summary>The same line, handed to <paramref name="output"/> as UTF-8: no string and no UTF-16 copy on the way.</summary>
    internal void Write<TState>(in LogEntry<TState> logEntry, IExternalScopeProvider? scopeProvider, BatchingLineWriter output)
    {
        var line = RentLine();
        try
        {
            if (TryFormat(line, logEntry, scopeProvider))
            {
                output.WriteLine(line.Utf8);
            }
        }
        finally
        {
            ReturnLine(line);
        }
    }

    // Every line is formatted on the logging thread: the UTF-8 buffer, the JSON writer and the char buffer are kept per
    // thread instead of allocated per line (a fresh Utf8JsonWriter alone grows its output by 4 KiB). Taken off the
    // thread while in use, so a value's ToString that logs cannot write into the same buffer.
    private static LineBuffer RentLine()
    {
        var line = t_line ?? new LineBuffer();
        t_line = null;
        return line;
    }

    // One huge line (an exception with a deep stack) must not pin its buffers to the thread forever.
    private static void ReturnLine(LineBuffer line) => t_line = line.Reset() ? line : null;

    /// <summary>The whole line and its newline into <paramref name="line"/>; false when there is nothing to write.</summary>
    private bool TryFormat<TState>(LineBuffer line, in LogEntry<TState> logEntry, IExternalScopeProvider? scopeProvider)
    {
        var message = logEntry.Formatter(logEntry.State, logEntry.Exception);
        if (message is null && logEntry.Exception is null)
        {
            return false;
        }

        WriteJson(line.Json, logEntry, message, scopeProvider);
        line.EndLine();
        return true;
    }

    private void WriteJson<TState>(Utf8JsonWriter json, in LogEntry<TState> logEntry, string? message, IExternalScopeProvider? scopeProvider)
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
            // By index: the generated log states enumerate through an allocated iterator.
            for (var i = 0; i < values.Count; i++)
            {
                var (key, value) = values[i];
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
        json.Flush();
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
            case ISpanFormattable formattable: WriteFormatted(json, key, formattable); break;
            case IFormattable formattable: json.WriteString(key, formattable.ToString(null, CultureInfo.InvariantCulture)); break;
            default: json.WriteString(key, value.ToString()); break;
        }
    }

    /// <summary>Guids, dates and the like formatted on the stack instead of into a string per value.</summary>
    private static void WriteFormatted(Utf8JsonWriter json, string key, ISpanFormattable value)
    {
        Span<char> text = stackalloc char[64];
        if (value.TryFormat(text, out var length, default, CultureInfo.InvariantCulture))
        {
            json.WriteString(key, text[..length]);
        }
        else
        {
            json.WriteString(key, value.ToString(null, CultureInfo.InvariantCulture));
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

    /// <summary>One thread's reusable line: the JSON and its newline as UTF-8, and chars for a <see cref="TextWriter"/>.</summary>
    private sealed class LineBuffer
    {
        /// <summary>Buffers that grew past this for one line are dropped after it, not kept for the thread's life.</summary>
        private const int MaxRetainedBytes = 64 * 1024;

        private readonly ArrayBufferWriter<byte> _bytes = new(1024);
        // Only for the TextWriter form: the console provider never decodes the line.
        private char[] _chars = [];

        // No validation: WriteJson always writes one well-formed object; escaping is unchanged by this option.
        public LineBuffer() => Json = new Utf8JsonWriter(_bytes, new JsonWriterOptions { SkipValidation = true });

        public Utf8JsonWriter Json { get; }

        /// <summary>The finished line, newline included.</summary>
        public ReadOnlySpan<byte> Utf8 => _bytes.WrittenSpan;

        /// <summary>After the flushed JSON: the newline, in the same buffer.</summary>
        public void EndLine()
        {
            _bytes.GetSpan(1)[0] = (byte)'\n';
            _bytes.Advance(1);
        }

        /// <summary>The line and its newline in one write (UTF-8 never decodes to more chars than it has bytes).</summary>
        public void WriteTo(TextWriter writer)
        {
            var bytes = _bytes.WrittenSpan;
            if (_chars.Length < bytes.Length)
            {
                _chars = new char[Math.Max(bytes.Length, Math.Max(1024, _chars.Length * 2))];
            }

            var length = Encoding.UTF8.GetChars(bytes, _chars);
            writer.Write(_chars.AsSpan(0, length));
        }

        /// <summary>Ready for the next line; false when this one made it too big to keep.</summary>
        public bool Reset()
        {
            Json.Reset();
            _bytes.ResetWrittenCount();
            return _bytes.Capacity <= MaxRetainedBytes && _chars.Length <= MaxRetainedBytes;
        }
    }
}
