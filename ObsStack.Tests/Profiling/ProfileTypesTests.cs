using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Text.RegularExpressions;
using ObsStack.Profiling;
using ObsStack.Tests.Infrastructure;

namespace ObsStack.Tests.Profiling;

/// <summary>The profile type ids Grafana's profile type picker knows, as Pyroscope derives them from a push.</summary>
internal static class ProfileTypeIds
{
    public const string Cpu = "process_cpu:cpu:nanoseconds:cpu:nanoseconds";
    public const string Wall = "wall:wall:nanoseconds:wall:nanoseconds";
    public const string AllocObjects = "memory:alloc_objects:count:space:bytes";
    public const string AllocSpace = "memory:alloc_space:bytes:space:bytes";
    public const string InuseObjects = "memory:inuse_objects:count:space:bytes";
    public const string InuseSpace = "memory:inuse_space:bytes:space:bytes";
    public const string MutexCount = "mutex:contentions:count:contentions:count";
    public const string MutexDelay = "mutex:delay:nanoseconds:contentions:count";
    public const string Exceptions = "process_cpu:exception:count:cpu:nanoseconds";
}

/// <summary>
/// Each profile type from a workload that produces it, asserted on the decoded pprof that crossed the wire: the type ids
/// and units, the workload's method in the stacks, and the profiler itself not in them.
/// </summary>
[Collection(ProfilerCollection.Name)]
public sealed partial class ProfileTypesTests
{
    private static readonly TimeSpan s_deadline = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task Lock_contention_from_a_real_lock_fight_arrives_with_the_waiting_stack_and_the_wait_time()
    {
        await using var pyroscope = await PyroscopeReceiver.StartAsync();
        await using var app = await ProfiledApp.StartAsync(Settings(pyroscope.BaseAddress));

        var series = await While(FightOverOneLock, () => pyroscope.WaitForAsync(
            s => s.Is(ProfileTypeIds.MutexCount) && HasFrame(s.Profile, nameof(HoldTheLock)), s_deadline, $"a contention stack through {nameof(HoldTheLock)}"));

        Assert.True(series.Is(ProfileTypeIds.MutexDelay));
        Assert.Equal(ProfiledApp.ServiceName, series.Label("service_name"));
        var profile = series.Profile;
        Assert.Equal(["contentions:count", "delay:nanoseconds"], profile.SampleTypeNames);
        var mine = Through(profile, nameof(HoldTheLock));
        // Every contention of the fight waited for a holder that sleeps 1 ms with the lock: waits are real time.
        Assert.True(mine.Sum(s => s.Values[0]) >= 1, "contentions counted");
        Assert.True(mine.Sum(s => s.Values[1]) >= 100_000, $"wait time {mine.Sum(s => s.Values[1])} ns");
        AssertNoProfilerFrames(profile);
    }

    [Fact]
    public async Task Wall_profile_has_the_sleeping_thread_that_the_cpu_profile_does_not()
    {
        await using var pyroscope = await PyroscopeReceiver.StartAsync();
        await using var app = await ProfiledApp.StartAsync(Settings(pyroscope.BaseAddress));

        var series = await While(SleepALot, () => pyroscope.WaitForAsync(
            s => s.Is(ProfileTypeIds.Wall) && HasFrame(s.Profile, nameof(SleepALot)), s_deadline, $"a wall stack through {nameof(SleepALot)}"));

        var profile = series.Profile;
        Assert.Equal(["wall:nanoseconds"], profile.SampleTypeNames);
        Assert.Equal(("wall", "nanoseconds"), (profile.S(profile.PeriodType.Type), profile.S(profile.PeriodType.Unit)));
        // One thread asleep through a 1 s interval: about 1 s of wall time (loose: sampling rounds stretch under load).
        var asleep = TimeSpan.FromTicks(Through(profile, nameof(SleepALot)).Sum(s => s.Values[0]) / 100);
        Assert.InRange(asleep, TimeSpan.FromSeconds(0.2), TimeSpan.FromSeconds(5));
        AssertNoProfilerFrames(profile);
        // On CPU only for the instants between two sleeps: a small fraction of its wall time.
        var onCpu = pyroscope.Series.Where(s => s.Is(ProfileTypeIds.Cpu)).Sum(s => Through(s.Profile, nameof(SleepALot)).Sum(x => x.Values[0]));
        var wall = pyroscope.Series.Where(s => s.Is(ProfileTypeIds.Wall)).Sum(s => Through(s.Profile, nameof(SleepALot)).Sum(x => x.Values[0]));
        Assert.True(onCpu * 10 < wall, $"{nameof(SleepALot)}: {onCpu} ns on CPU, {wall} ns wall");
    }

