namespace ObsStack.Profiling;

/// <summary>Stacks compared frame by frame, so that one stack is stored once however often it was seen.</summary>
internal sealed class FramesComparer : IEqualityComparer<Frame[]>
{
    public static readonly FramesComparer Instance = new();

    public bool Equals(Frame[]? x, Frame[]? y) => x.AsSpan().SequenceEqual(y);

    public int GetHashCode(Frame[] frames)
    {
        var hash = new HashCode();
        foreach (var frame in frames)
        {
            hash.Add(frame);
        }

        return hash.ToHashCode();
    }
}
