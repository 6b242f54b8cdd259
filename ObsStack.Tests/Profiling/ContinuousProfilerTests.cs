using System.Diagnostics;
using System.Net.Sockets;
using System.Runtime.CompilerServices;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using ObsStack.Profiling;
using ObsStack.Tests.Infrastructure;

namespace ObsStack.Tests.Profiling;

/// <summary>
/// The profiler end to end: a real service profiles itself through EventPipe and pushes to a loopback receiver that
/// speaks Pyroscope's push API; the assertions are on the decoded bytes that crossed the wire.
/// </summary>
[Collection(ProfilerCollection.Name)]
public sealed class ContinuousProfilerTests
{
    // A deadline, not a wait: generous because CI machines have two cores and other tests run alongside.
    private static readonly TimeSpan s_deadline = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task Cpu_profile_on_the_wire_is_valid_pprof_with_service_labels_and_the_busy_method()
    {
        await using var pyroscope = await PyroscopeReceiver.StartAsync();
        await using var app = await ProfiledApp.StartAsync(Settings(pyroscope.BaseAddress));
        // A thread that waits the whole time: sampled every millisecond too, but never running, so never on CPU.
        using var release = new ManualResetEvent(false); // not the Slim one: that spins before it blocks
        var waiter = new Thread(() => WaitWithoutCpu(release)) { IsBackground = true };
        waiter.Start();

        var series = await WhileBurningCpu(() => pyroscope.WaitForAsync(
            s => s.Is(ProfileTypeIds.Cpu) && HasFrame(s.Profile, nameof(BurnCpu)), s_deadline, $"a CPU stack through {nameof(BurnCpu)}"));
        release.Set();
        waiter.Join();

        var push = pyroscope.Received.First(r => r.Series.Contains(series));
        Assert.Equal("application/proto", push.ContentType);
        Assert.Equal("1", push.ConnectProtocolVersion);

        Assert.Equal(ProfiledApp.ServiceName, series.Label("service_name"));
        Assert.Equal(ProfiledApp.ServiceVersion, series.Label("service_version"));
        Assert.Equal(ProfiledApp.Environment, series.Label("deployment_environment_name"));
        Assert.Equal(ProfiledApp.InstanceId, series.Label("instance"));
        Assert.Single(series.RawProfiles);

        var profile = series.Profile;
        Assert.True(profile.WasGzipped);
        Assert.Equal("", profile.StringTable[0]);
        Assert.Equal(["cpu:nanoseconds"], profile.SampleTypeNames);
        Assert.Equal(("cpu", "nanoseconds"), (profile.S(profile.PeriodType.Type), profile.S(profile.PeriodType.Unit)));
        Assert.Equal(1_000_000, profile.Period);
        Assert.InRange(profile.DurationNanos, TimeSpan.FromSeconds(0.5).Ticks * 100, TimeSpan.FromSeconds(5).Ticks * 100);
        Assert.InRange(DateTimeOffset.FromUnixTimeMilliseconds(profile.TimeNanos / 1_000_000), DateTimeOffset.UtcNow.AddMinutes(-1), DateTimeOffset.UtcNow);

        // Referential integrity, as Pyroscope's validation and pprof tools require it.
        Assert.NotEmpty(profile.Samples);
        foreach (var sample in profile.Samples)
        {
            Assert.Single(sample.Values);
            Assert.True(sample.Values[0] > 0);
            Assert.NotEmpty(sample.LocationIds);
            Assert.All(sample.LocationIds, id => Assert.True(profile.Locations.ContainsKey(id), $"location {id} missing"));
        }

        Assert.All(profile.Locations.Values, l => Assert.All(l.FunctionIds, f => Assert.True(profile.Functions.ContainsKey(f), $"function {f} missing")));
        Assert.All(profile.Functions.Values, f => Assert.NotEqual("", profile.S(f.Name)));
        Assert.True(profile.MappingCount >= 1);

        // The busy method appears fully qualified, with its caller below it in the stack (leaf first). It is usually
        // the leaf, but a sample may land in a helper it calls, so the leaf itself is not asserted.
        var burning = profile.Samples.Select(profile.Stack).First(s => s.Any(f => f.EndsWith(nameof(BurnCpu))));
        var at = Array.FindIndex([.. burning], f => f.EndsWith(nameof(BurnCpu)));
        Assert.Equal($"{typeof(ContinuousProfilerTests).FullName}.{nameof(BurnCpu)}", burning[at]);
        // Below it the whole stack resolved, down to the dedicated thread's start.
        Assert.True(burning.Count - at >= 3, $"stack below {nameof(BurnCpu)}: {string.Join(" <- ", burning.Skip(at))}");
        Assert.Equal("System.Threading.Thread.StartCallback", burning[^1]);

        Assert.DoesNotContain(pyroscope.Series.Where(s => s.Is(ProfileTypeIds.Cpu)), s => HasFrame(s.Profile, nameof(WaitWithoutCpu)));
    }

