using Google.Protobuf;
using ObsStack.ServiceDefaults.Telemetry.Export;
using ObsStack.Tests.Infrastructure.Otlp;

namespace ObsStack.Tests.ServiceDefaults;

/// <summary>The item count the drop counter relies on, for each signal's request shape, with every field kind around it.</summary>
public sealed class OtlpPayloadTests
{
    [Fact]
    public void Counts_log_records_across_resources_and_scopes()
    {
        var request = new ExportLogsServiceRequest();
        foreach (var records in new[] { new[] { 3, 1 }, new[] { 2 } })
        {
            var resource = new ResourceLogs { Resource = new Resource { Attributes = { Attribute("service.name", "worker") } } };
            foreach (var count in records)
            {
                var scope = new ScopeLogs { Scope = new InstrumentationScope { Name = "ObsStack.Worker" } };
                for (var i = 0; i < count; i++)
                {
                    // Fixed64, varint and length-delimited fields inside each record: all skipped correctly.
                    scope.LogRecords.Add(new LogRecord { TimeUnixNano = 1_700_000_000_000_000_000, SeverityNumber = 9, SeverityText = "Information" });
                }

                resource.ScopeLogs.Add(scope);
            }

            request.ResourceLogs.Add(resource);
        }

        Assert.Equal(6, OtlpPayload.CountItems(request.ToByteArray()));
    }

    [Fact]
    public void Counts_spans_and_metrics()
    {
        var spans = new ExportTraceServiceRequest
        {
            ResourceSpans = { new ResourceSpans { ScopeSpans = { new ScopeSpans { Spans = { new Span { Name = "a" }, new Span { Name = "b" } } } } } },
        };
        var metrics = new ExportMetricsServiceRequest
        {
            ResourceMetrics = { new ResourceMetrics { ScopeMetrics = { new ScopeMetrics { Metrics = { new Metric { Name = "jobs" } } } } } },
        };

        Assert.Equal(2, OtlpPayload.CountItems(spans.ToByteArray()));
        Assert.Equal(1, OtlpPayload.CountItems(metrics.ToByteArray()));
    }

    [Fact]
    public void An_empty_or_truncated_request_counts_what_is_complete_and_never_throws()
    {
        var request = new ExportTraceServiceRequest
        {
            ResourceSpans = { new ResourceSpans { ScopeSpans = { new ScopeSpans { Spans = { new Span { Name = "a" } } } } } },
        }.ToByteArray();

        Assert.Equal(0, OtlpPayload.CountItems([]));
        Assert.InRange(OtlpPayload.CountItems(request.AsSpan(0, request.Length - 1)), 0, 1);
    }

    private static KeyValue Attribute(string key, string value) => new() { Key = key, Value = new AnyValue { StringValue = value } };
}
