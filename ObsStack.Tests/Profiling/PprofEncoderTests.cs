using ObsStack.Profiling;

namespace ObsStack.Tests.Profiling;

public sealed class PprofEncoderTests
{
    private static readonly Frame Main = new("App.Program.Main", "App");
    private static readonly Frame Handle = new("App.Handler.Handle", "App");
    private static readonly Frame Parse = new("System.Text.Json.JsonSerializer.Deserialize", "System.Text.Json");

    [Fact]
    public void Profile_has_pprof_structure_shared_functions_and_span_labels()
    {
        var start = DateTimeOffset.FromUnixTimeSeconds(1_700_000_000);
        var snapshot = new ProfileSnapshot(ProfileType.Cpu, start, TimeSpan.FromSeconds(15),
        [
            new ProfileSample([Parse, Handle, Main], [3_000_000], SpanNumber: 0x0123456789abcdef),
            new ProfileSample([Handle, Main], [1_000_000], SpanNumber: 0),
        ]);

        var profile = PushWire.DecodeProfile(PprofEncoder.EncodeGzipped(snapshot));

        Assert.True(profile.WasGzipped);
        Assert.Equal("", profile.StringTable[0]);
        Assert.Equal(profile.StringTable.Count, profile.StringTable.Distinct().Count());
        Assert.Equal(["cpu:nanoseconds"], profile.SampleTypeNames);
        Assert.Equal(start.ToUnixTimeMilliseconds() * 1_000_000, profile.TimeNanos);
        Assert.Equal(15_000_000_000, profile.DurationNanos);
        Assert.Equal(1_000_000, profile.Period);

        Assert.Equal(2, profile.Samples.Count);
        Assert.Equal(["System.Text.Json.JsonSerializer.Deserialize", "App.Handler.Handle", "App.Program.Main"], profile.Stack(profile.Samples[0]));
        Assert.Equal(["App.Handler.Handle", "App.Program.Main"], profile.Stack(profile.Samples[1]));
        Assert.Equal([3_000_000L], profile.Samples[0].Values);
        Assert.Equal("0123456789abcdef", profile.Label(profile.Samples[0], "span_id"));
        Assert.Empty(profile.Samples[1].Labels);

        // Three distinct functions, each once, with its module as file name.
        Assert.Equal(3, profile.Functions.Count);
        Assert.Equal(3, profile.Locations.Count);
        var parse = profile.Functions.Values.Single(f => profile.S(f.Name) == Parse.Function);
        Assert.Equal("System.Text.Json", profile.S(parse.Filename));
        Assert.Equal(parse.Name, parse.SystemName);
    }

    [Fact]
    public void Allocation_profile_carries_objects_then_bytes()
    {
        var snapshot = new ProfileSnapshot(ProfileType.Allocations, DateTimeOffset.UtcNow, TimeSpan.FromSeconds(15),
            [new ProfileSample([new Frame("System.Byte[]", ""), Handle], [25, 102_400], 0)]);

        var profile = PushWire.DecodeProfile(PprofEncoder.EncodeGzipped(snapshot));

        Assert.Equal(["alloc_objects:count", "alloc_space:bytes"], profile.SampleTypeNames);
        Assert.Equal(("space", "bytes"), (profile.S(profile.PeriodType.Type), profile.S(profile.PeriodType.Unit)));
        Assert.Equal([25L, 102_400L], profile.Samples.Single().Values);
    }

    [Fact]
    public void Push_request_holds_the_series_labels_and_the_raw_profile()
    {
        var identity = new ProfiledService("worker", "1.0.0+abc", "production", "host-7");
        var pprof = PprofEncoder.EncodeGzipped(new ProfileSnapshot(ProfileType.LockContention, DateTimeOffset.UtcNow, TimeSpan.FromSeconds(15),
            [new ProfileSample([Handle], [2, 5_000], 0)]));

        var body = PyroscopeUploader.EncodePushRequest(new EncodedProfile(ProfileType.LockContention, pprof), PyroscopeUploader.SeriesLabels(identity));

        var series = Assert.Single(PushWire.DecodePushRequest(body));
        Assert.Equal("mutex", series.Label("__name__"));
        Assert.Equal("worker", series.Label("service_name"));
        Assert.Equal("1.0.0+abc", series.Label("service_version"));
        Assert.Equal("production", series.Label("deployment_environment_name"));
        Assert.Equal("host-7", series.Label("service_instance_id"));
        Assert.Equal("host-7", series.Label("instance"));
        Assert.Equal(series.Labels.Count, series.Labels.Select(l => l.Key).Distinct().Count());
        Assert.Equal(pprof, Assert.Single(series.RawProfiles));
        Assert.True(Guid.TryParse(Assert.Single(series.Ids), out _));
        Assert.Equal(["contentions:count", "delay:nanoseconds"], series.Profile.SampleTypeNames);
    }

    [Fact]
    public void Profile_type_ids_are_the_ones_grafana_knows()
    {
        Assert.Equal(["process_cpu:cpu:nanoseconds:cpu:nanoseconds"], ProfileType.Cpu.Ids);
        Assert.Equal(["memory:alloc_objects:count:space:bytes", "memory:alloc_space:bytes:space:bytes"], ProfileType.Allocations.Ids);
        Assert.Equal(["mutex:contentions:count:contentions:count", "mutex:delay:nanoseconds:contentions:count"], ProfileType.LockContention.Ids);
    }
}