    [Fact]
    public async Task Sessions_without_the_rundown_name_the_whole_stack_from_the_method_catalog()
    {
        await using var pyroscope = await PyroscopeReceiver.StartAsync();
        await using var app = await ProfiledApp.StartAsync(Settings(pyroscope.BaseAddress));

        // Only the first session replays every loaded method; later ones rely on what the catalog learnt. A profile
        // pushed after two sessions without the rundown comes from such a session.
        var series = await WhileBurningCpu(async () =>
        {
            await Poll.UntilAsync(() => app.Logs.Logs.Count(l => l.Message.Contains("(without rundown)")) >= 2, "two sessions without the rundown", s_deadline);
            var seen = pyroscope.Received.Count;
            return await pyroscope.WaitForAsync(
                s => pyroscope.Received.Skip(seen).Any(r => r.Series.Contains(s)) && s.Is(ProfileTypeIds.Cpu) && HasFrame(s.Profile, nameof(BurnCpu)),
                s_deadline, $"a later CPU profile through {nameof(BurnCpu)}");
        });

        var profile = series.Profile;
        var burning = profile.Samples.Select(profile.Stack).Where(s => s.Any(f => f.EndsWith(nameof(BurnCpu)))).ToList();
        // Compiled before the session and ReadyToRun code below it: both named, down to the thread's start.
        Assert.Contains(burning, s => s[^1] == "System.Threading.Thread.StartCallback" && !s.SkipWhile(f => !f.EndsWith(nameof(BurnCpu))).Contains("[unknown]"));
        Assert.Contains(app.Logs.Logs, l => l.Message.Contains("(with rundown)"));
    }

    [Fact]
    public async Task Allocation_profile_is_not_empty_under_an_allocating_workload()
    {
        await using var pyroscope = await PyroscopeReceiver.StartAsync();
        await using var app = await ProfiledApp.StartAsync(Settings(pyroscope.BaseAddress));

        using var stop = new CancellationTokenSource();
        var allocating = Task.Run(() => Allocate(stop.Token));
        PushedSeries series;
        try
        {
            series = await pyroscope.WaitForAsync(s => s.Name == "memory" && HasFrame(s.Profile, nameof(Allocate)), s_deadline, $"an allocation stack through {nameof(Allocate)}");
        }
        finally
        {
            await stop.CancelAsync();
            await allocating;
        }

        Assert.Equal(ProfiledApp.ServiceName, series.Label("service_name"));
        var profile = series.Profile;
        Assert.Equal(["alloc_objects:count", "alloc_space:bytes"], profile.SampleTypeNames);
        Assert.Equal(("space", "bytes"), (profile.S(profile.PeriodType.Type), profile.S(profile.PeriodType.Unit)));

        var mine = profile.Samples.Where(s => profile.Stack(s).Any(f => f.EndsWith(nameof(Allocate)))).ToList();
        Assert.True(mine.Sum(s => s.Values[1]) >= 100 * 1024, "at least one allocation tick's worth of bytes");
        Assert.All(mine, s => Assert.True(s.Values[0] >= 1));
        // The allocated type is the leaf frame.
        Assert.Contains(mine, s => profile.Stack(s)[0] == "System.Byte[]");
    }

