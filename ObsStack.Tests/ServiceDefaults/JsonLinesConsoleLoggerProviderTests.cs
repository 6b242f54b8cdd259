using System.Diagnostics;
using System.Text.Json;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using ObsStack.ServiceDefaults.Logging;
using ObsStack.Tests.Infrastructure;

namespace ObsStack.Tests.ServiceDefaults;

public sealed class JsonLinesConsoleLoggerProviderTests
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(30);

    private static (JsonLinesConsoleLoggerProvider Provider, ILogger Logger) NewConsole(
        ConsoleCapture output, int maxPendingBytes = 1024 * 1024, TextWriter? errors = null)
    {
        var formatter = new JsonLinesConsoleFormatter(new StaticOptions(new JsonLinesConsoleFormatterOptions()));
        var provider = new JsonLinesConsoleLoggerProvider(formatter, new BatchingLineWriter(output, errors ?? TextWriter.Null, maxPendingBytes));
        return (provider, provider.CreateLogger("Tests.Console"));
    }

    [Fact]
    public void Lines_from_eight_threads_arrive_whole_as_json_objects_each_thread_in_its_order()
    {
        const int threads = 8, linesPerThread = 2_000;
        using var output = new ConsoleCapture();
        var (provider, logger) = NewConsole(output);

        var loggers = Enumerable.Range(0, threads).Select(t => new Thread(() =>
        {
            for (var i = 0; i < linesPerThread; i++)
            {
                logger.LogInformation("Line {Seq} of thread {Thread} with \"quotes\", ünïcode and \n a newline", i, t);
            }
        })).ToList();
        loggers.ForEach(thread => thread.Start());
        Assert.All(loggers, thread => Assert.True(thread.Join(Bound), "a logging thread did not finish"));
        provider.Dispose();

        var lines = output.JsonLines();
        Assert.Equal(threads * linesPerThread, lines.Count);
        Assert.All(lines, line => Assert.Equal(JsonValueKind.Object, line.ValueKind));
        foreach (var thread in lines.GroupBy(line => line.GetProperty("Thread").GetInt32()))
        {
            Assert.Equal(Enumerable.Range(0, linesPerThread), thread.Select(line => line.GetProperty("Seq").GetInt32()));
        }
    }

    [Fact]
    public async Task Lines_logged_while_the_output_is_busy_go_out_together_in_one_write()
    {
        using var output = new ConsoleCapture();
        var (provider, logger) = NewConsole(output);
        output.Block();

        logger.LogInformation("Line {Seq}", 0);
        await Poll.UntilAsync(() => output.WritesStarted == 1, "the writer is writing the first line", Bound);
        for (var i = 1; i < 100; i++)
        {
            logger.LogInformation("Line {Seq}", i);
        }

        output.Unblock();
        provider.Dispose();

        Assert.Equal(2, output.Writes);
        Assert.Equal(Enumerable.Range(0, 100), output.JsonLines().Select(line => line.GetProperty("Seq").GetInt32()));
    }

    [Fact]
    public async Task A_line_after_a_quiet_spell_goes_out_without_waiting_for_more_lines_or_for_dispose()
    {
        using var output = new ConsoleCapture();
        var (provider, logger) = NewConsole(output);

        logger.LogInformation("Line {Seq}", 0);
        await Poll.UntilAsync(() => output.Writes == 1, "the first line is written", Bound);
        // Past the writer's gathering time: it is idle again, and the next line must wake it.
        await Task.Delay(BatchingLineWriter.GatherTime * 10);
        logger.LogInformation("Line {Seq}", 1);
        await Poll.UntilAsync(() => output.Writes == 2, "the second line is written on its own", Bound);

        Assert.Equal([0, 1], output.JsonLines().Select(line => line.GetProperty("Seq").GetInt32()));
        provider.Dispose();
    }

    [Fact]
    public async Task Callers_wait_on_a_blocked_output_with_memory_bounded_and_resume_when_it_unblocks()
    {
        const int maxPendingBytes = 4096, lines = 200;
        using var output = new ConsoleCapture();
        var (provider, logger) = NewConsole(output, maxPendingBytes);
        output.Block();

        var caller = Task.Factory.StartNew(() =>
        {
            for (var i = 0; i < lines; i++)
            {
                logger.LogInformation("Line {Seq} {Padding}", i, new string('x', 200));
            }
        }, TaskCreationOptions.LongRunning);
        // Both: the caller may fill the buffer before the writer first takes it, and then wait while the writer swaps it.
        await Poll.UntilAsync(() => provider.Output.CallersWaiting == 1 && provider.Output.PendingBytes > 0,
            "the caller waits for room in a full buffer", Bound);

        Assert.False(caller.IsCompleted);
        Assert.InRange(provider.Output.PendingBytes, 1, maxPendingBytes);

        output.Unblock();
        await caller.WaitAsync(Bound);
        provider.Dispose();

        Assert.Equal(Enumerable.Range(0, lines), output.JsonLines().Select(line => line.GetProperty("Seq").GetInt32()));
        Assert.Equal(0, provider.Output.LinesLost);
    }

    [Fact]
    public async Task A_failing_output_never_throws_into_callers_is_reported_once_and_later_lines_get_through()
    {
        using var output = new ConsoleCapture { Failing = true };
        var errors = new StringWriter();
        var (provider, logger) = NewConsole(output, errors: TextWriter.Synchronized(errors));

        for (var i = 0; i < 20; i++)
        {
            logger.LogInformation("Lost {Seq}", i);
        }

        await Poll.UntilAsync(() => provider.Output.LinesLost == 20, "every line is counted as lost", Bound);
        output.Failing = false;
        logger.LogInformation("After the output came back");
        provider.Dispose();

        var line = Assert.Single(output.JsonLines());
        Assert.Equal("After the output came back", line.GetProperty("message").GetString());
        var report = Assert.Single(errors.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Contains("Broken pipe (test)", report);
    }

    [Fact]
    public async Task Dispose_writes_every_pending_line()
    {
        using var output = new ConsoleCapture();
        var (provider, logger) = NewConsole(output);
        output.Block();
        for (var i = 0; i < 500; i++)
        {
            logger.LogInformation("Line {Seq}", i);
        }

        var dispose = Task.Run(provider.Dispose);
        output.Unblock();
        await dispose.WaitAsync(Bound);

        Assert.Equal(Enumerable.Range(0, 500), output.JsonLines().Select(line => line.GetProperty("Seq").GetInt32()));
    }

    [Fact]
    public async Task Dispose_returns_within_its_bound_when_the_output_never_takes_the_lines()
    {
        using var output = new ConsoleCapture();
        var errors = new StringWriter();
        var (provider, logger) = NewConsole(output, errors: TextWriter.Synchronized(errors));
        output.Block();
        logger.LogInformation("Stuck in the write");
        await Poll.UntilAsync(() => output.WritesStarted == 1, "the writer is writing", Bound);
        logger.LogInformation("Pending");

        var stopwatch = Stopwatch.StartNew();
        provider.Dispose();

        Assert.InRange(stopwatch.Elapsed, TimeSpan.Zero, BatchingLineWriter.FlushTimeout + TimeSpan.FromSeconds(5));
        Assert.Contains("1 line(s) not written", errors.ToString());
    }

    [Fact]
    public async Task Logging_Console_settings_filter_its_lines_and_configure_its_formatter()
    {
        using var output = new ConsoleCapture();
        await using var worker = new WorkerApp(new Dictionary<string, string?>
        {
            ["Logging:Console:LogLevel:Default"] = "Warning",
            ["Logging:Console:FormatterOptions:IncludeScopes"] = "true",
        }) { ConsoleOutput = output }.Start();
        var logger = worker.Get<ILoggerFactory>().CreateLogger("ObsStack.Tests.Console");

        using (logger.BeginScope(new Dictionary<string, object?> { ["RequestTag"] = "r-1" }))
        {
            logger.LogInformation("Suppressed by Logging:Console:LogLevel");
            logger.LogWarning("Kept");
        }

        await Poll.UntilAsync(() => output.Lines().Any(line => line.Contains("Kept")), "the warning reaches the console", Bound);
        var lines = output.JsonLines().Where(line => line.GetProperty("category").GetString() == "ObsStack.Tests.Console").ToList();
        var kept = Assert.Single(lines);
        Assert.Equal("warn", kept.GetProperty("level").GetString());
        Assert.Equal("r-1", kept.GetProperty("RequestTag").GetString());
        // The general rule still lets Information through to the other providers: the alias picked the rule.
        Assert.Contains(worker.Logs.Logs, log => log.Message == "Suppressed by Logging:Console:LogLevel");
    }

    [Fact]
    public void A_bad_MaxPendingBytes_stops_the_host_naming_the_key()
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { EnvironmentName = "Testing" });
        builder.Configuration["Logging:Console:MaxPendingBytes"] = "100";
        builder.ConfigureOpenTelemetry();

        // The logger is built with the host (it logs the start), so the host fails as it is built.
        var error = Assert.Throws<OptionsValidationException>(() => builder.Build().Start());

        Assert.Contains("Logging:Console:MaxPendingBytes must be between", error.Message);
    }

    private sealed class StaticOptions(JsonLinesConsoleFormatterOptions value) : IOptionsMonitor<JsonLinesConsoleFormatterOptions>
    {
        public JsonLinesConsoleFormatterOptions CurrentValue => value;

        public JsonLinesConsoleFormatterOptions Get(string? name) => value;

        public IDisposable? OnChange(Action<JsonLinesConsoleFormatterOptions, string?> listener) => null;
    }
}
