using System.Globalization;
using System.IO.Compression;
using System.Text.RegularExpressions;
using Google.Protobuf;
using ObsStack.Benchmarks.Harness;

namespace ObsStack.Benchmarks.Throughput;

/// <summary>
/// Whose code the pushed profiles show for a worker under load with the profiler's defaults: the share of CPU, wall
/// and allocated bytes in frames of the profiler itself (TraceEvent, ObsStack's profiling namespace) and in the
/// worker's own code (<c>ObsStack.Worker.*</c>), read from the pprof bytes the profiler really pushed. Beside it, the
/// share the profiler reports it left out of each session (its debug cycle line): what the same profiles would have
/// carried without the exclusion.
/// </summary>
internal sealed partial class ProfileShareSuite(ProfileShareSuite.Options options)
{
    /// <param name="Rate">Jobs per second from the worker's own load generator; 0: saturated through <c>POST /jobs</c>.</param>
    /// <param name="LiveHeap">Also the live-heap profile (a heap walk per interval), to time it.</param>
    public sealed record Options(TimeSpan Warmup, TimeSpan Duration, int Workers, double Rate, bool LiveHeap = false);

    private static readonly (string Key, string SampleType)[] Types =
    [
        ("process_cpu", "cpu"),
        ("wall", "wall"),
        ("memory", "alloc_space"),
    ];

    public async Task RunAsync()
    {
        var report = new Report("profileshare");
        await using var peers = await LoopbackPeers.StartAsync();
        peers.KeepProfiles = 2_000;
        var settings = Scenario.FullProfiler.WorkerSettings(peers, options.Workers, queueCapacity: 1000);
        settings["Logging__LogLevel__ObsStack.Profiling"] = "Debug";
        if (options.LiveHeap)
        {
            settings["Telemetry__Profiles__LiveHeap"] = "true";
        }

        if (options.Rate > 0)
        {
            settings["LoadGenerator__Enabled"] = "true";
            settings["LoadGenerator__RatePerSecond"] = options.Rate.ToString(CultureInfo.InvariantCulture);
            settings["LoadGenerator__Targets__0"] = peers.TargetUrl(0, 1);
        }

        await using var worker = await WorkerProcess.StartAsync(settings, TimeSpan.FromSeconds(60), line => line.Contains("Profiler session", StringComparison.Ordinal));
        await using (var driver = new JobDriver(worker.Client, peers, 1000))
        {
            if (options.Rate <= 0)
            {
                driver.Start();
            }

            await Task.Delay(options.Warmup);
            var from = DateTime.UtcNow;
            var jobsBefore = (await worker.ScrapeAsync()).Sum("jobs_total");
            await Task.Delay(options.Duration);
            var jobs = (await worker.ScrapeAsync()).Sum("jobs_total") - jobsBefore;
            Console.WriteLine($"   {jobs / options.Duration.TotalSeconds:F0} jobs/s");

            report.Line("# Profile share: whose code a loaded worker's pushed profiles show");
            report.Line();
            report.Line(Machine.Describe());
            report.Line($"- Worker under load ({(options.Rate > 0 ? $"its load generator at {options.Rate} jobs/s" : "saturated through POST /jobs")}; full+profiler, profiler defaults, {options.Workers} workers): {jobs / options.Duration.TotalSeconds:F0} jobs/s; profiles pushed in {options.Duration.TotalSeconds:0} s after {options.Warmup.TotalSeconds:0} s warmup");
            report.Line();
            report.Line("| profile | pushed | profiler's frames in the pushed profiles | worker's code (`ObsStack.Worker.*`) | left out by the profiler (median of its cycles) |");
            report.Line("| --- | ---: | ---: | ---: | ---: |");
            var leftOut = LeftOut(worker.Warnings);
            foreach (var (key, sampleType) in Types)
            {
                var (count, own, mine) = Shares(peers.KeptProfiles.Where(p => p.At >= from).Select(p => p.Body), key, sampleType);
                var left = leftOut.TryGetValue(key, out var values) && values.Count > 0 ? values.Median() : double.NaN;
                report.Line($"| {key}:{sampleType} | {count} | {Report.F(own * 100, 2)} % | {Report.F(mine * 100, 1)} % | {Report.F(left * 100, 1)} % |");
            }
        }

        // The cycle lines also time the end of each session and the heap walk.
        var cycleLines = worker.Warnings.Where(l => l.Contains("Profiler session", StringComparison.Ordinal)).ToList();
        var cycles = cycleLines.Select(l => CycleRegex().Match(l)).Where(m => m.Success).ToList();
        if (cycles.Count > 0)
        {
            report.Line();
            report.Line($"Per cycle (median of {cycles.Count}): stopping and naming {Report.F(cycles.Select(m => Ms(m, 1)).ToList().Median(), 0)} ms, live-heap walk {Report.F(cycles.Select(m => Ms(m, 2)).ToList().Median(), 0)} ms"
                + $" (sessions with rundown: {cycleLines.Count(l => l.Contains("(with rundown)", StringComparison.Ordinal))} of {cycleLines.Count}).");
        }

        Console.WriteLine();
        Console.WriteLine($"Saved: {report.Save()}");
    }