    [Fact]
    public async Task Root_span_carries_profile_id_and_its_cpu_samples_carry_the_span_id()
    {
        await using var pyroscope = await PyroscopeReceiver.StartAsync();
        await using var app = await ProfiledApp.StartAsync(Settings(pyroscope.BaseAddress));
        using var source = new ActivitySource("ObsStack.Tests.Profiling");
        using var tracer = RecordEverything(source);
        using var probe = new EventPipeProbe();
        await Poll.UntilAsync(() => probe.SamplingSessionIsOpen, "the profiler's sampling session to open", s_deadline);

        // A thread burning CPU at the same time, outside any span: none of its samples may carry the span id.
        using var stopOutside = new CancellationTokenSource();
        var outside = new Thread(() =>
        {
            while (!stopOutside.IsCancellationRequested)
            {
                BurnCpuOutsideSpan(TimeSpan.FromMilliseconds(20));
            }
        }) { IsBackground = true };
        outside.Start();

        string rootSpan;
        object? childTag;
        using (var root = source.StartActivity("request")!)
        {
            rootSpan = root.SpanId.ToHexString();
            Assert.Equal(rootSpan, root.GetTagItem(SpanProfileLink.ProfileIdTag));
            using (var child = source.StartActivity("inner")!)
            {
                childTag = child.GetTagItem(SpanProfileLink.ProfileIdTag);
            }

            // Work for the span on several pool threads, hopping at each await, until the receiver has it.
            var found = pyroscope.WaitForAsync(s => s.Is(ProfileTypeIds.Cpu) && SpanSamples(s.Profile, rootSpan).Any(), s_deadline, $"CPU samples labelled span_id={rootSpan}");
            while (!found.IsCompleted)
            {
                await Task.Run(() => BurnCpu(TimeSpan.FromMilliseconds(50)));
                await Task.Yield();
            }

            await found;
        }

        await stopOutside.CancelAsync();
        outside.Join();

        Assert.Null(childTag);
        var cpu = pyroscope.Series.Where(s => s.Is(ProfileTypeIds.Cpu)).Select(s => s.Profile).ToList();
        var withSpan = cpu.SelectMany(p => SpanSamples(p, rootSpan)).ToList();
        Assert.Contains(withSpan, stack => stack[0].EndsWith(nameof(BurnCpu)));
        // The concurrent work outside the span was sampled, and none of it was attributed to the span.
        Assert.Contains(cpu, p => HasFrame(p, nameof(BurnCpuOutsideSpan)));
        Assert.DoesNotContain(withSpan, stack => stack.Any(f => f.EndsWith(nameof(BurnCpuOutsideSpan))));
    }

    [Fact]
    public void Between_sessions_a_root_span_is_neither_tagged_nor_tracked_on_its_thread()
    {
        // Duty cycling leaves most of each interval unsampled: a span started then has no profile to point at, and its
        // request threads must not pay for timeline entries nobody reads.
        using var link = new SpanProfileLink();
        using var source = new ActivitySource("ObsStack.Tests.Profiling.Idle");
        using var tracer = RecordEverything(source);
        Assert.False(ProfilingEventSource.Log.IsEnabled());

        object? tag = null;
        var timeline = -1;
        var thread = new Thread(() =>
        {
            using var root = source.StartActivity("request")!;
            tag = root.GetTagItem(SpanProfileLink.ProfileIdTag);
            timeline = ThreadTimeline.CurrentId;
        });
        thread.Start();
        thread.Join();

        Assert.Null(tag);
        Assert.Equal(0, timeline);
    }

    [Fact]
    public async Task Pyroscope_down_service_keeps_serving_drops_are_counted_and_logged_once()
    {
        await using var app = await ProfiledApp.StartAsync(Settings($"http://127.0.0.1:{ClosedPort()}"));
        using var http = new HttpClient { BaseAddress = new Uri(app.BaseAddress), Timeout = TimeSpan.FromSeconds(2) };

        var deadline = DateTime.UtcNow + s_deadline;
        var slowest = TimeSpan.Zero;
        long? heapAfterFirstDrops = null;
        while (app.Counter("profiler.uploads.dropped") < 5 && DateTime.UtcNow < deadline)
        {
            var watch = Stopwatch.StartNew();
            Assert.Equal("pong", await http.GetStringAsync("/ping"));
            slowest = watch.Elapsed > slowest ? watch.Elapsed : slowest;
            BurnCpu(TimeSpan.FromMilliseconds(100)); // something to profile
            if (heapAfterFirstDrops is null && app.Counter("profiler.uploads.dropped") >= 2)
            {
                heapAfterFirstDrops = GC.GetTotalMemory(forceFullCollection: true);
            }
        }

        Assert.True(app.Counter("profiler.uploads.dropped") >= 5, $"dropped counter is {app.Counter("profiler.uploads.dropped")}; {Cycles(app)}");
        // Several more intervals of profiles built and dropped: nothing of them may stay behind. (A session's
        // TraceLog or a queued profile kept per interval would be several MiB each.)
        var growth = GC.GetTotalMemory(forceFullCollection: true) - heapAfterFirstDrops!.Value;
        Assert.True(growth < 16 * 1024 * 1024, $"managed heap grew by {growth / 1024 / 1024} MiB while Pyroscope was down");
        Assert.Equal(0, app.Counter("profiler.uploads"));
        // A dead Pyroscope would show as requests waiting on it (connect timeouts are seconds); the bound leaves room
        // for scheduling stalls on a loaded two-core machine, which are not what this checks.
        Assert.True(slowest < TimeSpan.FromSeconds(3), $"a request took {slowest.TotalMilliseconds:0} ms while Pyroscope was down");
        var warnings = app.Logs.Logs.Where(l => l.Level >= LogLevel.Warning && l.Message.Contains("Pyroscope")).ToList();
        Assert.Single(warnings);
        Assert.Contains("unreachable", warnings[0].Message);
    }

