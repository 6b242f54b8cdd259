namespace ObsStack.Tests.Infrastructure;

/// <summary>
/// Tests that depend on process-wide state (the activity listeners every tracer provider installs, the trace id
/// generator, the managed heap a test measures) run in this collection, after the parallel ones and one at a time.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class RunAloneCollection
{
    public const string Name = "Run alone (process-wide listeners)";
}
