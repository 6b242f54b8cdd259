using System.Diagnostics.Metrics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace ObsStack.ServiceDefaults.Telemetry.Export;

/// <summary>
/// Keeps one destination's exporter bounded and honest: at most <c>capacity</c> items wait for it; beyond that, and
/// whenever an export fails (backend down, timeout, an error answer), items are dropped and counted in
/// <c>telemetry_export_dropped_total{signal,destination}</c>. The first drop of an outage is logged once, and so is
/// the recovery, never one line per item.
/// </summary>
internal sealed class ExportGuard
{
    // Null for a destination without a queue (metrics: a periodic reader sends the current state, it never queues).
    private readonly long? _capacity;
    private readonly Counter<long> _dropped;
    private readonly KeyValuePair<string, object?>[] _tags;
    private readonly Func<ILogger?> _logger;
    private readonly string _description;
    private long _pending;
    private long _droppedThisOutage;
    private int _failing;

    private ExportGuard(OtlpDestination destination, long? capacity, Counter<long> dropped, Func<ILogger?> logger)
    {
        _capacity = capacity;
        _dropped = dropped;
        _logger = logger;
        var signal = destination.Signal.ToString().ToLowerInvariant();
        _description = $"{signal} export to {destination.Name} ({destination.Endpoint})";
        _tags = [new("signal", signal), new("destination", destination.Name)];
    }

    /// <summary>A guard for <paramref name="destination"/> counting into this host's <see cref="TelemetryInstruments"/>.</summary>
    public static ExportGuard Create(IServiceProvider services, OtlpDestination destination, long? capacity)
    {
        var instruments = services.GetRequiredService<TelemetryInstruments>();
        ILogger? logger = null;
        // Resolved lazily: the logger factory depends on the log processors being built here. An export thread may
        // still report after the host disposed its container; then there is no one left to log to.
        return new ExportGuard(destination, capacity, instruments.ExportDropped, () =>
        {
            try
            {
                return logger ??= services.GetService<ILoggerFactory>()?.CreateLogger("ObsStack.Telemetry");
            }
            catch (ObjectDisposedException)
            {
                return null;
            }
        });
    }

    /// <summary>Claims a queue slot; false (and the item counted as dropped) when <c>capacity</c> items wait already.</summary>
    public bool TryReserve()
    {
        if (_capacity is not { } capacity || Interlocked.Increment(ref _pending) <= capacity)
        {
            return true;
        }

        Interlocked.Decrement(ref _pending);
        Dropped(1, "its queue is full");
        return false;
    }

    /// <summary>One export request of <paramref name="count"/> items finished: delivered, or dropped and counted.</summary>
    public void Completed(long count, bool success)
    {
        if (_capacity is not null)
        {
            Interlocked.Add(ref _pending, -count);
        }

        if (!success)
        {
            Dropped(count, "the export failed");
        }
        else if (Interlocked.Exchange(ref _failing, 0) == 1)
        {
            var lost = Interlocked.Exchange(ref _droppedThisOutage, 0);
            Log(logger => logger.LogInformation(
                "{Export} recovered; {Dropped} items were dropped while it failed.", _description, lost));
        }
    }

    private void Dropped(long count, string reason)
    {
        _dropped.Add(count, _tags);
        Interlocked.Add(ref _droppedThisOutage, count);
        if (Interlocked.Exchange(ref _failing, 1) == 0)
        {
            Log(logger => logger.LogWarning(
                "{Export} is dropping telemetry because {Reason}. Check that the backend is up and reachable; drops are counted in telemetry_export_dropped_total and not logged again until it recovers.",
                _description, reason));
        }
    }

    private void Log(Action<ILogger> write)
    {
        try
        {
            if (_logger() is { } logger)
            {
                write(logger);
            }
        }
        catch (ObjectDisposedException)
        {
            // Shutting down: the logging pipeline is gone; the counter still has the numbers.
        }
    }
}
