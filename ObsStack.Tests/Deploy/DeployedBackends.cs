namespace ObsStack.Tests.Deploy;

/// <summary>The telemetry destinations of the services in the cluster, as the AppHost wires them locally.</summary>
internal static class DeployedBackends
{
    /// <summary>Variable → the path the backend serves that signal on (ObservabilityResourceExtensions.WithTelemetryBackends).</summary>
    public static readonly IReadOnlyDictionary<string, string> TelemetryPaths = new Dictionary<string, string>
    {
        ["Telemetry__Traces__OtlpEndpoint"] = "/v1/traces",
        ["Telemetry__Logs__OtlpEndpoint"] = "/otlp/v1/logs",
        ["Telemetry__Metrics__OtlpEndpoint"] = "/api/v1/otlp/v1/metrics",
        ["Telemetry__Profiles__PyroscopeEndpoint"] = "/",
    };
}
