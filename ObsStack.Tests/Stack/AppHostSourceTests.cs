using System.Text.Json;
using System.Text.RegularExpressions;

namespace ObsStack.Tests.Stack;

/// <summary>
/// Checks the AppHost's source text, so that it runs in every build (no Aspire package needed): every path it mounts
/// exists under <c>grafana/</c>, every image is pinned to an exact version tag and those tags are the tested set.
/// </summary>
public sealed partial class AppHostSourceTests
{
    private static readonly Lazy<string> Source = new(() => string.Join('\n',
        Directory.EnumerateFiles(ObsStackRepository.AppHostDirectory, "*.cs", SearchOption.AllDirectories)
            .Where(path => !ObsStackRepository.IsBuildOutput(path))
            .Order(StringComparer.Ordinal)
            .Select(File.ReadAllText)));

    private static string AppHostSource => Source.Value;

    [Fact]
    public void Every_path_the_AppHost_mounts_exists_under_grafana()
    {
        var mounts = BindMounts();

        Assert.NotEmpty(mounts);
        foreach (var (source, _) in mounts)
        {
            var fullPath = Path.GetFullPath(source, ObsStackRepository.AppHostDirectory);
            var underGrafana = ObsStackRepository.GrafanaDirectory + Path.DirectorySeparatorChar;
            Assert.True(fullPath.StartsWith(underGrafana, StringComparison.Ordinal),
                $"The AppHost mounts '{source}', which is outside grafana/.");
            Assert.True(Directory.Exists(fullPath) || File.Exists(fullPath),
                $"The AppHost mounts '{source}', but {fullPath} does not exist.");
        }
    }

    [Fact]
    public void Every_config_file_a_backend_starts_with_is_in_its_mounted_folder()
    {
        var mounts = BindMounts();
        var checkedFiles = 0;

        foreach (Match argument in ConfigFileArgument().Matches(AppHostSource))
        {
            var containerPath = argument.Groups["path"].Value;
            var mount = mounts.FirstOrDefault(
                m => containerPath.StartsWith(m.Target.TrimEnd('/') + "/", StringComparison.Ordinal));
            if (mount == default)
            {
                // Not one of ours: the image's own default configuration (Pyroscope).
                continue;
            }

            var relative = containerPath[(mount.Target.TrimEnd('/').Length + 1)..];
            var hostPath = Path.Combine(Path.GetFullPath(mount.Source, ObsStackRepository.AppHostDirectory), relative);
            Assert.True(File.Exists(hostPath),
                $"A backend is started with -config.file={containerPath}, but {hostPath} does not exist.");
            checkedFiles++;
        }

        // Prometheus, Loki and Tempo each read a config file from their mounted folder.
        Assert.True(checkedFiles >= 3, $"Expected the Prometheus, Loki and Tempo config files; found {checkedFiles}.");
    }

    [Fact]
    public void Every_image_is_pinned_to_an_exact_version_never_latest()
    {
        var images = PinnedImages();

        Assert.NotEmpty(images);
        Assert.DoesNotMatch(LatestTag(), AppHostSource);
        foreach (var tag in images.Values)
        {
            Assert.Matches(ExactVersion(), tag);
        }

        // Every container is added with an explicit tag argument (name, image, tag), never with the image alone; Redis,
        // added by Aspire's AddRedis, gets its image and tag constants through WithImage.
        var addContainerCalls = AddContainerCall().Matches(AppHostSource);
        Assert.Equal(images.Count, addContainerCalls.Count + AddRedisCall().Matches(AppHostSource).Count);
        foreach (Match call in addContainerCalls)
        {
            Assert.Equal(3, call.Groups["arguments"].Value.Split(',').Length);
        }

        Assert.Contains(".WithImage(RedisImage, RedisTag)", AppHostSource);
    }

    [Fact]
    public void Image_tags_are_the_tested_set()
    {
        var images = PinnedImages();

        Assert.Equal(
            ObsStackRepository.TestedImages.Concat(ObsStackRepository.JobEngineImages).OrderBy(pair => pair.Key, StringComparer.Ordinal),
            images.OrderBy(pair => pair.Key, StringComparer.Ordinal));
    }

    [Fact]
    public void The_tested_set_is_the_one_the_architecture_doc_names()
    {
        var architecture = File.ReadAllText(ObsStackRepository.ArchitectureDocument);

        var versions = architecture.Split("## Versions", 2) is [_, var section] ? section : "";
        Assert.NotEmpty(versions);
        foreach (var (image, tag) in ObsStackRepository.TestedImages)
        {
            var component = image.Split('/')[^1];
            var match = Regex.Match(
                versions, $@"\b{component}\s+v?(?<version>\d+\.\d+\.\d+)\b", RegexOptions.IgnoreCase);
            Assert.True(match.Success, $"docs/architecture.md's Versions section names no version for {component}.");
            Assert.Equal(match.Groups["version"].Value, tag.TrimStart('v'));
        }
    }

