namespace ObsStack.Profiling;

/// <summary>
/// Who is profiled, read from the service's OpenTelemetry resource so that the profiles carry exactly the
/// <c>service.name</c> (and version, environment, instance) its metrics, logs and traces carry.
/// </summary>
internal sealed record ProfiledService(string Name, string Version, string Environment, string InstanceId)
{
    public static ProfiledService FromResource(IEnumerable<KeyValuePair<string, object>> resource)
    {
        var attributes = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (key, value) in resource)
        {
            attributes.TryAdd(key, value?.ToString() ?? "");
        }

        var name = attributes.GetValueOrDefault("service.name");
        if (string.IsNullOrWhiteSpace(name))
        {
            throw new ArgumentException("The resource has no service.name: profiles would belong to no service.", nameof(resource));
        }

        return new ProfiledService(
            name,
            attributes.GetValueOrDefault("service.version", ""),
            attributes.GetValueOrDefault("deployment.environment.name", ""),
            attributes.GetValueOrDefault("service.instance.id", ""));
    }
}
