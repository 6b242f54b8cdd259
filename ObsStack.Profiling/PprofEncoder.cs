using System.IO.Compression;
using Google.Protobuf;

namespace ObsStack.Profiling;

/// <summary>
/// Writes a <see cref="ProfileSnapshot"/> as a gzip-compressed pprof <c>perftools.profiles.Profile</c>
/// (github.com/google/pprof proto/profile.proto; field numbers in the constants below). Hand-written on
/// <see cref="CodedOutputStream"/>: the profile is built once per interval and this avoids generated code for a
/// message with five nested types of which we use a fraction. Nested messages are written with sizes computed up front
/// (all field numbers are below 16, so every tag is one byte), so nothing is buffered twice.
/// </summary>
internal static class PprofEncoder
{
    // Profile
    private const int ProfileSampleType = 1, ProfileSample = 2, ProfileMapping = 3, ProfileLocation = 4, ProfileFunction = 5,
        ProfileStringTable = 6, ProfileTimeNanos = 9, ProfileDurationNanos = 10, ProfilePeriodType = 11, ProfilePeriod = 12,
        ProfileDefaultSampleType = 14;

    // ValueType, Sample, Label, Mapping, Location, Line, Function
    private const int ValueTypeType = 1, ValueTypeUnit = 2;
    private const int SampleLocationId = 1, SampleValue = 2, SampleLabel = 3;
    private const int LabelKey = 1, LabelStr = 2;
    private const int MappingId = 1, MappingHasFunctions = 7;
    private const int LocationId = 1, LocationMappingId = 2, LocationLine = 4;
    private const int LineFunctionId = 1;
    private const int FunctionId = 1, FunctionName = 2, FunctionSystemName = 3, FunctionFilename = 4;

    /// <summary>The pprof sample label Pyroscope reads span ids from (grafana/pyroscope pkg/pprof, SpanIDLabelName).</summary>
    public const string SpanIdLabel = "span_id";

    public static byte[] EncodeGzipped(ProfileSnapshot snapshot)
    {
        using var output = new MemoryStream();
        using (var gzip = new GZipStream(output, CompressionLevel.Fastest, leaveOpen: true))
        {
            var raw = Encode(snapshot);
            gzip.Write(raw);
        }

        return output.ToArray();
    }

    public static byte[] Encode(ProfileSnapshot snapshot)
    {
        // Strings get their index in the order they are first written; the table itself goes last.
        var strings = new PprofStringTable();
        var functions = new Dictionary<Frame, ulong>();

        using var body = new MemoryStream();
        var output = new CodedOutputStream(body, leaveOpen: true);

        foreach (var (sampleType, unit) in snapshot.Type.SampleTypes)
        {
            WriteValueType(output, ProfileSampleType, strings.Index(sampleType), strings.Index(unit));
        }

        WriteSamples(output, snapshot.Samples, strings, functions);
        WriteMapping(output);
        WriteLocations(output, functions);
        WriteFunctions(output, functions, strings);
        WriteStringTableAndTiming(output, snapshot, strings);

        output.Flush();
        return body.ToArray();
    }

    private static void WriteSamples(
        CodedOutputStream output, IEnumerable<ProfileSample> samples, PprofStringTable strings, Dictionary<Frame, ulong> functions)
    {
        var spanKey = 0L;
        var locationIds = new List<ulong>(64);
        foreach (var sample in samples)
        {
            locationIds.Clear();
            foreach (var frame in sample.Stack)
            {
                if (!functions.TryGetValue(frame, out var id))
                {
                    id = (ulong)functions.Count + 1;
                    functions.Add(frame, id);
                }

                // One location per function: the profile is symbolized, addresses would only add cardinality.
                locationIds.Add(id);
            }

            long labelKey = 0, labelValue = 0;
            if (sample.SpanNumber != 0)
            {
                spanKey = spanKey == 0 ? strings.Index(SpanIdLabel) : spanKey;
                labelKey = spanKey;
                labelValue = strings.Index(SpanProfileLink.ToHex(sample.SpanNumber));
            }

            WriteSample(output, locationIds, sample.Values, labelKey, labelValue);
        }
    }

    /// <summary>One sample: its location ids and values (packed), and the span label when it has one (key 0: none).</summary>
    private static void WriteSample(CodedOutputStream output, List<ulong> locationIds, long[] values, long labelKey, long labelValue)
    {
        var locationsSize = 0;
        foreach (var id in locationIds)
        {
            locationsSize += CodedOutputStream.ComputeUInt64Size(id);
        }

        var valuesSize = 0;
        foreach (var value in values)
        {
            valuesSize += CodedOutputStream.ComputeInt64Size(value);
        }

        var labelSize = labelKey == 0 ? 0 : 2 + CodedOutputStream.ComputeInt64Size(labelKey) + CodedOutputStream.ComputeInt64Size(labelValue);
        var sampleSize = LengthDelimitedSize(locationsSize) + LengthDelimitedSize(valuesSize) + (labelKey == 0 ? 0 : LengthDelimitedSize(labelSize));

        output.WriteTag(ProfileSample, WireFormat.WireType.LengthDelimited);
        output.WriteLength(sampleSize);
        output.WriteTag(SampleLocationId, WireFormat.WireType.LengthDelimited);
        output.WriteLength(locationsSize);
        foreach (var id in locationIds)
        {
            output.WriteUInt64(id);
        }

        output.WriteTag(SampleValue, WireFormat.WireType.LengthDelimited);
        output.WriteLength(valuesSize);
        foreach (var value in values)
        {
            output.WriteInt64(value);
        }

        if (labelKey != 0)
        {
            output.WriteTag(SampleLabel, WireFormat.WireType.LengthDelimited);
            output.WriteLength(labelSize);
            output.WriteTag(LabelKey, WireFormat.WireType.Varint);
            output.WriteInt64(labelKey);
            output.WriteTag(LabelStr, WireFormat.WireType.Varint);
            output.WriteInt64(labelValue);
        }
    }

