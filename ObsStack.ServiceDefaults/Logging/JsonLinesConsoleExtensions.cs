using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Configuration;
using Microsoft.Extensions.Logging.Console;
using Microsoft.Extensions.Options;
using ObsStack.ServiceDefaults.Logging;

namespace Microsoft.Extensions.Hosting;

public static partial class Extensions
{
    /// <summary>
    /// Console logs as JSON lines carrying trace and span ids (Logging/JsonLinesConsoleLoggerProvider), in place of
    /// Microsoft's console provider, which the host's defaults add and which would write every line a second time.
    /// Configured like that one, under <c>Logging:Console</c>: <c>LogLevel</c>, <c>FormatterOptions</c>
    /// (<c>IncludeScopes</c>, <c>UseUtcTimestamp</c>) and <c>MaxPendingBytes</c>.
    /// </summary>
    private static void AddJsonLinesConsole(this IHostApplicationBuilder builder)
    {
        var services = builder.Services;
        foreach (var microsoftConsole in services.Where(IsMicrosoftConsoleProvider).ToList())
        {
            services.Remove(microsoftConsole);
        }

        builder.Logging.AddConfiguration();
        LoggerProviderOptions.RegisterProviderOptions<JsonLinesConsoleLoggerOptions, JsonLinesConsoleLoggerProvider>(services);
        services.AddOptions<JsonLinesConsoleLoggerOptions>().ValidateDataAnnotations().ValidateOnStart();
        services.AddOptions<JsonLinesConsoleFormatterOptions>()
            .Configure<ILoggerProviderConfiguration<JsonLinesConsoleLoggerProvider>>(
                (options, console) => console.Configuration.GetSection("FormatterOptions").Bind(options));
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IOptionsChangeTokenSource<JsonLinesConsoleFormatterOptions>,
            LoggerProviderOptionsChangeTokenSource<JsonLinesConsoleFormatterOptions, JsonLinesConsoleLoggerProvider>>());

        services.TryAddSingleton<JsonLinesConsoleFormatter>();
        services.TryAddSingleton(provider => BatchingLineWriter.ForStandardOutput(
            provider.GetRequiredService<IOptions<JsonLinesConsoleLoggerOptions>>().Value.MaxPendingBytes));
        services.TryAddEnumerable(ServiceDescriptor.Singleton<ILoggerProvider, JsonLinesConsoleLoggerProvider>());
    }

    private static bool IsMicrosoftConsoleProvider(ServiceDescriptor service) =>
        service.ServiceType == typeof(ILoggerProvider) && service.ImplementationType == typeof(ConsoleLoggerProvider);
}
