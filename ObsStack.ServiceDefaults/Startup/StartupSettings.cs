using System.Reflection;
using System.Text.RegularExpressions;
using Microsoft.Extensions.Options;

namespace ObsStack.ServiceDefaults.Startup;

/// <summary>
/// How every ObsStack process (both services and the AppHost, which compiles this file in too) stops on a bad setting:
/// one line on standard error naming the key and the rule, exit code 1 — not the runtime's stack trace and abort
/// (exit 134). What counts as a bad setting: an options validation failure (<c>ValidateOnStart</c>, validators), a
/// configuration value the binder cannot convert, and <see cref="InvalidSettingException"/>. Any other unhandled
/// exception is left to the runtime: it is a bug, and its stack is what a developer needs.
/// </summary>
internal static partial class StartupSettings
{
    private static int _installed;

    /// <summary>Installs the handler once per process; later calls do nothing.</summary>
    public static void ExitOnInvalidSettings()
    {
        if (Interlocked.Exchange(ref _installed, 1) == 0)
        {
            AppDomain.CurrentDomain.UnhandledException += OnUnhandledException;
        }
    }

    /// <summary>The one line for <paramref name="exception"/> when it is a bad setting; else null.</summary>
    public static string? Describe(Exception exception)
    {
        while (exception is AggregateException { InnerExceptions.Count: 1 } aggregate)
        {
            exception = aggregate.InnerExceptions[0];
        }

        var rule = exception switch
        {
            OptionsValidationException invalid => string.Join(" ", invalid.Failures.Select(f => Sentence(WithKey(f, invalid.OptionsType)))),
            InvalidSettingException invalid => invalid.Message,
            // ConfigurationBinder's own wording ("Failed to convert configuration value at 'Api:RequestTimeout' to type
            // 'System.TimeSpan'."); its inner exception says what was wrong with the value.
            InvalidOperationException conversion when conversion.Message.StartsWith(
                "Failed to convert configuration value", StringComparison.Ordinal) =>
                conversion.InnerException is { } inner ? $"{conversion.Message} {inner.Message}" : conversion.Message,
            _ => null,
        };

        return rule is null ? null : $"{AppDomain.CurrentDomain.FriendlyName}: invalid setting: {OneLine(rule)}";
    }

    private static void OnUnhandledException(object sender, UnhandledExceptionEventArgs args)
    {
        if (args.ExceptionObject is Exception exception && Describe(exception) is { } line)
        {
            Console.Error.WriteLine(line);
            Console.Error.Flush();
            // Exiting from the handler is what keeps the runtime from printing the stack and aborting the process.
            Environment.Exit(1);
        }
    }

    /// <summary>
    /// A data-annotation failure names the class and member ("'ApiOptions' members: 'RequestTimeout'"); a user sets a
    /// key. ObsStack's options classes declare their section as <c>SectionName</c>, so the member becomes
    /// <c>Api:RequestTimeout</c>. Other failures are written by ObsStack's validators and name their keys already.
    /// </summary>
    private static string WithKey(string failure, Type optionsType)
    {
        var match = DataAnnotationFailure().Match(failure);
        if (!match.Success)
        {
            return failure;
        }

        var section = optionsType.GetField("SectionName", BindingFlags.Public | BindingFlags.Static)?.GetRawConstantValue() as string;
        var key = section is null ? match.Groups["member"].Value : $"{section}:{match.Groups["member"].Value}";
        return $"{key}: {match.Groups["rule"].Value}";
    }

    [GeneratedRegex(@"^DataAnnotation validation failed for '[^']*' members: '(?<member>[^']+)' with the error: '(?<rule>.*)'\.?$")]
    private static partial Regex DataAnnotationFailure();

    private static string Sentence(string failure) =>
        failure.TrimEnd().EndsWith('.') ? failure.TrimEnd() : failure.TrimEnd() + ".";

    private static string OneLine(string text) =>
        string.Join(' ', text.Split(['\r', '\n'], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
}