    /// <summary>Per profile type key, the shares the profiler's debug cycle lines report ("left out: process_cpu 12.3 %, ...").</summary>
    private static Dictionary<string, List<double>> LeftOut(IEnumerable<string> lines)
    {
        var shares = new Dictionary<string, List<double>>();
        foreach (var line in lines)
        {
            var tail = line.IndexOf("left out:", StringComparison.Ordinal);
            if (tail < 0)
            {
                continue;
            }

            foreach (Match m in ShareRegex().Matches(line[tail..]))
            {
                var value = double.Parse(m.Groups[2].Value.Replace(',', '.'), CultureInfo.InvariantCulture) / 100;
                (shares.TryGetValue(m.Groups[1].Value, out var list) ? list : shares[m.Groups[1].Value] = []).Add(value);
            }
        }

        return shares;
    }

    private static double Ms(Match m, int group) => double.Parse(m.Groups[group].Value, CultureInfo.InvariantCulture);

    [GeneratedRegex(@"took ([0-9]+) ms, the live heap ([0-9]+) ms")]
    private static partial Regex CycleRegex();

    [GeneratedRegex(@"([a-z_]+) ([0-9]+[.,][0-9]+)\s?%")]
    private static partial Regex ShareRegex();

    /// <summary>Over every pushed profile of one type: how many, and the value shares of profiler frames and worker frames.</summary>
    private static (int Count, double Own, double Worker) Shares(IEnumerable<byte[]> pushes, string name, string sampleType)
    {
        double total = 0, own = 0, worker = 0;
        var count = 0;
        foreach (var push in pushes)
        {
            foreach (var (seriesName, raw) in Series(push))
            {
                if (seriesName != name)
                {
                    continue;
                }

                var profile = Pprof.Decode(raw);
                var index = profile.SampleTypes.IndexOf(sampleType);
                if (index < 0)
                {
                    continue;
                }

                count++;
                foreach (var (stack, values) in profile.Samples)
                {
                    var value = values[index];
                    total += value;
                    if (stack.Any(IsProfilerFrame))
                    {
                        own += value;
                    }

                    if (stack.Any(f => f.StartsWith("ObsStack.Worker.", StringComparison.Ordinal)))
                    {
                        worker += value;
                    }
                }
            }
        }

        return total > 0 ? (count, own / total, worker / total) : (count, double.NaN, double.NaN);
    }

    private static bool IsProfilerFrame(string function) =>
        function.StartsWith("Microsoft.Diagnostics.", StringComparison.Ordinal)
        || (function.StartsWith("ObsStack.Profiling.", StringComparison.Ordinal)
            && !function.StartsWith("ObsStack.Profiling.ThreadTimeline", StringComparison.Ordinal)
            && !function.StartsWith("ObsStack.Profiling.SpanProfileLink", StringComparison.Ordinal));

    /// <summary><c>PushRequest.series[].{labels[__name__], samples[].raw_profile}</c>.</summary>
    private static IEnumerable<(string Name, byte[] Raw)> Series(byte[] push)
    {
        foreach (var (field, series) in Fields(push))
        {
            if (field != 1 || series is null)
            {
                continue;
            }

            string? name = null;
            var raws = new List<byte[]>();
            foreach (var (f, v) in Fields(series))
            {
                if (f == 1 && v is not null)
                {
                    string? key = null, value = null;
                    foreach (var (lf, lv) in Fields(v))
                    {
                        if (lf == 1) key = System.Text.Encoding.UTF8.GetString(lv!);
                        if (lf == 2) value = System.Text.Encoding.UTF8.GetString(lv!);
                    }

                    name = key == "__name__" ? value : name;
                }
                else if (f == 2 && v is not null)
                {
                    raws.AddRange(Fields(v).Where(x => x.Field == 1).Select(x => x.Bytes!));
                }
            }

            foreach (var raw in raws)
            {
                yield return (name ?? "", raw);
            }
        }
    }

    /// <summary>The length-delimited fields of a message (varints are skipped: this reader needs only nested messages and strings).</summary>
    private static List<(int Field, byte[]? Bytes)> Fields(byte[] message)
    {
        var fields = new List<(int, byte[]?)>();
        var input = new CodedInputStream(message);
        uint tag;
        while ((tag = input.ReadTag()) != 0)
        {
            var field = WireFormat.GetTagFieldNumber(tag);
            if (WireFormat.GetTagWireType(tag) == WireFormat.WireType.LengthDelimited)
            {
                fields.Add((field, input.ReadBytes().ToByteArray()));
            }
            else
            {
                input.SkipLastField();
            }
        }

        return fields;
    }