    [Fact]
    public async Task Exceptions_profile_counts_thrown_exceptions_by_type_and_throw_stack()
    {
        await using var pyroscope = await PyroscopeReceiver.StartAsync();
        await using var app = await ProfiledApp.StartAsync(Settings(pyroscope.BaseAddress));

        var series = await While(ThrowAndCatch, () => pyroscope.WaitForAsync(
            s => s.Is(ProfileTypeIds.Exceptions) && HasFrame(s.Profile, nameof(ThrowAndCatch)), s_deadline, $"an exception thrown in {nameof(ThrowAndCatch)}"));

        var profile = series.Profile;
        Assert.Equal(["exception:count"], profile.SampleTypeNames);
        var mine = Through(profile, nameof(ThrowAndCatch));
        Assert.Contains(mine, s => profile.Stack(s)[0] == typeof(InvalidOperationException).FullName);
        Assert.True(mine.Sum(s => s.Values[0]) >= 1);
        AssertNoProfilerFrames(profile);
    }

    [Fact]
    public async Task Live_heap_profile_shows_the_leak_and_not_the_garbage()
    {
        await using var pyroscope = await PyroscopeReceiver.StartAsync();
        await using var app = await ProfiledApp.StartAsync(Settings(pyroscope.BaseAddress, ("LiveHeap", "true")));
        var leak = new List<LeakedItem>();

        // The leak keeps every object it makes; the garbage, made ten times as fast, keeps none.
        const int leakedAtLeast = 20_000;
        var series = await While(stop => LeakAndLitter(leak, stop), async () =>
        {
            try
            {
                return await pyroscope.WaitForAsync(
                    s => s.Is(ProfileTypeIds.InuseObjects) && Objects(s.Profile, nameof(LeakedItem)) >= leakedAtLeast, s_deadline, $"{leakedAtLeast} live {nameof(LeakedItem)} objects");
            }
            catch (TimeoutException e)
            {
                var last = pyroscope.Series.LastOrDefault(s => s.Is(ProfileTypeIds.InuseObjects));
                var top = last is null ? "none" : string.Join("; ", last.Profile.Samples.OrderByDescending(s => s.Values[0]).Take(8).Select(s => $"{last.Profile.Stack(s)[0]} {s.Values[0]}"));
                throw new TimeoutException($"{e.Message} Last live heap: {top}; leak has {leak.Count}. {string.Join(" | ", app.Logs.Logs.Where(l => l.Level >= Microsoft.Extensions.Logging.LogLevel.Warning).Select(l => l.Message))}");
            }
        });

        Assert.True(series.Is(ProfileTypeIds.InuseSpace));
        var profile = series.Profile;
        Assert.Equal(["inuse_objects:count", "inuse_space:bytes"], profile.SampleTypeNames);
        var leaked = Objects(profile, nameof(LeakedItem));
        var garbage = Objects(profile, nameof(GarbageItem));
        Assert.True(garbage * 100 < leaked, $"live {nameof(GarbageItem)}: {garbage}, live {nameof(LeakedItem)}: {leaked}");
        // Values are objects and bytes of that type: at least the object header and the field per object.
        var bytes = profile.Samples.Where(s => IsType(profile.Stack(s)[0], nameof(LeakedItem))).Sum(s => s.Values[1]);
        Assert.True(bytes >= leaked * 24, $"{bytes} bytes for {leaked} objects");
        GC.KeepAlive(leak);
    }

