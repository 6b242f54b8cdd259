using System.Diagnostics;
using BenchmarkDotNet.Attributes;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using ObsStack.ServiceDefaults.Logging;

namespace ObsStack.Benchmarks.Micro;

/// <summary>
/// The worker's per-job log line through the JSON console formatter, the way <c>ConsoleLogger</c> drives it: format
/// into a per-thread <see cref="StringWriter"/>, take the string, reset. The throughput suite's ablation
/// (<c>off-nojoblog</c>) priced the whole line at ~29 µs of worker CPU per job; this isolates the formatter's share of
/// it (the rest is the console logger's queue and its writer thread).
/// </summary>
[MemoryDiagnoser]
public partial class LogLineBenchmarks : IDisposable
{
    private static readonly ActivitySource s_source = new("ObsStack.Benchmarks.LogLine");

    private readonly ActivityListener _listener = new()
    {
        ShouldListenTo = source => source == s_source,
        Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
    };

    private readonly Uri _url = new("http://127.0.0.1:5000/t0/12345");
    private readonly StringWriter _writer = new();
    private FormattingLogger _logger = null!;
    private Activity? _activity;

    [GlobalSetup]
    public void Setup()
    {
        ActivitySource.AddActivityListener(_listener);
        _activity = s_source.StartActivity("process_job");
        var formatter = new JsonLinesConsoleFormatter(new StaticOptions(new JsonLinesConsoleFormatterOptions { UseUtcTimestamp = true }));
        _logger = new FormattingLogger(formatter, _writer);
    }

    [GlobalCleanup]
    public void Dispose()
    {
        _activity?.Dispose();
        _listener.Dispose();
        GC.SuppressFinalize(this);
    }

    /// <summary>The worker's success line (same template and argument types as <c>JobRunner.LogSucceeded</c>).</summary>
    [Benchmark(Description = "JSON console line: job success (formatter + ToString)")]
    public int JobSucceededLine()
    {
        LogSucceeded(_logger, Guid.CreateVersion7(), _url, 200, 0.8421, 100, 3);
        return _logger.LastLength;
    }

    [LoggerMessage(EventId = 1, Level = LogLevel.Information,
        Message = "Job {JobId} success: GET {JobUrl} returned {HttpStatusCode} with {Bytes} bytes in {DurationMs:0.0} ms (worker {WorkerId})")]
    private static partial void LogSucceeded(ILogger logger, Guid jobId, Uri jobUrl, int? httpStatusCode, double durationMs, long bytes, int? workerId);

    /// <summary>What <c>ConsoleLogger.Log</c> does per line before queueing the text for its writer thread.</summary>
    private sealed class FormattingLogger(JsonLinesConsoleFormatter formatter, StringWriter writer) : ILogger
    {
        public int LastLength { get; private set; }

        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> format)
        {
            formatter.Write(new LogEntry<TState>(logLevel, "ObsStack.Worker.Jobs.JobRunner", eventId, state, exception, format), null, writer);
            var sb = writer.GetStringBuilder();
            LastLength = sb.ToString().Length;
            sb.Clear();
        }
    }

    private sealed class StaticOptions(JsonLinesConsoleFormatterOptions value) : IOptionsMonitor<JsonLinesConsoleFormatterOptions>
    {
        public JsonLinesConsoleFormatterOptions CurrentValue => value;

        public JsonLinesConsoleFormatterOptions Get(string? name) => value;

        public IDisposable? OnChange(Action<JsonLinesConsoleFormatterOptions, string?> listener) => null;
    }
}
