using System.ComponentModel.DataAnnotations;

namespace ObsStack.Api.Data;

/// <summary>
/// Configuration section <c>Data</c>: the normal shape of <c>GET /data/{id}</c>, before any chaos. Most requests take
/// between <see cref="MinLatencyMs"/> and <see cref="MaxLatencyMs"/>; a <see cref="SlowRequestRatio"/> share take up
/// to <see cref="SlowLatencyMs"/> (the tail p95/p99 show); an <see cref="ErrorRate"/> share fail with 500.
/// </summary>
public sealed class DataOptions
{
    public const string SectionName = "Data";

    [Range(0, 60_000)]
    public int MinLatencyMs { get; set; } = 5;

    [Range(0, 60_000)]
    public int MaxLatencyMs { get; set; } = 50;

    [Range(0.0, 1.0)]
    public double SlowRequestRatio { get; set; } = 0.05;

    [Range(0, 60_000)]
    public int SlowLatencyMs { get; set; } = 500;

    [Range(0.0, 1.0)]
    public double ErrorRate { get; set; } = 0.01;
}
