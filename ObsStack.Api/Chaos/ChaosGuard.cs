using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;

namespace ObsStack.Api.Chaos;

/// <summary>
/// Who may turn the incident knobs (<c>PUT</c> and <c>DELETE /chaos</c>; <c>GET</c> only reads). With
/// <c>Api:ChaosKey</c> set — the AppHost sets it from its generated secret parameter <c>chaos-key</c> — a request must
/// carry the key in <c>X-Chaos-Key</c>. Without a key the knobs work only in the Development environment (a developer's
/// <c>dotnet run</c>), so an instance deployed without one cannot be driven into an incident by anyone.
/// <c>Api:ChaosEnabled=false</c> turns them off whatever else is set.
/// </summary>
public sealed class ChaosGuard(IOptions<ApiOptions> options, IHostEnvironment environment)
{
    public const string KeyHeader = "X-Chaos-Key";

    private readonly byte[]? _keyHash = options.Value.ChaosKey is { Length: > 0 } key ? Hash(key) : null;

    /// <summary>Null when <paramref name="request"/> may change the knobs; else the 403 that says which setting decides.</summary>
    public ProblemHttpResult? Refuse(HttpRequest request)
    {
        if (!options.Value.ChaosEnabled)
        {
            return Forbidden("Chaos disabled",
                $"The chaos knobs are disabled on this instance ({ApiOptions.SectionName}:ChaosEnabled=false).");
        }

        if (_keyHash is null)
        {
            return environment.IsDevelopment()
                ? null
                : Forbidden("Chaos key not configured",
                    $"The chaos knobs need a key outside Development: set {ApiOptions.SectionName}:ChaosKey on the api and send it in {KeyHeader}.");
        }

        // Hashes compared in constant time: neither the key's length nor its prefix leaks through timing.
        var sent = request.Headers[KeyHeader].ToString();
        return sent.Length > 0 && CryptographicOperations.FixedTimeEquals(Hash(sent), _keyHash)
            ? null
            : Forbidden("Chaos key required",
                $"Send the api's {ApiOptions.SectionName}:ChaosKey in the {KeyHeader} header (under the AppHost: the chaos-key parameter in the Aspire dashboard).");
    }

    private static byte[] Hash(string value) => SHA256.HashData(Encoding.UTF8.GetBytes(value));

    private static ProblemHttpResult Forbidden(string title, string detail) =>
        TypedResults.Problem(detail, statusCode: StatusCodes.Status403Forbidden, title: title);
}