    [Fact]
    public async Task Pushed_profiles_show_the_service_not_the_profiler()
    {
        await using var pyroscope = await PyroscopeReceiver.StartAsync();
        await using var app = await ProfiledApp.StartAsync(Settings(pyroscope.BaseAddress));

        // Busy, allocating and sleeping service threads; the profiler reads its session meanwhile, on its own thread.
        // Half a core, not a whole one: the suite shares two cores.
        await While(stop => { while (!stop.IsCancellationRequested) { BurnAndAllocate(); Thread.Sleep(20); } }, () => While(SleepALot, () =>
            Poll.UntilAsync(() => CountWith(pyroscope, ProfileTypeIds.Cpu, nameof(BurnAndAllocate)) >= 2
                    && CountWith(pyroscope, ProfileTypeIds.Wall, nameof(SleepALot)) >= 2
                    && CountWith(pyroscope, ProfileTypeIds.AllocSpace, nameof(BurnAndAllocate)) >= 2,
                "two intervals of CPU, wall and allocation profiles with the workload", s_deadline)));

        foreach (var series in pyroscope.Series.Where(s => s.Is(ProfileTypeIds.Cpu) || s.Is(ProfileTypeIds.Wall) || s.Is(ProfileTypeIds.AllocSpace)))
        {
            AssertNoProfilerFrames(series.Profile);
        }

        // The exclusion had something to exclude: the session reader allocates as it parses (TraceEvent), and the
        // cycle log says how much was left out.
        var excludedAllocations = app.Logs.Logs.Select(l => ExcludedShare().Match(l.Message)).Where(m => m.Success)
            .Select(m => double.Parse(m.Groups[1].Value, System.Globalization.CultureInfo.CurrentCulture)).ToList();
        Assert.Contains(excludedAllocations, share => share > 0);
    }

    [Theory]
    [InlineData("Wall", ProfileTypeIds.Wall)]
    [InlineData("Exceptions", ProfileTypeIds.Exceptions)]
    [InlineData("LiveHeap", ProfileTypeIds.InuseObjects)]
    [InlineData("LockContention", ProfileTypeIds.MutexCount)]
    [InlineData("Allocations", ProfileTypeIds.AllocSpace)]
    public async Task Each_profile_type_has_its_own_switch(string key, string typeId)
    {
        await using var pyroscope = await PyroscopeReceiver.StartAsync();
        var all = new[] { "Cpu", "Wall", "Allocations", "LockContention", "Exceptions", "LiveHeap" };
        var only = all.Select(k => (k, k == key ? "true" : "false")).ToArray();
        await using var app = await ProfiledApp.StartAsync(Settings(pyroscope.BaseAddress, only));

        await Poll.UntilAsync(() => app.Logs.Logs.Any(l => l.Message.StartsWith("Continuous profiling to")), "the profiler's start line", s_deadline);
        var started = app.Logs.Logs.First(l => l.Message.StartsWith("Continuous profiling to")).Message;
        Assert.Contains(typeId, started);
        foreach (var other in typeof(ProfileTypeIds).GetFields().Select(f => (string)f.GetValue(null)!).Where(id => !SameType(id, typeId)))
        {
            Assert.DoesNotContain(other, started);
        }
    }

    [Theory]
    [InlineData("Wall")]
    [InlineData("Exceptions")]
    [InlineData("LiveHeap")]
    public async Task A_profile_switch_that_is_not_a_boolean_fails_at_start_naming_the_key(string key)
    {
        var settings = new Dictionary<string, string?> { ["PyroscopeEndpoint"] = "http://127.0.0.1:4040", [key] = "sometimes" };

        var error = await Assert.ThrowsAnyAsync<Exception>(() => ProfiledApp.StartAsync(settings));

        Assert.Contains($"Telemetry:Profiles:{key}", error.Message);
    }

    /// <summary>Two ids of the same pprof profile (e.g. alloc objects and alloc space) are switched together.</summary>
    private static bool SameType(string a, string b) =>
        ProfileTypeFor(a) == ProfileTypeFor(b);

    private static string ProfileTypeFor(string id) => id switch
    {
        ProfileTypeIds.AllocObjects or ProfileTypeIds.AllocSpace => "alloc",
        ProfileTypeIds.InuseObjects or ProfileTypeIds.InuseSpace => "inuse",
        ProfileTypeIds.MutexCount or ProfileTypeIds.MutexDelay => "mutex",
        _ => id,
    };

    [GeneratedRegex(@"left out: .*memory ([0-9.,]+)\s?%")]
    private static partial Regex ExcludedShare();

    private static Dictionary<string, string?> Settings(string endpoint, params (string Key, string Value)[] extra)
    {
        var settings = new Dictionary<string, string?>
        {
            ["PyroscopeEndpoint"] = endpoint,
            ["UploadInterval"] = "00:00:01",
            ["SamplingDuration"] = "00:00:01",
        };
        foreach (var (key, value) in extra)
        {
            settings[key] = value;
        }

        return settings;
    }

