using System.ComponentModel.DataAnnotations;

namespace ObsStack.Api;

/// <summary>Configuration section <c>Api</c>: the bounds every request runs within.</summary>
public sealed class ApiOptions
{
    public const string SectionName = "Api";

    /// <summary>
    /// Longest any request may run (request timeouts middleware); past it the handler is canceled and the client gets
    /// 504 problem+json. Above <see cref="WorkerTimeout"/>, so a slow worker is reported as such, not as a timeout of ours.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:01", "00:10:00")]
    public TimeSpan RequestTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Longest a forwarded <c>/jobs</c> call may wait for the worker's complete answer before the client gets 504.</summary>
    [Range(typeof(TimeSpan), "00:00:00.100", "00:05:00")]
    public TimeSpan WorkerTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Whether <c>PUT /chaos</c> may inject faults at all. Off in an environment where nobody should cause incidents on purpose.</summary>
    public bool ChaosEnabled { get; set; } = true;

    /// <summary>
    /// The key <c>PUT</c>/<c>DELETE /chaos</c> must carry in <c>X-Chaos-Key</c> (at least <see cref="MinChaosKeyLength"/>
    /// characters). Unset: the knobs work only in the Development environment. The AppHost sets it from its generated
    /// secret parameter <c>chaos-key</c>.
    /// </summary>
    public string? ChaosKey { get; set; }

    public const int MinChaosKeyLength = 16;
}
