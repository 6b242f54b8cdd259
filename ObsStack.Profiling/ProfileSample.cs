namespace ObsStack.Profiling;

/// <summary>One aggregated pprof sample: a stack (leaf first), one value per sample type, and the root span id (0: none).</summary>
internal readonly record struct ProfileSample(Frame[] Stack, long[] Values, long SpanNumber);
