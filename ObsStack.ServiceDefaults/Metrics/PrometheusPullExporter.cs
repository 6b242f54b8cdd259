using OpenTelemetry;
using OpenTelemetry.Metrics;

namespace ObsStack.ServiceDefaults.Metrics;

/// <summary>
/// A pull exporter: the SDK's reader hands it the current (cumulative) state only when <see cref="Scrape"/> asks,
/// on the scraping request's thread. Nothing is buffered between scrapes, so memory does not grow with time.
/// </summary>
[ExportModes(ExportModes.Pull)]
internal sealed class PrometheusPullExporter : BaseExporter<Metric>, IPullMetricExporter
{
    private readonly Lock _gate = new();
    private PrometheusTextSerializer? _current;

    /// <summary>Set by the SDK's metric reader; triggers a synchronous collection that calls <see cref="Export"/>.</summary>
    public Func<int, bool>? Collect { get; set; }

    public TimeSpan CollectTimeout { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>The exposition text, or null when the meter provider is gone (shutdown) or collection timed out.</summary>
    public string? Scrape()
    {
        // Scrapes are serialized: the SDK collects into one shared state per reader.
        lock (_gate)
        {
            var collect = Collect;
            if (collect is null)
            {
                return null;
            }

            _current = new PrometheusTextSerializer();
            try
            {
                var resource = ParentProvider?.GetResource();
                if (resource is not null)
                {
                    _current.WriteTargetInfo(resource);
                }

                return collect((int)CollectTimeout.TotalMilliseconds) ? _current.ToString() : null;
            }
            finally
            {
                _current = null;
            }
        }
    }

    public override ExportResult Export(in Batch<Metric> batch)
    {
        var serializer = _current;
        if (serializer is null)
        {
            return ExportResult.Failure;
        }

        foreach (var metric in batch)
        {
            serializer.Write(metric);
        }

        return ExportResult.Success;
    }
}