    [Theory]
    [InlineData("no endpoint", null, null)]
    [InlineData("switched off", "false", "http://127.0.0.1:4040")]
    public async Task Profiler_off_opens_no_EventPipe_session(string why, string? enabled, string? endpoint)
    {
        using var probe = new EventPipeProbe();
        Assert.False(probe.SessionIsOpen, "a session was already open before the test");
        var settings = new Dictionary<string, string?> { ["PyroscopeEndpoint"] = endpoint, ["UploadInterval"] = "00:00:01" };
        if (enabled is not null)
        {
            settings["Enabled"] = enabled;
        }

        await using var app = await ProfiledApp.StartAsync(settings);

        // The profiler is registered and ran to completion: from then on nothing of it can open a session, so "no
        // session now" is the whole answer and no waiting for luck is involved.
        var profiler = Assert.Single(app.App.Services.GetServices<IHostedService>().OfType<ContinuousProfiler>());
        await Poll.UntilAsync(() => profiler.ExecuteTask?.IsCompleted == true, $"{why}: the profiler to run to completion", s_deadline);
        Assert.False(probe.SessionIsOpen, $"{why}: an EventPipe session is open");
        Assert.Contains(app.Logs.Logs, l => l.Message.Contains("Continuous profiling is off"));
    }

    [Fact]
    public async Task Session_is_open_while_the_service_runs_and_closed_when_it_stops()
    {
        await using var pyroscope = await PyroscopeReceiver.StartAsync();
        using var probe = new EventPipeProbe();
        var app = await ProfiledApp.StartAsync(Settings(pyroscope.BaseAddress));
        try
        {
            await Poll.UntilAsync(() => probe.SessionIsOpen, "a session after start", s_deadline);
        }
        finally
        {
            await app.DisposeAsync();
        }

        // StopAsync returned, so the profiler has already stopped its session: no grace period needed.
        Assert.False(probe.SessionIsOpen, "the session outlived the host");
    }

    [Fact]
    public async Task Shutdown_flushes_the_last_profile()
    {
        await using var pyroscope = await PyroscopeReceiver.StartAsync();
        using var probe = new EventPipeProbe();
        // An interval far longer than the test: anything received was pushed by the shutdown flush.
        var app = await ProfiledApp.StartAsync(Settings(pyroscope.BaseAddress, interval: "00:10:00"));
        try
        {
            await Poll.UntilAsync(() => probe.SamplingSessionIsOpen, "the profiler's sampling session to open", s_deadline);
            // Called nowhere else, so compiled only now, while the session samples: its name must still resolve.
            FirstCalledWhileSampling(TimeSpan.FromMilliseconds(500));
            Assert.Empty(pyroscope.Received);
        }
        finally
        {
            await app.DisposeAsync();
        }

        var cpu = Assert.Single(pyroscope.Series, s => s.Is(ProfileTypeIds.Cpu));
        Assert.True(HasFrame(cpu.Profile, nameof(FirstCalledWhileSampling)));
    }

