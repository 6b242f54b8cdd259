using System.Globalization;
using System.Text.Json.Nodes;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace ObsStack.Tests.Stack;

/// <summary>
/// What Grafana reads from <c>grafana/</c>: the provisioned data sources, the dashboard provider and the dashboards,
/// loaded as JSON trees (YAML converted) so tests walk them the way Grafana does.
/// </summary>
public static class GrafanaFiles
{
    public static string DatasourcesFile(string repoRoot) =>
        Path.Combine(repoRoot, "grafana", "provisioning", "datasources", "datasources.yaml");

    public static string DashboardProvidersFile(string repoRoot) =>
        Path.Combine(repoRoot, "grafana", "provisioning", "dashboards", "dashboards.yaml");

    public static string DashboardsDirectory(string repoRoot) => Path.Combine(repoRoot, "grafana", "dashboards");

    /// <summary>The repository root: the first folder above the test's output that holds <c>ObsStack.sln</c>.</summary>
    public static string FindRepoRoot()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "ObsStack.sln")))
            {
                return directory.FullName;
            }
        }

        throw new InvalidOperationException($"No ObsStack.sln in {AppContext.BaseDirectory} or any folder above it.");
    }

    /// <summary>Every file under <c>grafana/</c> with one of the extensions, build output excluded.</summary>
    public static IReadOnlyList<string> FilesUnderGrafana(string repoRoot, params string[] extensions) =>
        Directory.EnumerateFiles(Path.Combine(repoRoot, "grafana"), "*", SearchOption.AllDirectories)
            .Where(path => extensions.Contains(Path.GetExtension(path), StringComparer.OrdinalIgnoreCase))
            .Order(StringComparer.Ordinal)
            .ToList();

    /// <summary>The provisioned data sources (<c>datasources:</c> entries), as written in the file.</summary>
    public static IReadOnlyList<JsonObject> Datasources(string repoRoot) =>
        (LoadYaml(DatasourcesFile(repoRoot))["datasources"] as JsonArray ?? [])
            .OfType<JsonObject>()
            .ToList();

    public static IReadOnlyList<JsonObject> DashboardProviders(string repoRoot) =>
        (LoadYaml(DashboardProvidersFile(repoRoot))["providers"] as JsonArray ?? [])
            .OfType<JsonObject>()
            .ToList();

    /// <summary>Every dashboard JSON under <c>grafana/dashboards</c>, keyed by file name.</summary>
    public static IReadOnlyList<(string File, JsonObject Dashboard)> Dashboards(string repoRoot) =>
        Directory.EnumerateFiles(DashboardsDirectory(repoRoot), "*.json", SearchOption.AllDirectories)
            .Order(StringComparer.Ordinal)
            .Select(path => (Path.GetFileName(path), JsonNode.Parse(File.ReadAllText(path))!.AsObject()))
            .ToList();

    /// <summary>Every panel, the ones inside (collapsed) rows included.</summary>
    public static IEnumerable<JsonObject> Panels(JsonObject dashboard)
    {
        var pending = new Stack<JsonObject>((dashboard["panels"] as JsonArray ?? []).OfType<JsonObject>().Reverse());
        while (pending.TryPop(out var panel))
        {
            yield return panel;
            foreach (var nested in (panel["panels"] as JsonArray ?? []).OfType<JsonObject>().Reverse())
            {
                pending.Push(nested);
            }
        }
    }

    public static IEnumerable<JsonObject> Targets(JsonObject panel) =>
        (panel["targets"] as JsonArray ?? []).OfType<JsonObject>();

    public static IEnumerable<JsonObject> Variables(JsonObject dashboard) =>
        (dashboard["templating"]?["list"] as JsonArray ?? []).OfType<JsonObject>();

    public static IEnumerable<JsonObject> Annotations(JsonObject dashboard) =>
        (dashboard["annotations"]?["list"] as JsonArray ?? []).OfType<JsonObject>();

    /// <summary>
    /// The data source uid a query runs against: its own reference, else its panel's. Null when there is none
    /// (rows, text panels); a reference by name (a bare string) is returned as <c>name:</c> + the name.
    /// </summary>
    public static string? DatasourceUid(JsonNode? reference) => reference switch
    {
        JsonObject obj => obj["uid"]?.GetValue<string>(),
        JsonValue value when value.TryGetValue<string>(out var name) => "name:" + name,
        _ => null,
    };

    /// <summary>Loads a (multi-document) YAML file; the first document is returned as JSON.</summary>
    public static JsonObject LoadYaml(string path)
    {
        var documents = ParseYaml(File.ReadAllText(path));
        return documents.FirstOrDefault() as JsonObject
            ?? throw new InvalidDataException($"{path} holds no YAML mapping.");
    }

    /// <summary>Parses every document of a YAML stream; throws <see cref="YamlException"/> on a syntax error.</summary>
    public static IReadOnlyList<JsonNode?> ParseYaml(string text)
    {
        var stream = new YamlStream();
        using (var reader = new StringReader(text))
        {
            stream.Load(reader);
        }

        return stream.Documents.Select(document => ToJson(document.RootNode)).ToList();
    }

    private static JsonNode? ToJson(YamlNode node) => node switch
    {
        YamlMappingNode mapping => new JsonObject(mapping.Children.Select(pair =>
            KeyValuePair.Create(((YamlScalarNode)pair.Key).Value ?? "", ToJson(pair.Value)))),
        YamlSequenceNode sequence => new JsonArray(sequence.Children.Select(ToJson).ToArray()),
        YamlScalarNode scalar => Scalar(scalar),
        _ => null,
    };

    /// <summary>YAML 1.2 core schema for plain scalars (true/false, null, numbers); quoted scalars stay strings.</summary>
    private static JsonNode? Scalar(YamlScalarNode scalar)
    {
        var text = scalar.Value ?? "";
        if (scalar.Style is not ScalarStyle.Plain)
        {
            return JsonValue.Create(text);
        }

        return text switch
        {
            "true" or "True" or "TRUE" => JsonValue.Create(true),
            "false" or "False" or "FALSE" => JsonValue.Create(false),
            "" or "~" or "null" or "Null" or "NULL" => null,
            _ when long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var integer) =>
                JsonValue.Create(integer),
            _ when double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var number) =>
                JsonValue.Create(number),
            _ => JsonValue.Create(text),
        };
    }
}
