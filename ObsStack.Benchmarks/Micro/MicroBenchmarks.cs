using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Diagnosers;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Running;
using BenchmarkDotNet.Toolchains.InProcess.Emit;

namespace ObsStack.Benchmarks.Micro;

/// <summary>The BenchmarkDotNet suites: <c>/metrics</c> rendering and the worker's result store.</summary>
internal static class MicroBenchmarks
{
    public static void Run(Type[] types, string[] args)
    {
        if (types.Contains(typeof(MetricsScrapeBenchmarks)))
        {
            MetricsScrapeBenchmarks.RecordShapes();
        }

        // In-process: the out-of-process toolchain rebuilds this project inside a generated one for every run, which
        // costs minutes on a two-core machine; for these single-threaded benchmarks in-process measurement is as
        // accurate.
        var config = ManualConfig.Create(DefaultConfig.Instance)
            .AddJob(Job.Default.WithToolchain(InProcessEmitToolchain.Instance))
            .AddDiagnoser(MemoryDiagnoser.Default)
            .WithArtifactsPath(Path.Combine(Directory.GetCurrentDirectory(), "BenchmarkDotNet.Artifacts"));
        BenchmarkSwitcher.FromTypes(types).Run(args.Length == 0 ? ["--filter", "*"] : args, config);
    }
}