    [Fact]
    public async Task Duty_cycled_sampling_pushes_profiles_scaled_to_the_whole_interval()
    {
        await using var pyroscope = await PyroscopeReceiver.StartAsync();
        // Burning before the service starts, so the very first sampling window sees it from start to end.
        var series = await WhileBurningCpu(async () =>
        {
            await using var app = await ProfiledApp.StartAsync(Settings(pyroscope.BaseAddress, interval: "00:00:02", sampling: "00:00:01"));
            return await pyroscope.WaitForAsync(s => s.Is(ProfileTypeIds.Cpu) && HasFrame(s.Profile, nameof(BurnCpu)), s_deadline, $"a CPU profile through {nameof(BurnCpu)}");
        });

        var profile = series.Profile;
        Assert.Equal(TimeSpan.FromSeconds(2).Ticks * 100, profile.DurationNanos);
        // One thread burning for the whole interval: ~2 s of CPU after scaling, not the ~1 s actually sampled.
        var burn = profile.Samples.Where(s => profile.Stack(s).Any(f => f.EndsWith(nameof(BurnCpu)))).Sum(s => s.Values[0]);
        // Upper bound loose: on an oversubscribed machine the inter-round weighting over-counts (see docs/profiling.md).
        Assert.InRange(TimeSpan.FromTicks(burn / 100), TimeSpan.FromSeconds(1.3), TimeSpan.FromSeconds(6));
    }

    /// <summary>Stands in for the tracer: every span of <paramref name="source"/> is created and recorded.</summary>
    private static ActivityListener RecordEverything(ActivitySource source)
    {
        var listener = new ActivityListener
        {
            ShouldListenTo = s => s == source,
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
        };
        ActivitySource.AddActivityListener(listener);
        return listener;
    }

    /// <summary>Continuous sampling (sampling as long as the interval) unless a shorter sampling duration is given.</summary>
    private static Dictionary<string, string?> Settings(string endpoint, string interval = "00:00:01", string? sampling = null) => new()
    {
        ["PyroscopeEndpoint"] = endpoint,
        ["UploadInterval"] = interval,
        ["SamplingDuration"] = sampling ?? interval,
    };

    private static string Cycles(ProfiledApp app) =>
        string.Join(" | ", app.Logs.Logs.Where(l => l.Message.StartsWith("Profiler session")).Select(l => l.Message));

    private static bool HasFrame(Pprof profile, string method) =>
        profile.Samples.Any(s => profile.Stack(s).Any(f => f.EndsWith(method)));

    private static IEnumerable<IReadOnlyList<string>> SpanSamples(Pprof profile, string spanId) =>
        profile.Samples.Where(s => profile.Label(s, "span_id") == spanId).Select(profile.Stack);

    /// <summary>Keeps one thread busy in <see cref="BurnCpu"/> until <paramref name="waitFor"/> completes.</summary>
    private static async Task<T> WhileBurningCpu<T>(Func<Task<T>> waitFor)
    {
        using var stop = new CancellationTokenSource();
        var burner = new Thread(() =>
        {
            while (!stop.IsCancellationRequested)
            {
                BurnCpu(TimeSpan.FromMilliseconds(20));
            }
        }) { IsBackground = true };
        burner.Start();
        try
        {
            return await waitFor();
        }
        finally
        {
            await stop.CancelAsync();
            burner.Join();
        }
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static double BurnCpu(TimeSpan duration)
    {
        var until = Stopwatch.GetTimestamp() + (long)(duration.TotalSeconds * Stopwatch.Frequency);
        var x = 0.0;
        while (Stopwatch.GetTimestamp() < until)
        {
            for (var i = 0; i < 1000; i++)
            {
                x = Math.Sqrt(x + i);
            }
        }

        return x;
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static double FirstCalledWhileSampling(TimeSpan duration)
    {
        var until = Stopwatch.GetTimestamp() + (long)(duration.TotalSeconds * Stopwatch.Frequency);
        var x = 0.0;
        while (Stopwatch.GetTimestamp() < until)
        {
            x = Math.Sqrt(x + 1);
        }

        return x;
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void WaitWithoutCpu(ManualResetEvent release) => release.WaitOne();

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static double BurnCpuOutsideSpan(TimeSpan duration) => BurnCpu(duration);

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void Allocate(CancellationToken stop)
    {
        var keep = new byte[16][];
        var i = 0;
        while (!stop.IsCancellationRequested)
        {
            keep[i++ % keep.Length] = new byte[4096];
        }

        GC.KeepAlive(keep);
    }

    private static int ClosedPort()
    {
        // Bind to get a free port, then close it: connections there are refused at once.
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        socket.Bind(new System.Net.IPEndPoint(System.Net.IPAddress.Loopback, 0));
        return ((System.Net.IPEndPoint)socket.LocalEndPoint!).Port;
    }
}
