using System.Collections.Concurrent;
using System.Diagnostics;
using System.Reflection;
using Xunit.Abstractions;
using Xunit.Sdk;

[assembly: TestFramework("ObsStack.Tests.Infrastructure.TimeLimitedTestFramework", "ObsStack.Tests")]

namespace ObsStack.Tests.Infrastructure;

/// <summary>
/// xunit's own framework with one addition: a test still running after its time limit stops the run with a message
/// naming it (the test host's last words, which <c>dotnet test</c> prints), so a hang fails fast and says where,
/// instead of holding the run until CI gives up without a name. The limit is <see cref="DefaultLimit"/>, or the
/// <see cref="TestTimeLimitAttribute"/> of the test's class.
/// </summary>
public sealed class TimeLimitedTestFramework(IMessageSink diagnosticMessageSink) : XunitTestFramework(diagnosticMessageSink)
{
    /// <summary>Several times the slowest test's usual time on a loaded 2-core machine (about a minute).</summary>
    public static readonly TimeSpan DefaultLimit = TimeSpan.FromMinutes(5);

    protected override ITestFrameworkExecutor CreateExecutor(AssemblyName assemblyName) =>
        new Executor(assemblyName, SourceInformationProvider, DiagnosticMessageSink);

    private sealed class Executor(AssemblyName assemblyName, ISourceInformationProvider sourceInformationProvider, IMessageSink diagnosticMessageSink)
        : XunitTestFrameworkExecutor(assemblyName, sourceInformationProvider, diagnosticMessageSink)
    {
        protected override void RunTestCases(
            IEnumerable<IXunitTestCase> testCases, IMessageSink executionMessageSink, ITestFrameworkExecutionOptions executionOptions) =>
            base.RunTestCases(testCases, new Watchdog(executionMessageSink), executionOptions);
    }

    /// <summary>Passes every message on; keeps the start of each running test and checks them every few seconds.</summary>
    private sealed class Watchdog : LongLivedMarshalByRefObject, IMessageSink
    {
        private readonly IMessageSink _next;
        private readonly ConcurrentDictionary<ITest, (long Start, TimeSpan Limit)> _running = new();
        private readonly Timer _timer;

        public Watchdog(IMessageSink next)
        {
            _next = next;
            _timer = new Timer(_ => Check(), null, TimeSpan.FromSeconds(5), TimeSpan.FromSeconds(5));
        }

        public bool OnMessage(IMessageSinkMessage message)
        {
            switch (message)
            {
                case ITestStarting starting:
                    _running[starting.Test] = (Stopwatch.GetTimestamp(), LimitOf(starting.Test));
                    break;
                case ITestFinished finished:
                    _running.TryRemove(finished.Test, out _);
                    break;
                case ITestAssemblyFinished:
                    _timer.Dispose();
                    break;
            }

            return _next.OnMessage(message);
        }

        private void Check()
        {
            foreach (var (test, (start, limit)) in _running)
            {
                if (Stopwatch.GetElapsedTime(start) > limit)
                {
                    // Not an exception: the hung test's thread is stuck and would never see it. FailFast writes the
                    // message to standard error, and the test run reports it as the reason it was aborted.
                    Environment.FailFast($"{test.DisplayName} is still running after {limit.TotalMinutes:0.#} minutes (its time limit): the run is stopped so that the hang names its test.");
                }
            }
        }

        private static TimeSpan LimitOf(ITest test) =>
            test.TestCase.TestMethod.TestClass.Class.GetCustomAttributes(typeof(TestTimeLimitAttribute)).FirstOrDefault() is { } limit
                ? TimeSpan.FromMinutes(limit.GetNamedArgument<double>(nameof(TestTimeLimitAttribute.Minutes)))
                : DefaultLimit;
    }
}
