using Microsoft.Diagnostics.Tracing.Etlx;

namespace ObsStack.Profiling;

/// <summary>
/// Turns a session's call stack indexes into named frames, once the stream has ended and every method is known:
/// from the session's own JIT and loader events and rundown, else from the <see cref="MethodCatalog"/>. Stacks and
/// frames are interned, so a stack seen a thousand times is stored once.
/// </summary>
internal sealed class StackResolver(TraceLog log, MethodCatalog catalog)
{
    private const string PollGcPrefix = "System.Threading.Thread.<PollGC>";

    private static readonly Frame[] s_overflowStack = [new Frame("[too many distinct stacks]", "")];

    private readonly Dictionary<CallStackIndex, Frame[]> _resolved = [];
    private readonly Dictionary<Frame[], Frame[]> _stacks = new(FramesComparer.Instance);
    private readonly Dictionary<string, Frame> _frames = new(StringComparer.Ordinal);

    /// <summary>A call stack as interned frames, leaf first; <see cref="CallStackIndex.Invalid"/> is the overflow stack.</summary>
    public Frame[] Resolve(CallStackIndex index)
    {
        if (index == CallStackIndex.Invalid)
        {
            return s_overflowStack;
        }

        if (_resolved.TryGetValue(index, out var resolved))
        {
            return resolved;
        }

        var frames = new List<Frame>(32);
        for (var i = index; i != CallStackIndex.Invalid; i = log.CallStacks.Caller(i))
        {
            var frame = FrameAt(log.CallStacks.CodeAddressIndex(i));

            // A thread in a loop without calls is stopped for the sample at a GC poll: the poll is how it was
            // caught, not where its time goes, so the caller becomes the leaf.
            if (frames.Count == 0 && frame.Function.StartsWith(PollGcPrefix, StringComparison.Ordinal))
            {
                continue;
            }

            // Consecutive unresolved addresses (a native helper calling another) say nothing more as one frame.
            if (frame == Frame.Unknown && frames.Count > 0 && frames[^1] == Frame.Unknown)
            {
                continue;
            }

            frames.Add(frame);
        }

        resolved = Intern(frames.Count > 0 ? [.. frames] : [Frame.Unknown]);
        _resolved[index] = resolved;
        return resolved;
    }

    /// <summary>The allocated (or thrown) type as the leaf frame: "which objects" reads directly off the flame graph.</summary>
    public Frame[] WithLeaf(Frame[] stack, string type) =>
        type.Length == 0 ? stack : Intern([FrameFor(type, ""), .. stack]);

    private Frame FrameAt(CodeAddressIndex address)
    {
        var method = log.CodeAddresses.MethodIndex(address);
        // Without a rundown this session only knows what was compiled while it ran; the catalog knows the rest.
        return method != MethodIndex.Invalid
            ? FrameFor(log.CodeAddresses.Methods.FullMethodName(method), log.CodeAddresses.ModuleFile(address)?.Name ?? "")
            : catalog.Find(log.CodeAddresses.Address(address)) ?? Frame.Unknown;
    }

    private Frame[] Intern(Frame[] stack)
    {
        if (!_stacks.TryGetValue(stack, out var interned))
        {
            interned = stack;
            _stacks.Add(stack, stack);
        }

        return interned;
    }

    private Frame FrameFor(string fullName, string module)
    {
        if (!_frames.TryGetValue(fullName, out var frame))
        {
            // "Namespace.Type.Method(int32,class System.String)" -> "Namespace.Type.Method": flame graphs read better
            // without signatures, and overloads of one method are usually the same cost center.
            var paren = fullName.IndexOf('(');
            frame = new Frame(paren > 0 ? fullName[..paren] : fullName, module);
            _frames.Add(fullName, frame);
        }

        return frame;
    }
}
