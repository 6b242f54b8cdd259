using ObsStack.ServiceDefaults.Metrics;
using Kind = ObsStack.ServiceDefaults.Metrics.PrometheusNaming.Kind;

namespace ObsStack.Tests.ServiceDefaults;

/// <summary>The same names Prometheus' OTLP receiver gives (prometheus/otlptranslator, UnderscoreEscapingWithSuffixes).</summary>
public sealed class PrometheusNamingTests
{
    [Theory]
    [InlineData("jobs", "{job}", nameof(Kind.Counter), "jobs_total")]
    [InlineData("job.duration", "s", nameof(Kind.Histogram), "job_duration_seconds")]
    [InlineData("workers.active", "{worker}", nameof(Kind.Gauge), "workers_active")]
    [InlineData("jobs.queue.depth", "{job}", nameof(Kind.Gauge), "jobs_queue_depth")]
    [InlineData("http.server.request.duration", "s", nameof(Kind.Histogram), "http_server_request_duration_seconds")]
    [InlineData("dotnet.gc.collections", "{collection}", nameof(Kind.Counter), "dotnet_gc_collections_total")]
    [InlineData("dotnet.process.cpu.time", "s", nameof(Kind.Counter), "dotnet_process_cpu_time_seconds_total")]
    [InlineData("dotnet.process.memory.working_set", "By", nameof(Kind.Gauge), "dotnet_process_memory_working_set_bytes")]
    [InlineData("dotnet.gc.heap.total_allocated", "By", nameof(Kind.Counter), "dotnet_gc_heap_allocated_bytes_total")] // "total" moves to the end
    [InlineData("requests.total", "", nameof(Kind.Counter), "requests_total")]
    [InlineData("latency_seconds", "s", nameof(Kind.Histogram), "latency_seconds")]                                 // unit not repeated
    [InlineData("cpu.utilization", "1", nameof(Kind.Gauge), "cpu_utilization_ratio")]
    [InlineData("cpu.utilization", "1", nameof(Kind.Counter), "cpu_utilization_total")]
    [InlineData("throughput", "By/s", nameof(Kind.Gauge), "throughput_bytes_per_second")]
    [InlineData("size", "KiBy", nameof(Kind.Gauge), "size_kibibytes")]
    [InlineData("weird-name.with spaces", "ms", nameof(Kind.Gauge), "weird_name_with_spaces_milliseconds")]
    [InlineData("2xx.responses", "{response}", nameof(Kind.Counter), "_2xx_responses_total")]
    [InlineData("a__b", "", nameof(Kind.Gauge), "a_b")]
    public void Metric_names_follow_the_OTLP_receiver_translation(string name, string unit, string kind, string expected) =>
        Assert.Equal(expected, PrometheusNaming.MetricName(name, unit, Enum.Parse<Kind>(kind)));

    [Theory]
    [InlineData("http.response.status_code", "http_response_status_code")]
    [InlineData("gc.heap.generation", "gc_heap_generation")]
    [InlineData("status", "status")]
    [InlineData("1st", "key_1st")]
    [InlineData("_private", "key_private")]
    [InlineData("__reserved", "__reserved")]
    public void Label_names_are_sanitized(string key, string expected) => Assert.Equal(expected, PrometheusNaming.LabelName(key));
}
