namespace ObsStack.Profiling;

/// <summary>Stacks are interned by the session, so reference identity is content identity (and much cheaper).</summary>
internal sealed class InternedStackKeyComparer : IEqualityComparer<(Frame[] Stack, long Span)>
{
    public static readonly InternedStackKeyComparer Instance = new();

    public bool Equals((Frame[] Stack, long Span) x, (Frame[] Stack, long Span) y) =>
        ReferenceEquals(x.Stack, y.Stack) && x.Span == y.Span;

    public int GetHashCode((Frame[] Stack, long Span) key) =>
        HashCode.Combine(System.Runtime.CompilerServices.RuntimeHelpers.GetHashCode(key.Stack), key.Span);
}
