using System.IO.Compression;
using Google.Protobuf;

namespace ObsStack.Tests.Profiling;

/// <summary>
/// An independent decoder for what the profiler puts on the wire: Pyroscope's <c>push.v1.PushRequest</c>
/// (grafana/pyroscope api/push/v1/push.proto) and the pprof <c>Profile</c> inside it (google/pprof proto/profile.proto).
/// Written against the .proto field numbers, not against the encoder, so a wrong field number or wire type in the
/// encoder shows up here as a wrong or missing value.
/// </summary>
internal static class PushWire
{
    public static IReadOnlyList<PushedSeries> DecodePushRequest(byte[] body)
    {
        var series = new List<PushedSeries>();
        foreach (var (field, value) in Fields(body))
        {
            if (field == 1)
            {
                series.Add(DecodeSeries(value.Bytes!));
            }
        }

        return series;
    }

    private static PushedSeries DecodeSeries(byte[] bytes)
    {
        var labels = new List<KeyValuePair<string, string>>();
        var profiles = new List<byte[]>();
        var ids = new List<string>();
        foreach (var (field, value) in Fields(bytes))
        {
            switch (field)
            {
                case 1:
                    string name = "", labelValue = "";
                    foreach (var (f, v) in Fields(value.Bytes!))
                    {
                        if (f == 1) name = v.String;
                        if (f == 2) labelValue = v.String;
                    }

                    labels.Add(new(name, labelValue));
                    break;
                case 2:
                    foreach (var (f, v) in Fields(value.Bytes!))
                    {
                        if (f == 1) profiles.Add(v.Bytes!);
                        if (f == 2) ids.Add(v.String);
                    }

                    break;
            }
        }

        return new PushedSeries(labels, profiles, ids);
    }

    public static Pprof DecodeProfile(byte[] maybeGzipped)
    {
        var raw = maybeGzipped.Length > 2 && maybeGzipped[0] == 0x1f && maybeGzipped[1] == 0x8b ? Gunzip(maybeGzipped) : maybeGzipped;
        var p = new Pprof { WasGzipped = !ReferenceEquals(raw, maybeGzipped) };
        foreach (var (field, value) in Fields(raw))
        {
            switch (field)
            {
                case 1: p.SampleTypes.Add(ValueType(value.Bytes!)); break;
                case 2: p.Samples.Add(DecodeSample(value.Bytes!)); break;
                case 3: p.MappingCount++; break;
                case 4:
                    var location = DecodeLocation(value.Bytes!);
                    p.Locations.Add(location.Id, location);
                    break;
                case 5:
                    var function = DecodeFunction(value.Bytes!);
                    p.Functions.Add(function.Id, function);
                    break;
                case 6: p.StringTable.Add(value.String); break;
                case 9: p.TimeNanos = (long)value.Varint; break;
                case 10: p.DurationNanos = (long)value.Varint; break;
                case 11: p.PeriodType = ValueType(value.Bytes!); break;
                case 12: p.Period = (long)value.Varint; break;
            }
        }

        return p;
    }

    private static (long Type, long Unit) ValueType(byte[] bytes)
    {
        long type = 0, unit = 0;
        foreach (var (f, v) in Fields(bytes))
        {
            if (f == 1) type = (long)v.Varint;
            if (f == 2) unit = (long)v.Varint;
        }

        return (type, unit);
    }

    private static PprofSample DecodeSample(byte[] bytes)
    {
        var sample = new PprofSample();
        foreach (var (f, v) in Fields(bytes))
        {
            switch (f)
            {
                case 1: sample.LocationIds.AddRange(v.Packed().Select(x => x)); break;
                case 2: sample.Values.AddRange(v.Packed().Select(x => (long)x)); break;
                case 3:
                    long key = 0, str = 0;
                    foreach (var (lf, lv) in Fields(v.Bytes!))
                    {
                        if (lf == 1) key = (long)lv.Varint;
                        if (lf == 2) str = (long)lv.Varint;
                    }

                    sample.Labels.Add((key, str));
                    break;
            }
        }

        return sample;
    }

    private static PprofLocation DecodeLocation(byte[] bytes)
    {
        ulong id = 0, mapping = 0;
        var functions = new List<ulong>();
        foreach (var (f, v) in Fields(bytes))
        {
            if (f == 1) id = v.Varint;
            if (f == 2) mapping = v.Varint;
            if (f == 4)
            {
                foreach (var (lf, lv) in Fields(v.Bytes!))
                {
                    if (lf == 1) functions.Add(lv.Varint);
                }
            }
        }

        return new PprofLocation(id, mapping, functions);
    }

