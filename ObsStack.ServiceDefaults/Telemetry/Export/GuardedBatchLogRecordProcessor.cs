using OpenTelemetry;
using OpenTelemetry.Logs;

namespace ObsStack.ServiceDefaults.Telemetry.Export;

/// <summary>The SDK's log batch processor, admitting a record only while its destination's guard has room.</summary>
internal sealed class GuardedBatchLogRecordProcessor(BaseExporter<LogRecord> exporter, ExportGuard guard, ExportOptions export)
    : BatchLogRecordExportProcessor(exporter, export.MaxQueueSize, export.ScheduledDelayMilliseconds(),
        export.TimeoutMilliseconds(), export.EffectiveMaxBatchSize())
{
    // OnEnd, not OnExport: the SDK's OnEnd buffers (copies) the record and enqueues it without calling OnExport. A
    // record refused here is left to the logger, which returns it to its pool as for any record nobody keeps.
    public override void OnEnd(LogRecord data)
    {
        if (guard.TryReserve())
        {
            base.OnEnd(data);
        }
    }
}