    /// <summary>A single mapping that says "already symbolized", so pprof tools do not try to resolve addresses.</summary>
    private static void WriteMapping(CodedOutputStream output)
    {
        output.WriteTag(ProfileMapping, WireFormat.WireType.LengthDelimited);
        output.WriteLength(4);
        output.WriteTag(MappingId, WireFormat.WireType.Varint);
        output.WriteUInt64(1);
        output.WriteTag(MappingHasFunctions, WireFormat.WireType.Varint);
        output.WriteBool(true);
    }

    /// <summary>One location per function, with the function's id, in the one mapping.</summary>
    private static void WriteLocations(CodedOutputStream output, Dictionary<Frame, ulong> functions)
    {
        foreach (var (_, id) in functions)
        {
            var idSize = CodedOutputStream.ComputeUInt64Size(id);
            var lineSize = 1 + idSize;
            output.WriteTag(ProfileLocation, WireFormat.WireType.LengthDelimited);
            output.WriteLength(1 + idSize + 2 + LengthDelimitedSize(lineSize));
            output.WriteTag(LocationId, WireFormat.WireType.Varint);
            output.WriteUInt64(id);
            output.WriteTag(LocationMappingId, WireFormat.WireType.Varint);
            output.WriteUInt64(1);
            output.WriteTag(LocationLine, WireFormat.WireType.LengthDelimited);
            output.WriteLength(lineSize);
            output.WriteTag(LineFunctionId, WireFormat.WireType.Varint);
            output.WriteUInt64(id);
        }
    }

    private static void WriteFunctions(CodedOutputStream output, Dictionary<Frame, ulong> functions, PprofStringTable strings)
    {
        foreach (var (frame, id) in functions)
        {
            var name = strings.Index(frame.Function);
            var module = frame.Module.Length > 0 ? strings.Index(frame.Module) : 0;
            var size = 1 + CodedOutputStream.ComputeUInt64Size(id) + 2 * (1 + CodedOutputStream.ComputeInt64Size(name))
                + (module == 0 ? 0 : 1 + CodedOutputStream.ComputeInt64Size(module));
            output.WriteTag(ProfileFunction, WireFormat.WireType.LengthDelimited);
            output.WriteLength(size);
            output.WriteTag(FunctionId, WireFormat.WireType.Varint);
            output.WriteUInt64(id);
            output.WriteTag(FunctionName, WireFormat.WireType.Varint);
            output.WriteInt64(name);
            output.WriteTag(FunctionSystemName, WireFormat.WireType.Varint);
            output.WriteInt64(name);
            if (module != 0)
            {
                output.WriteTag(FunctionFilename, WireFormat.WireType.Varint);
                output.WriteInt64(module);
            }
        }
    }

    /// <summary>The string table, time, duration, period and default sample type.</summary>
    private static void WriteStringTableAndTiming(CodedOutputStream output, ProfileSnapshot snapshot, PprofStringTable strings)
    {
        var type = snapshot.Type;
        var periodType = strings.Index(type.PeriodType.Type);
        var periodUnit = strings.Index(type.PeriodType.Unit);
        var defaultSampleType = strings.Index(type.SampleTypes[^1].Type);

        // The string table goes last because every index above had to be assigned first; field order does not
        // matter on the wire.
        foreach (var s in strings.All)
        {
            output.WriteTag(ProfileStringTable, WireFormat.WireType.LengthDelimited);
            output.WriteString(s);
        }

        output.WriteTag(ProfileTimeNanos, WireFormat.WireType.Varint);
        output.WriteInt64(snapshot.Start.ToUnixTimeMilliseconds() * 1_000_000);
        output.WriteTag(ProfileDurationNanos, WireFormat.WireType.Varint);
        output.WriteInt64(snapshot.Duration.Ticks * 100);
        WriteValueType(output, ProfilePeriodType, periodType, periodUnit);
        output.WriteTag(ProfilePeriod, WireFormat.WireType.Varint);
        output.WriteInt64(type.Period);
        output.WriteTag(ProfileDefaultSampleType, WireFormat.WireType.Varint);
        output.WriteInt64(defaultSampleType);
    }

    private static int LengthDelimitedSize(int payload) => 1 + CodedOutputStream.ComputeLengthSize(payload) + payload;

    private static void WriteValueType(CodedOutputStream output, int field, long type, long unit)
    {
        output.WriteTag(field, WireFormat.WireType.LengthDelimited);
        output.WriteLength(2 + CodedOutputStream.ComputeInt64Size(type) + CodedOutputStream.ComputeInt64Size(unit));
        output.WriteTag(ValueTypeType, WireFormat.WireType.Varint);
        output.WriteInt64(type);
        output.WriteTag(ValueTypeUnit, WireFormat.WireType.Varint);
        output.WriteInt64(unit);
    }
}
