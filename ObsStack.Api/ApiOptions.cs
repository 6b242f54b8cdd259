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

    /// <summary>Whether <c>PUT /chaos</c> may inject faults. Off in an environment where nobody should cause incidents on purpose.</summary>
    public bool ChaosEnabled { get; set; } = true;
}
