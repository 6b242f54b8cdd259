using Microsoft.Extensions.Options;

namespace ObsStack.Profiling;

/// <summary>The rules data annotations cannot express; each message names the key to fix.</summary>
internal sealed class ProfilingOptionsValidator : IValidateOptions<ProfilingOptions>
{
    public ValidateOptionsResult Validate(string? name, ProfilingOptions options)
    {
        var failures = new List<string>();

        if (!string.IsNullOrWhiteSpace(options.PyroscopeEndpoint)
            && (!Uri.TryCreate(options.PyroscopeEndpoint, UriKind.Absolute, out var uri)
                || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps)))
        {
            failures.Add($"{ProfilingOptions.SectionName}:PyroscopeEndpoint must be an absolute http(s) URL, e.g. http://localhost:4040 (got '{options.PyroscopeEndpoint}').");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
