using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using ObsStack.Benchmarks.Harness;
using ObsStack.ServiceDefaults.Logging;

namespace ObsStack.Benchmarks.Micro;

/// <summary>
/// The worker's per-job log line. <see cref="JobSucceededLine"/>: the JSON formatter alone, the way <c>ConsoleLogger</c>
/// drives it (format into a per-thread <see cref="StringWriter"/>, take the string, reset). The whole path, old and
/// new: <see cref="Threads"/> threads each log <see cref="LinesPerThread"/> job lines through a logger factory into a
/// pipe that a child process drains, and the invocation ends when every line has gone through the pipe. Their
/// columns are per line: CPU is the whole process's (<see cref="Environment.CpuUsage"/>, so the console's writer
/// thread counts), and so are allocations (<see cref="GC.GetTotalAllocatedBytes(bool)"/>, every thread) and lock
/// contentions (<see cref="Monitor.LockContentionCount"/>; BenchmarkDotNet's threading diagnoser does not run in process).
/// </summary>
[MemoryDiagnoser]
[Config(typeof(WholePathColumns))]
public partial class LogLineBenchmarks : IDisposable
{
    private const int Threads = 8;
    private const int LinesPerThread = 2_500;
    private const int LinesPerInvocation = Threads * LinesPerThread;
    private const string Category = "ObsStack.Worker.Jobs.JobRunner";

    private static readonly ActivitySource s_source = new("ObsStack.Benchmarks.LogLine");

    /// <summary>Per whole-path benchmark: CPU, allocations and lock contentions per line, one sample per invocation.</summary>
    private static readonly ConcurrentDictionary<string, ConcurrentQueue<PerLine>> s_perLine = new();

    private readonly ActivityListener _listener = new()
    {
        ShouldListenTo = source => source == s_source,
        Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
    };

    private readonly Uri _url = new("http://127.0.0.1:5000/t0/12345");
    private readonly StringWriter _writer = new();
    private FormattingLogger _logger = null!;
    private Activity? _activity;

    private PipeDrain? _drain;
    private ILoggerFactory? _factory;
    private JsonLinesConsoleLoggerProvider? _provider;
    private ILogger _pathLogger = NullLogger.Instance;

    [GlobalSetup(Target = nameof(JobSucceededLine))]
    public void Setup()
    {
        ActivitySource.AddActivityListener(_listener);
        _activity = s_source.StartActivity("process_job");
        _logger = new FormattingLogger(Formatter(), _writer);
    }

    /// <summary>
    /// Before: Microsoft's console provider with this formatter, as the services had it. It writes to <c>Console.Out</c>
    /// as it was when the provider was made, so that is pointed at the pipe for that moment, built as the runtime builds
    /// <c>Console.Out</c> (a synchronized UTF-8 <see cref="StreamWriter"/>, 256-char buffer, auto-flush).
    /// </summary>
    [GlobalSetup(Target = nameof(PackageConsoleLogger))]
    public void SetupPackageConsoleLogger()
    {
        ActivitySource.AddActivityListener(_listener);
        _drain = PipeDrain.Start();
        var console = Console.Out;
        Console.SetOut(TextWriter.Synchronized(new StreamWriter(_drain.Input, new UTF8Encoding(false), 256, leaveOpen: true) { AutoFlush = true }));
        try
        {
            _factory = LoggerFactory.Create(logging => logging
                .AddConsole(options => options.FormatterName = JsonLinesConsoleFormatter.FormatterName)
                .AddConsoleFormatter<JsonLinesConsoleFormatter, JsonLinesConsoleFormatterOptions>(options => options.UseUtcTimestamp = true));
            _pathLogger = _factory.CreateLogger(Category);
        }
        finally
        {
            Console.SetOut(console);
        }
    }

    /// <summary>After: <see cref="JsonLinesConsoleLoggerProvider"/> writing to the same kind of pipe.</summary>
    [GlobalSetup(Target = nameof(BatchingConsoleProvider))]
    public void SetupBatchingConsoleProvider()
    {
        ActivitySource.AddActivityListener(_listener);
        _drain = PipeDrain.Start();
        _provider = new JsonLinesConsoleLoggerProvider(Formatter(),
            new BatchingLineWriter(_drain.Input, Console.Error, new JsonLinesConsoleLoggerOptions().MaxPendingBytes));
        _factory = LoggerFactory.Create(logging => logging.AddProvider(_provider));
        _pathLogger = _factory.CreateLogger(Category);
    }

