using System.Diagnostics;
using System.Diagnostics.Metrics;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.DependencyInjection;
using OpenTelemetry;
using OpenTelemetry.Exporter;

namespace ObsStack.ServiceDefaults.Telemetry;

/// <summary>
/// Keeps one exporter bounded and honest: at most <c>capacity</c> items are waiting for it; beyond that, and whenever
/// an export fails (backend down, timeout), items are dropped and counted in <c>telemetry_export_dropped_total</c>.
/// The first drop of an outage is logged once, and so is the recovery, never one line per item.
/// </summary>
internal sealed class ExportGuard
{
    private readonly long _capacity;
    private readonly Counter<long> _dropped;
    private readonly KeyValuePair<string, object?>[] _tags;
    private readonly Func<ILogger?> _logger;
    private readonly string _description;
    private long _pending;
    private long _droppedThisOutage;
    private int _failing;

    public ExportGuard(OtlpDestination destination, long capacity, Counter<long> dropped, Func<ILogger?> logger)
    {
        _capacity = capacity;
        _dropped = dropped;
        _logger = logger;
        _description = $"{destination.Signal.ToString().ToLowerInvariant()} export to {destination.Name} ({destination.Endpoint})";
        _tags =
        [
            new("signal", destination.Signal.ToString().ToLowerInvariant()),
            new("destination", destination.Name),
        ];
    }

    public long Pending => Interlocked.Read(ref _pending);

    /// <summary>Claims a queue slot; false when the exporter already has <c>capacity</c> items waiting.</summary>
    public bool TryReserve()
    {
        if (Interlocked.Increment(ref _pending) <= _capacity)
        {
            return true;
        }

        Interlocked.Decrement(ref _pending);
        Dropped(1, "its queue is full");
        return false;
    }

    public void Completed(long count, bool success)
    {
        Interlocked.Add(ref _pending, -count);
        if (success)
        {
            if (Interlocked.Exchange(ref _failing, 0) == 1)
            {
                var lost = Interlocked.Exchange(ref _droppedThisOutage, 0);
                Log(logger => logger.LogInformation("{Export} recovered; {Dropped} items were dropped while it failed.", _description, lost));
            }
        }
        else
        {
            Dropped(count, "the export failed");
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
}

/// <summary>Reports each batch's outcome to the guard; an exception from the inner exporter is a failed batch.</summary>
internal sealed class GuardedExporter<T>(BaseExporter<T> inner, ExportGuard guard) : BaseExporter<T>
    where T : class
{
    // The SDK tells an exporter its provider (whose Resource carries service.name) through an internal setter that a
    // wrapping exporter cannot forward. Forwarding it by reflection is the price of wrapping the sealed OTLP log
    // exporter; OtlpWireTests fail at once if a new SDK version renames it, because service.name would be missing.
    private static readonly System.Reflection.MethodInfo SetParentProvider =
        typeof(BaseExporter<T>).GetProperty(nameof(ParentProvider))?.GetSetMethod(nonPublic: true)
        ?? throw new InvalidOperationException("OpenTelemetry SDK changed: BaseExporter.ParentProvider has no setter. Pin OpenTelemetry to the version in Directory.Packages.props.");

    private int _parentForwarded;

    public override ExportResult Export(in Batch<T> batch)
    {
        if (_parentForwarded == 0 && ParentProvider is { } parent && Interlocked.Exchange(ref _parentForwarded, 1) == 0)
        {
            SetParentProvider.Invoke(inner, [parent]);
        }

        var result = ExportResult.Failure;
        try
        {
            result = inner.Export(batch);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            // An exporter must never take the process down; the guard counts and logs the loss.
        }
        finally
        {
            guard.Completed(batch.Count, result == ExportResult.Success);
        }

        return result;
    }

    protected override bool OnForceFlush(int timeoutMilliseconds) => inner.ForceFlush(timeoutMilliseconds);

    protected override bool OnShutdown(int timeoutMilliseconds) => inner.Shutdown(timeoutMilliseconds);

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            inner.Dispose();
        }

        base.Dispose(disposing);
    }
}

/// <summary>Admits an item to the SDK's batch processor only if the guard has room, so its queue never overflows unseen.</summary>
/// <remarks>A <see cref="CompositeProcessor{T}"/> so that the SDK hands its provider (and Resource) down to the batch processor.</remarks>
internal sealed class GuardedProcessor<T>(BaseProcessor<T> inner, ExportGuard guard, Func<T, bool> isExported)
    : CompositeProcessor<T>([inner])
{
    public override void OnEnd(T data)
    {
        if (isExported(data) && guard.TryReserve())
        {
            base.OnEnd(data);
        }
    }
}

/// <summary>Builds one guarded exporter chain: OTLP exporter → guard → the SDK's batch processor → admission by the guard.</summary>
internal static class BoundedExport
{
    public sealed record BatchSettings(int MaxQueueSize, int DelayMs, int TimeoutMs, int MaxBatchSize);

    public static BaseProcessor<T> Processor<T>(
        IServiceProvider services,
        OtlpDestination destination,
        ExportOptions export,
        Func<OtlpExporterOptions, BaseExporter<T>> createExporter,
        Func<BaseExporter<T>, BatchSettings, BatchExportProcessor<T>> createBatch,
        Func<T, bool> isExported)
        where T : class
    {
        var guard = Guard(services, destination, export.MaxQueueSize);
        var exporter = new GuardedExporter<T>(createExporter(destination.ToExporterOptions(export.Timeout)), guard);
        var settings = new BatchSettings(export.MaxQueueSize, (int)export.ScheduledDelay.TotalMilliseconds,
            (int)export.Timeout.TotalMilliseconds, Math.Min(export.MaxBatchSize, export.MaxQueueSize));
        return new GuardedProcessor<T>(createBatch(exporter, settings), guard, isExported);
    }

    public static ExportGuard Guard(IServiceProvider services, OtlpDestination destination, long capacity)
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
}

internal static class ExportFilters
{
    /// <summary>The SDK's batch processor exports only recorded activities; reserve slots for exactly those.</summary>
    public static bool IsRecorded(Activity activity) => activity.Recorded;

    public static bool Always<T>(T _) => true;
}
