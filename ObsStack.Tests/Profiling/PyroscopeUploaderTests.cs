using System.Diagnostics.Metrics;
using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using ObsStack.Profiling;
using ObsStack.Tests.Infrastructure;

namespace ObsStack.Tests.Profiling;

// In the profiler collection, i.e. not in parallel with other tests: the bound is checked on the managed heap size.
[Collection(ProfilerCollection.Name)]
public sealed class PyroscopeUploaderTests
{
    private static readonly ProfiledService s_identity = new("worker", "1.0.0", "test", "i-1");

    [Fact]
    public async Task Dead_pyroscope_keeps_at_most_one_profile_per_type_counts_every_drop_and_warns_once()
    {
        using var services = new ServiceCollection().AddMetrics().BuildServiceProvider();
        var meterFactory = services.GetRequiredService<IMeterFactory>();
        using var counters = new CounterSink(meterFactory);
        var logs = new LogCapture();
        var options = new ProfilingOptions { PyroscopeEndpoint = $"http://127.0.0.1:{ClosedPort()}", UploadInterval = TimeSpan.FromSeconds(1) };
        var uploader = new PyroscopeUploader(options, [ProfileType.Cpu, ProfileType.Allocations], s_identity,
            new ProfilingTelemetry(meterFactory), logs.CreateLogger("profiler"));

        const int offered = 200;
        const int profileBytes = 1024 * 1024;
        var before = GC.GetTotalMemory(forceFullCollection: true);
        for (var i = 0; i < offered; i++)
        {
            // 200 MiB offered in total: kept, it would be unmistakable in the heap.
            uploader.Offer(new EncodedProfile(i % 2 == 0 ? ProfileType.Cpu : ProfileType.Allocations, new byte[profileBytes]));
        }

        var retained = GC.GetTotalMemory(forceFullCollection: true) - before;
        await uploader.FlushAsync(TimeSpan.FromSeconds(5));
        await uploader.DisposeAsync();

        Assert.True(retained < 8L * profileBytes, $"{retained / 1024 / 1024} MiB retained after offering {offered} profiles of 1 MiB");
        Assert.Equal(offered, counters.Sum("profiler.uploads.dropped"));
        Assert.Equal(0, counters.Sum("profiler.uploads"));
        Assert.True(counters.Sum("profiler.uploads.dropped", "reason", "unreachable") >= 1, "at least one real attempt failed");
        var warning = Assert.Single(logs.Logs, l => l.Level >= LogLevel.Warning);
        Assert.Contains("unreachable", warning.Message);
    }

    [Fact]
    public async Task Uploads_resume_after_an_outage_with_one_warning_and_one_recovery_line()
    {
        await using var pyroscope = await PyroscopeReceiver.StartAsync();
        pyroscope.FailWith = 503;
        using var services = new ServiceCollection().AddMetrics().BuildServiceProvider();
        var meterFactory = services.GetRequiredService<IMeterFactory>();
        using var counters = new CounterSink(meterFactory);
        var logs = new LogCapture();
        var options = new ProfilingOptions { PyroscopeEndpoint = pyroscope.BaseAddress, UploadInterval = TimeSpan.FromSeconds(1) };
        await using var uploader = new PyroscopeUploader(options, [ProfileType.Cpu], s_identity, new ProfilingTelemetry(meterFactory), logs.CreateLogger("profiler"));

        // Outage: every offer is dropped (the first after a real attempt, the next ones by the back-off).
        await OfferUntil(uploader, () => counters.Sum("profiler.uploads.dropped", "reason", "unreachable") >= 1);
        await OfferUntil(uploader, () => counters.Sum("profiler.uploads.dropped", "reason", "backoff") >= 2);
        Assert.Empty(pyroscope.Received);

        pyroscope.FailWith = null;
        await OfferUntil(uploader, () => counters.Sum("profiler.uploads") >= 1);

        Assert.Equal([42, 43], Assert.Single(pyroscope.Series.Take(1)).RawProfiles.Single());
        Assert.Single(logs.Logs, l => l.Level == LogLevel.Warning && l.Message.Contains("unreachable") && l.Message.Contains("HTTP 503"));
        Assert.Single(logs.Logs, l => l.Level == LogLevel.Information && l.Message.Contains("accepts profiles again"));
        Assert.Equal(2, logs.Logs.Count);
    }

    private static async Task OfferUntil(PyroscopeUploader uploader, Func<bool> condition)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(15);
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "condition not reached within 15 s");
            uploader.Offer(new EncodedProfile(ProfileType.Cpu, [42, 43]));
            await Task.Delay(100);
        }
    }

    private static int ClosedPort()
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return ((IPEndPoint)socket.LocalEndPoint!).Port;
    }

    /// <summary>Sums the profiler's counters from one meter factory, optionally for one attribute value.</summary>
    private sealed class CounterSink : IDisposable
    {
        private readonly MeterListener _listener = new();
        private readonly List<(string Name, long Value, KeyValuePair<string, object?>[] Tags)> _measurements = [];

        public CounterSink(IMeterFactory meterFactory)
        {
            _listener.InstrumentPublished = (instrument, listener) =>
            {
                if (instrument.Meter.Scope == meterFactory && instrument.Meter.Name == ProfilingTelemetry.MeterName)
                {
                    listener.EnableMeasurementEvents(instrument);
                }
            };
            _listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) =>
            {
                lock (_measurements)
                {
                    _measurements.Add((instrument.Name, value, tags.ToArray()));
                }
            });
            _listener.Start();
        }

        public long Sum(string name, string? tag = null, string? value = null)
        {
            lock (_measurements)
            {
                return _measurements
                    .Where(m => m.Name == name && (tag is null || m.Tags.Any(t => t.Key == tag && Equals(t.Value, value))))
                    .Sum(m => m.Value);
            }
        }

        public void Dispose() => _listener.Dispose();
    }
}