    /// <summary>The parts of a pprof profile this suite reads: sample types, samples as function names, values.</summary>
    private sealed class Pprof
    {
        public List<string> SampleTypes { get; } = [];
        public List<(List<string> Stack, List<long> Values)> Samples { get; } = [];

        public static Pprof Decode(byte[] gzipped)
        {
            using var raw = new MemoryStream();
            using (var gzip = new GZipStream(new MemoryStream(gzipped), CompressionMode.Decompress))
            {
                gzip.CopyTo(raw);
            }

            var strings = new List<string>();
            var sampleTypes = new List<long>();
            var samples = new List<(List<ulong> Locations, List<long> Values)>();
            var locations = new Dictionary<ulong, List<ulong>>();
            var functions = new Dictionary<ulong, long>();
            var input = new CodedInputStream(raw.ToArray());
            uint tag;
            while ((tag = input.ReadTag()) != 0)
            {
                switch (WireFormat.GetTagFieldNumber(tag))
                {
                    case 1: sampleTypes.Add(ReadValueType(input.ReadBytes())); break;
                    case 2: samples.Add(ReadSample(input.ReadBytes())); break;
                    case 4: var (id, fns) = ReadLocation(input.ReadBytes()); locations[id] = fns; break;
                    case 5: var (fid, nameIndex) = ReadFunction(input.ReadBytes()); functions[fid] = nameIndex; break;
                    case 6: strings.Add(input.ReadString()); break;
                    default: input.SkipLastField(); break;
                }
            }

            var profile = new Pprof();
            profile.SampleTypes.AddRange(sampleTypes.Select(t => strings[(int)t]));
            foreach (var (locs, values) in samples)
            {
                var stack = locs.SelectMany(l => locations[l]).Select(f => strings[(int)functions[f]]).ToList();
                profile.Samples.Add((stack, values));
            }

            return profile;
        }

        private static long ReadValueType(ByteString bytes)
        {
            var input = bytes.CreateCodedInput();
            uint tag;
            long type = 0;
            while ((tag = input.ReadTag()) != 0)
            {
                if (WireFormat.GetTagFieldNumber(tag) == 1) type = input.ReadInt64(); else input.SkipLastField();
            }

            return type;
        }

        private static (List<ulong>, List<long>) ReadSample(ByteString bytes)
        {
            var input = bytes.CreateCodedInput();
            var locations = new List<ulong>();
            var values = new List<long>();
            uint tag;
            while ((tag = input.ReadTag()) != 0)
            {
                var field = WireFormat.GetTagFieldNumber(tag);
                if (field is 1 or 2 && WireFormat.GetTagWireType(tag) == WireFormat.WireType.LengthDelimited)
                {
                    var packed = input.ReadBytes().CreateCodedInput();
                    while (!packed.IsAtEnd)
                    {
                        if (field == 1) locations.Add(packed.ReadUInt64()); else values.Add(packed.ReadInt64());
                    }
                }
                else if (field == 1) locations.Add(input.ReadUInt64());
                else if (field == 2) values.Add(input.ReadInt64());
                else input.SkipLastField();
            }

            return (locations, values);
        }

        private static (ulong, List<ulong>) ReadLocation(ByteString bytes)
        {
            var input = bytes.CreateCodedInput();
            ulong id = 0;
            var functions = new List<ulong>();
            uint tag;
            while ((tag = input.ReadTag()) != 0)
            {
                switch (WireFormat.GetTagFieldNumber(tag))
                {
                    case 1: id = input.ReadUInt64(); break;
                    case 4:
                        var line = input.ReadBytes().CreateCodedInput();
                        uint lineTag;
                        while ((lineTag = line.ReadTag()) != 0)
                        {
                            if (WireFormat.GetTagFieldNumber(lineTag) == 1) functions.Add(line.ReadUInt64()); else line.SkipLastField();
                        }

                        break;
                    default: input.SkipLastField(); break;
                }
            }

            return (id, functions);
        }

        private static (ulong, long) ReadFunction(ByteString bytes)
        {
            var input = bytes.CreateCodedInput();
            ulong id = 0;
            long name = 0;
            uint tag;
            while ((tag = input.ReadTag()) != 0)
            {
                switch (WireFormat.GetTagFieldNumber(tag))
                {
                    case 1: id = input.ReadUInt64(); break;
                    case 2: name = input.ReadInt64(); break;
                    default: input.SkipLastField(); break;
                }
            }

            return (id, name);
        }
    }
}