    [Fact]
    public void The_AppHost_settings_hold_no_parameter_values()
    {
        var settings = Directory.EnumerateFiles(ObsStackRepository.AppHostDirectory, "appsettings*.json").ToList();

        // Parameter values (the Grafana password above all) come from user secrets or the environment, never the repo.
        Assert.NotEmpty(settings);
        foreach (var file in settings)
        {
            using var json = JsonDocument.Parse(File.ReadAllText(file));
            Assert.False(json.RootElement.TryGetProperty("Parameters", out _), $"{file} sets parameter values.");
        }
    }

    private static List<(string Source, string Target)> BindMounts() =>
        BindMountCall().Matches(AppHostSource)
            .Select(m => (m.Groups["source"].Value, m.Groups["target"].Value))
            .ToList();

    /// <summary>Image → tag, from the <c>XxxImage</c>/<c>XxxTag</c> constant pairs beside each backend.</summary>
    private static Dictionary<string, string> PinnedImages()
    {
        var tags = TagConstant().Matches(AppHostSource)
            .ToDictionary(m => m.Groups["backend"].Value, m => m.Groups["tag"].Value);
        return ImageConstant().Matches(AppHostSource).ToDictionary(
            m => m.Groups["image"].Value,
            m => tags.TryGetValue(m.Groups["backend"].Value, out var tag)
                ? tag
                : throw new InvalidOperationException($"{m.Groups["backend"].Value}Image has no Tag beside it."));
    }

    [GeneratedRegex(@"WithBindMount\(\s*""(?<source>[^""]+)""\s*,\s*""(?<target>[^""]+)""")]
    private static partial Regex BindMountCall();

    [GeneratedRegex(@"config\.file=(?<path>/[^""\s]+)")]
    private static partial Regex ConfigFileArgument();

    [GeneratedRegex(@"const\s+string\s+(?<backend>\w+)Image\s*=\s*""(?<image>[^""]+)""")]
    private static partial Regex ImageConstant();

    [GeneratedRegex(@"const\s+string\s+(?<backend>\w+)Tag\s*=\s*""(?<tag>[^""]+)""")]
    private static partial Regex TagConstant();

    [GeneratedRegex(@"\bAddContainer\((?<arguments>[^)]*)\)")]
    private static partial Regex AddContainerCall();

    [GeneratedRegex(@"\bAddRedis\(")]
    private static partial Regex AddRedisCall();

    [GeneratedRegex(@"["":]latest""", RegexOptions.IgnoreCase)]
    private static partial Regex LatestTag();

    [GeneratedRegex(@"^v?\d+\.\d+\.\d+$")]
    private static partial Regex ExactVersion();
}

/// <summary>Where things are in the repository, found from the test's output directory.</summary>
internal static class ObsStackRepository
{
    /// <summary>
    /// The backend images tested together (docs/architecture.md, "Versions": what grafana/docker-otel-lgtm v0.31.0
    /// ships). Changing one means changing that section and this table together.
    /// </summary>
    public static readonly IReadOnlyDictionary<string, string> TestedImages = new Dictionary<string, string>
    {
        ["grafana/grafana"] = "13.1.3",
        ["prom/prometheus"] = "v3.14.0",
        ["grafana/tempo"] = "3.0.3",
        ["grafana/loki"] = "3.7.6",
        ["grafana/pyroscope"] = "2.2.1",
    };

    /// <summary>The job engine's image when containers run (docs/scaling.md): not one of the telemetry backends' set.</summary>
    public static readonly IReadOnlyDictionary<string, string> JobEngineImages = new Dictionary<string, string>
    {
        ["library/redis"] = "8.2.2",
    };

    public static string Root { get; } = GrafanaFiles.FindRepoRoot();

    public static string AppHostDirectory => Path.Combine(Root, "ObsStack.AppHost");

    public static string GrafanaDirectory => Path.Combine(Root, "grafana");

    public static bool IsBuildOutput(string path)
    {
        var separator = Path.DirectorySeparatorChar;
        return path.Contains($"{separator}obj{separator}", StringComparison.Ordinal)
            || path.Contains($"{separator}bin{separator}", StringComparison.Ordinal);
    }

    public static string ArchitectureDocument => Path.Combine(Root, "docs", "architecture.md");
}
