namespace ObsStack.Profiling;

/// <summary>A resolved stack frame: method name (namespace-qualified, without parameter list) and its module.</summary>
internal readonly record struct Frame(string Function, string Module)
{
    /// <summary>Code the session could not name (native runtime helpers, ReadyToRun code first run after the session's rundown).</summary>
    public static readonly Frame Unknown = new("[unknown]", "");
}
