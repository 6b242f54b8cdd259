namespace ObsStack.Tests.Infrastructure;

/// <summary>A longer time limit than <see cref="TimeLimitedTestFramework.DefaultLimit"/> for the tests of one class.</summary>
[AttributeUsage(AttributeTargets.Class)]
public sealed class TestTimeLimitAttribute : Attribute
{
    public double Minutes { get; init; }
}