    [GlobalCleanup]
    public void Dispose()
    {
        _activity?.Dispose();
        _factory?.Dispose();
        _provider?.Dispose();
        _drain?.DisposeAsync().AsTask().GetAwaiter().GetResult();
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

    [Benchmark(OperationsPerInvoke = LinesPerInvocation, Description = "whole path, 8 threads: AddConsole + formatter (before)")]
    public void PackageConsoleLogger() => LogFromThreads(nameof(PackageConsoleLogger));

    [Benchmark(OperationsPerInvoke = LinesPerInvocation, Description = "whole path, 8 threads: JsonLinesConsoleLoggerProvider (after)")]
    public void BatchingConsoleProvider() => LogFromThreads(nameof(BatchingConsoleProvider));

    [LoggerMessage(EventId = 1, Level = LogLevel.Information,
        Message = "Job {JobId} success: GET {JobUrl} returned {HttpStatusCode} with {Bytes} bytes in {DurationMs:0.0} ms (worker {WorkerId})")]
    private static partial void LogSucceeded(ILogger logger, Guid jobId, Uri jobUrl, int? httpStatusCode, double durationMs, long bytes, int? workerId);

    private static JsonLinesConsoleFormatter Formatter() =>
        new(new StaticOptions(new JsonLinesConsoleFormatterOptions { UseUtcTimestamp = true }));

    private void LogFromThreads(string benchmark)
    {
        var pipe = _drain!.Input;
        var written = pipe.Lines + LinesPerInvocation;
        var cpu = Environment.CpuUsage.TotalTime;
        var allocated = GC.GetTotalAllocatedBytes(precise: true);
        var contentions = Monitor.LockContentionCount;

        var threads = new Thread[Threads];
        for (var t = 0; t < Threads; t++)
        {
            threads[t] = new Thread(LogJobLines);
            threads[t].Start(t);
        }

        foreach (var thread in threads)
        {
            thread.Join();
        }

        pipe.WaitForLines(written, TimeSpan.FromSeconds(60));
        s_perLine.GetOrAdd(benchmark, _ => new()).Enqueue(new PerLine(
            (Environment.CpuUsage.TotalTime - cpu).TotalMicroseconds / LinesPerInvocation,
            (double)(GC.GetTotalAllocatedBytes(precise: true) - allocated) / LinesPerInvocation,
            (double)(Monitor.LockContentionCount - contentions) / LinesPerInvocation));
    }

    /// <summary>One worker thread's jobs: every line inside a recorded span, so it carries trace and span ids.</summary>
    private void LogJobLines(object? worker)
    {
        using var span = s_source.StartActivity("process_job");
        for (var i = 0; i < LinesPerThread; i++)
        {
            LogSucceeded(_pathLogger, Guid.CreateVersion7(), _url, 200, 0.8421, 100, (int)worker!);
        }
    }

    /// <summary>What <c>ConsoleLogger.Log</c> does per line before queueing the text for its writer thread.</summary>
    private sealed class FormattingLogger(JsonLinesConsoleFormatter formatter, StringWriter writer) : ILogger
    {
        public int LastLength { get; private set; }

        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> format)
        {
            formatter.Write(new LogEntry<TState>(logLevel, Category, eventId, state, exception, format), null, writer);
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

    private readonly record struct PerLine(double CpuMicroseconds, double Bytes, double LockContentions);

    /// <summary>The whole-path benchmarks' own per-line numbers: the median over every invocation.</summary>
    private sealed class WholePathColumns : ManualConfig
    {
        public WholePathColumns() => AddColumn(
            new PerLineColumn("CPU µs/line (process)", sample => sample.CpuMicroseconds, "F2"),
            new PerLineColumn("alloc B/line (all threads)", sample => sample.Bytes, "F0"),
            new PerLineColumn("lock contentions/line", sample => sample.LockContentions, "F4"));
    }

    private sealed class PerLineColumn(string name, Func<PerLine, double> value, string format) : IColumn
    {
        public string Id => $"{nameof(LogLineBenchmarks)}.{name}";

        public string ColumnName => name;

        public bool AlwaysShow => true;

        public ColumnCategory Category => ColumnCategory.Custom;

        public int PriorityInCategory => 0;

        public bool IsNumeric => true;

        public UnitType UnitType => UnitType.Dimensionless;

        public string Legend => $"{name}: median over the invocations of a whole-path benchmark";

        public string GetValue(Summary summary, BenchmarkCase benchmarkCase) =>
            s_perLine.TryGetValue(benchmarkCase.Descriptor.WorkloadMethod.Name, out var samples) && !samples.IsEmpty
                ? Median(samples.Select(value)).ToString(format, Report.Invariant)
                : "-";

        public string GetValue(Summary summary, BenchmarkCase benchmarkCase, SummaryStyle style) => GetValue(summary, benchmarkCase);

        public bool IsDefault(Summary summary, BenchmarkCase benchmarkCase) => false;

        public bool IsAvailable(Summary summary) => true;

        private static double Median(IEnumerable<double> values)
        {
            var sorted = values.Order().ToArray();
            return sorted[sorted.Length / 2];
        }
    }
}
