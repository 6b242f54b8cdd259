using Microsoft.Extensions.Configuration;
using OpenTelemetry.Exporter;
using ObsStack.ServiceDefaults.Startup;

namespace ObsStack.ServiceDefaults.Telemetry.Export;

internal enum Signal
{
    Traces,
    Logs,
    Metrics,
}

/// <summary>One place an OTLP exporter sends one signal to.</summary>
internal sealed record OtlpDestination(string Name, Signal Signal, Uri Endpoint, OtlpExportProtocol Protocol, string? Headers)
{
    /// <summary>Exporter options whose HTTP client reports every request's outcome to <paramref name="guard"/>.</summary>
    public OtlpExporterOptions ToExporterOptions(TimeSpan timeout, ExportGuard guard) => new()
    {
        Endpoint = Endpoint,
        Protocol = Protocol,
        // Always set, also to empty: the options' constructor would otherwise pick up OTEL_EXPORTER_OTLP_HEADERS,
        // i.e. the dashboard's API key would be sent to Tempo, Loki and Prometheus too.
        Headers = Headers ?? string.Empty,
        TimeoutMilliseconds = (int)timeout.TotalMilliseconds,
        HttpClientFactory = () => new HttpClient(new ExportOutcomeHandler(guard)) { Timeout = timeout },
    };
}

/// <summary>
/// Where each signal goes: the standard <c>OTEL_EXPORTER_OTLP_*</c> destination (the Aspire dashboard) and the
/// ObsStack backend of that signal, each present only when configured.
/// </summary>
internal static class OtlpDestinations
{
    public const string Dashboard = "dashboard";
    public const string Backend = "backend";

    public static IReadOnlyList<OtlpDestination> For(Signal signal, IConfiguration configuration, TelemetryOptions options)
    {
        var destinations = new List<OtlpDestination>(2);

        var standard = configuration["OTEL_EXPORTER_OTLP_ENDPOINT"];
        if (!string.IsNullOrWhiteSpace(standard))
        {
            if (!Uri.TryCreate(standard, UriKind.Absolute, out var baseUri))
            {
                throw new InvalidSettingException(
                    $"OTEL_EXPORTER_OTLP_ENDPOINT '{standard}' is not an absolute URL. Set it to e.g. http://localhost:4317 or unset it.");
            }

            var protocol = ParseProtocol(configuration["OTEL_EXPORTER_OTLP_PROTOCOL"]);
            var endpoint = protocol == OtlpExportProtocol.HttpProtobuf ? AppendSignalPath(baseUri, signal) : baseUri;
            destinations.Add(new(Dashboard, signal, endpoint, protocol, configuration["OTEL_EXPORTER_OTLP_HEADERS"]));
        }

        var backend = signal switch
        {
            Signal.Traces => options.Traces.OtlpEndpoint,
            Signal.Logs => options.Logs.OtlpEndpoint,
            _ => options.Metrics.OtlpEndpoint,
        };
        if (backend is not null)
        {
            if (!backend.IsAbsoluteUri)
            {
                // A blank or relative value binds to a relative Uri: an exporter that could never send.
                throw new InvalidSettingException(
                    $"Telemetry:{signal}:OtlpEndpoint '{backend.OriginalString}' is not an absolute URL. Set it to the backend's full OTLP URL (e.g. {ExampleBackend(signal)}) or unset it.");
            }

            destinations.Add(new(Backend, signal, backend, OtlpExportProtocol.HttpProtobuf, null));
        }

        return destinations;
    }

    /// <summary>The example URL of each signal's backend, as docs/configuration.md gives it (Tempo, Loki, Prometheus' OTLP receiver).</summary>
    private static string ExampleBackend(Signal signal) => signal switch
    {
        Signal.Traces => "http://localhost:4318/v1/traces",
        Signal.Logs => "http://localhost:3100/otlp/v1/logs",
        _ => "http://localhost:9090/api/v1/otlp/v1/metrics",
    };

    internal static OtlpExportProtocol ParseProtocol(string? value) => value?.Trim().ToLowerInvariant() switch
    {
        null or "" or "grpc" => OtlpExportProtocol.Grpc,
        "http/protobuf" => OtlpExportProtocol.HttpProtobuf,
        _ => throw new InvalidSettingException(
            $"OTEL_EXPORTER_OTLP_PROTOCOL '{value}' is not supported. Use 'grpc' or 'http/protobuf'."),
    };

    private static Uri AppendSignalPath(Uri baseUri, Signal signal)
    {
        var path = signal switch
        {
            Signal.Traces => "v1/traces",
            Signal.Logs => "v1/logs",
            _ => "v1/metrics",
        };
        var text = baseUri.AbsoluteUri;
        return new Uri(text.EndsWith('/') ? text + path : text + "/" + path);
    }
}
