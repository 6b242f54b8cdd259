namespace ObsStack.Profiling;

/// <summary>string_table[0] must be "" (pprof requires it); every other string is stored once.</summary>
internal sealed class PprofStringTable
{
    private readonly Dictionary<string, long> _index = new(StringComparer.Ordinal) { [""] = 0 };
    private readonly List<string> _all = [""];

    public IReadOnlyList<string> All => _all;

    public long Index(string value)
    {
        if (!_index.TryGetValue(value, out var index))
        {
            index = _all.Count;
            _index.Add(value, index);
            _all.Add(value);
        }

        return index;
    }
}
