using System.ComponentModel.DataAnnotations;

namespace ObsStack.ServiceDefaults.Logging;

/// <summary>The console logger's own settings, bound from <c>Logging:Console</c> (the provider alias).</summary>
internal sealed class JsonLinesConsoleLoggerOptions
{
    /// <summary>
    /// The most bytes of finished lines waiting for the console (about 3,000 job lines at 1 MiB). When the console is
    /// slower than that for long, logging threads wait for it, as with Microsoft's console logger.
    /// </summary>
    [Range(4 * 1024, 256 * 1024 * 1024, ErrorMessage = "Logging:Console:MaxPendingBytes must be between 4096 and 268435456.")]
    public int MaxPendingBytes { get; set; } = 1024 * 1024;
}
