using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace ObsStack.Benchmarks.Throughput;

/// <summary>
/// The startup floor: what an ASP.NET Core app with nothing in it takes from <c>dotnet exec</c> to its first 200 on
/// <c>/alive</c>, timed the same way as the worker (<see cref="Harness.WorkerProcess.StartAsync"/>, Server GC, the same
/// environment; it runs from the benchmarks' own output folder). The worker's startup above it is what ObsStack's own
/// setup costs.
/// </summary>
internal static class EmptyWebApp
{
    public const string Role = "__empty-web";

    /// <summary>Child side: the same host builder as the worker (<c>WebApplication.CreateBuilder</c>) and one endpoint.</summary>
    public static async Task<int> RunChildAsync(string[] args)
    {
        var builder = WebApplication.CreateBuilder(args);
        builder.Logging.ClearProviders();
        var app = builder.Build();
        app.MapGet("/alive", () => "Healthy");
        await app.RunAsync();
        return 0;
    }
}
