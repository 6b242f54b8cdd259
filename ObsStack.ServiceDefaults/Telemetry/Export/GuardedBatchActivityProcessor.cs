using System.Diagnostics;
using OpenTelemetry;

namespace ObsStack.ServiceDefaults.Telemetry.Export;

/// <summary>The SDK's span batch processor, admitting a span only while its destination's guard has room.</summary>
internal sealed class GuardedBatchActivityProcessor(BaseExporter<Activity> exporter, ExportGuard guard, ExportOptions export)
    : BatchActivityExportProcessor(exporter, export.MaxQueueSize, export.ScheduledDelayMilliseconds(),
        export.TimeoutMilliseconds(), export.EffectiveMaxBatchSize())
{
    // Called by OnEnd for recorded spans only, so a slot is reserved for exactly what will be exported.
    protected override void OnExport(Activity data)
    {
        if (guard.TryReserve())
        {
            base.OnExport(data);
        }
    }
}