    private static PprofFunction DecodeFunction(byte[] bytes)
    {
        ulong id = 0;
        long name = 0, systemName = 0, filename = 0;
        foreach (var (f, v) in Fields(bytes))
        {
            if (f == 1) id = v.Varint;
            if (f == 2) name = (long)v.Varint;
            if (f == 3) systemName = (long)v.Varint;
            if (f == 4) filename = (long)v.Varint;
        }

        return new PprofFunction(id, name, systemName, filename);
    }

    private static byte[] Gunzip(byte[] gzipped)
    {
        using var input = new GZipStream(new MemoryStream(gzipped), CompressionMode.Decompress);
        using var output = new MemoryStream();
        input.CopyTo(output);
        return output.ToArray();
    }

    private static IEnumerable<(int Field, WireValue Value)> Fields(byte[] bytes)
    {
        var input = new CodedInputStream(bytes);
        var result = new List<(int, WireValue)>();
        uint tag;
        while ((tag = input.ReadTag()) != 0)
        {
            var field = WireFormat.GetTagFieldNumber(tag);
            switch (WireFormat.GetTagWireType(tag))
            {
                case WireFormat.WireType.Varint:
                    result.Add((field, new WireValue(input.ReadUInt64(), null)));
                    break;
                case WireFormat.WireType.LengthDelimited:
                    result.Add((field, new WireValue(0, input.ReadBytes().ToByteArray())));
                    break;
                default:
                    throw new InvalidDataException($"Unexpected wire type {WireFormat.GetTagWireType(tag)} for field {field}.");
            }
        }

        return result;
    }

    private readonly record struct WireValue(ulong Varint, byte[]? Bytes)
    {
        public string String => System.Text.Encoding.UTF8.GetString(Bytes ?? []);

        public IEnumerable<ulong> Packed()
        {
            var input = new CodedInputStream(Bytes ?? []);
            var values = new List<ulong>();
            while (!input.IsAtEnd)
            {
                values.Add(input.ReadUInt64());
            }

            return values;
        }
    }
}

internal sealed record PushedSeries(IReadOnlyList<KeyValuePair<string, string>> Labels, IReadOnlyList<byte[]> RawProfiles, IReadOnlyList<string> Ids)
{
    public string? Label(string name) => Labels.FirstOrDefault(l => l.Key == name).Value;

    public string Name => Label("__name__") ?? "";

    private Pprof? _profile;

    /// <summary>Decoded once: tests poll the received series many times.</summary>
    public Pprof Profile => _profile ??= PushWire.DecodeProfile(RawProfiles.Single());

    /// <summary>The Pyroscope profile type ids this series makes, one per sample type, as Pyroscope derives them.</summary>
    public IEnumerable<string> TypeIds => Profile.SampleTypeNames.Select(t =>
        $"{Name}:{t}:{Profile.S(Profile.PeriodType.Type)}:{Profile.S(Profile.PeriodType.Unit)}");

    public bool Is(string typeId) => TypeIds.Contains(typeId);
}

internal sealed class Pprof
{
    public bool WasGzipped { get; init; }
    public List<string> StringTable { get; } = [];
    public List<(long Type, long Unit)> SampleTypes { get; } = [];
    public List<PprofSample> Samples { get; } = [];
    public Dictionary<ulong, PprofLocation> Locations { get; } = [];
    public Dictionary<ulong, PprofFunction> Functions { get; } = [];
    public int MappingCount { get; set; }
    public long TimeNanos { get; set; }
    public long DurationNanos { get; set; }
    public (long Type, long Unit) PeriodType { get; set; }
    public long Period { get; set; }

    public string S(long index) => StringTable[(int)index];

    /// <summary>Sample and period types as Pyroscope's profile type ids would read them: "type:unit".</summary>
    public IEnumerable<string> SampleTypeNames => SampleTypes.Select(t => $"{S(t.Type)}:{S(t.Unit)}");

    /// <summary>A sample's function names, leaf first.</summary>
    public IReadOnlyList<string> Stack(PprofSample sample) =>
        sample.LocationIds.SelectMany(id => Locations[id].FunctionIds).Select(f => S(Functions[f].Name)).ToList();

    public string? Label(PprofSample sample, string key) =>
        sample.Labels.Where(l => S(l.Key) == key).Select(l => S(l.Str)).FirstOrDefault();
}

internal sealed class PprofSample
{
    public List<ulong> LocationIds { get; } = [];
    public List<long> Values { get; } = [];
    public List<(long Key, long Str)> Labels { get; } = [];
}

internal sealed record PprofLocation(ulong Id, ulong MappingId, IReadOnlyList<ulong> FunctionIds);

internal sealed record PprofFunction(ulong Id, long Name, long SystemName, long Filename);