    private static int CountWith(PyroscopeReceiver pyroscope, string typeId, string method) =>
        pyroscope.Series.Count(s => s.Is(typeId) && HasFrame(s.Profile, method));

    private static bool HasFrame(Pprof profile, string method) =>
        profile.Samples.Any(s => profile.Stack(s).Any(f => f.EndsWith(method)));

    private static List<PprofSample> Through(Pprof profile, string method) =>
        profile.Samples.Where(s => profile.Stack(s).Any(f => f.EndsWith(method))).ToList();

    private static long Objects(Pprof profile, string typeName) =>
        profile.Samples.Where(s => IsType(profile.Stack(s)[0], typeName)).Sum(s => s.Values[0]);

    /// <summary>The runtime names a nested type by its own name, others namespace-qualified.</summary>
    private static bool IsType(string frame, string typeName) =>
        frame == typeName || frame.EndsWith("." + typeName) || frame.EndsWith("+" + typeName);

    /// <summary>The profiler's threads run TraceEvent and ObsStack's profiling code; only the span hooks run on the service's.</summary>
    private static void AssertNoProfilerFrames(Pprof profile)
    {
        foreach (var sample in profile.Samples)
        {
            var stack = profile.Stack(sample);
            var own = stack.FirstOrDefault(f => f.StartsWith("Microsoft.Diagnostics.")
                || (f.StartsWith("ObsStack.Profiling.") && !f.StartsWith("ObsStack.Profiling.ThreadTimeline") && !f.StartsWith("ObsStack.Profiling.SpanProfileLink")));
            Assert.True(own is null, $"profiler frame {own} in {string.Join(" <- ", stack)}");
        }
    }

    /// <summary>Runs <paramref name="workload"/> on a dedicated thread until <paramref name="waitFor"/> completes.</summary>
    private static async Task<T> While<T>(Action<CancellationToken> workload, Func<Task<T>> waitFor)
    {
        using var stop = new CancellationTokenSource();
        var thread = new Thread(() => workload(stop.Token)) { IsBackground = true };
        thread.Start();
        try
        {
            return await waitFor();
        }
        finally
        {
            await stop.CancelAsync();
            thread.Join();
        }
    }

    private static Task While(Action<CancellationToken> workload, Func<Task> waitFor) =>
        While(workload, async () => { await waitFor(); return true; });

    /// <summary>Eight threads on one lock, each holding it for a millisecond asleep: always someone waiting, little CPU.</summary>
    private static void FightOverOneLock(CancellationToken stop)
    {
        var gate = new object();
        var fighters = Enumerable.Range(0, 8).Select(_ => new Thread(() =>
        {
            while (!stop.IsCancellationRequested)
            {
                HoldTheLock(gate);
            }
        }) { IsBackground = true }).ToList();
        fighters.ForEach(t => t.Start());
        fighters.ForEach(t => t.Join());
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void HoldTheLock(object gate)
    {
        lock (gate)
        {
            Thread.Sleep(1);
        }
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void SleepALot(CancellationToken stop)
    {
        while (!stop.IsCancellationRequested)
        {
            Thread.Sleep(20);
        }
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void ThrowAndCatch(CancellationToken stop)
    {
        while (!stop.IsCancellationRequested)
        {
            try
            {
                throw new InvalidOperationException("profiled");
            }
            catch (InvalidOperationException)
            {
                Thread.Sleep(1);
            }
        }
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void LeakAndLitter(List<LeakedItem> leak, CancellationToken stop)
    {
        var garbage = 0L;
        while (!stop.IsCancellationRequested)
        {
            for (var i = 0; i < 1_000; i++)
            {
                // Up to 200,000 leaked objects (about 5 MB), enough to stand out, without flooding the test process.
                if (leak.Count < 200_000)
                {
                    leak.Add(new LeakedItem(i));
                }

                for (var g = 0; g < 10; g++)
                {
                    garbage += new GarbageItem(g).Value;
                }
            }

            Thread.Sleep(10);
        }

        GC.KeepAlive(garbage);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void BurnAndAllocate()
    {
        var until = Stopwatch.GetTimestamp() + Stopwatch.Frequency / 50;
        var keep = new byte[8][];
        var i = 0;
        while (Stopwatch.GetTimestamp() < until)
        {
            keep[i++ % keep.Length] = new byte[1024];
        }

        GC.KeepAlive(keep);
    }

    private sealed record LeakedItem(long Value);

    private sealed record GarbageItem(long Value);
}
