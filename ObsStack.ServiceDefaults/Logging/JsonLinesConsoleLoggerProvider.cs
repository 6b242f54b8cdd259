using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace ObsStack.ServiceDefaults.Logging;

/// <summary>
/// The services' console logger: each line formatted by <see cref="JsonLinesConsoleFormatter"/> on the logging thread
/// straight to UTF-8 and handed to a <see cref="BatchingLineWriter"/> on standard output. Registered under the alias
/// <c>Console</c>, so <c>Logging:Console:LogLevel</c> and <c>Logging:Console:FormatterOptions</c> apply to it as they did
/// to Microsoft's console provider, which it replaces.
/// </summary>
// Hand-written: Microsoft.Extensions.Logging.Console makes a string of every line, takes its queue's lock twice per line
// and writes each line with its own call (LogLineBenchmarks.PackageConsoleLogger vs BatchingConsoleProvider,
// docs/performance.md); ZLogger, the served package that batches, formats on its writer thread, where the line's trace ids
// (Activity.Current) are gone, and reads its filters from Logging:ZLoggerConsole.
[ProviderAlias("Console")]
internal sealed class JsonLinesConsoleLoggerProvider(JsonLinesConsoleFormatter formatter, BatchingLineWriter output)
    : ILoggerProvider, ISupportExternalScope
{
    private readonly ConcurrentDictionary<string, Logger> _loggers = new(StringComparer.Ordinal);
    private IExternalScopeProvider? _scopes;

    internal JsonLinesConsoleFormatter Formatter => formatter;

    internal BatchingLineWriter Output => output;

    public ILogger CreateLogger(string categoryName) =>
        _loggers.GetOrAdd(categoryName, static (category, provider) => new Logger(category, provider), this);

    public void SetScopeProvider(IExternalScopeProvider scopeProvider) => _scopes = scopeProvider;

    /// <summary>Host shutdown: what is pending is written, within <see cref="BatchingLineWriter.FlushTimeout"/>.</summary>
    public void Dispose() => output.Dispose();

    private sealed class Logger(string category, JsonLinesConsoleLoggerProvider provider) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => provider._scopes?.Push(state);

        public bool IsEnabled(LogLevel logLevel) => logLevel != LogLevel.None;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (IsEnabled(logLevel))
            {
                provider.Formatter.Write(new LogEntry<TState>(logLevel, category, eventId, state, exception, formatter), provider._scopes, provider.Output);
            }
        }
    }
}
