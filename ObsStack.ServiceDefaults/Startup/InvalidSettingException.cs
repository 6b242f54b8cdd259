namespace ObsStack.ServiceDefaults.Startup;

/// <summary>
/// A setting that cannot work, found by code outside the options system (OpenTelemetry's environment variables, the
/// AppHost's own switches). Its message names the key, the value and the rule; <see cref="StartupSettings"/> turns it into
/// one line and exit code 1. An <see cref="InvalidOperationException"/>: the configuration is not one the process can run with.
/// </summary>
internal sealed class InvalidSettingException(string message) : InvalidOperationException(message);
