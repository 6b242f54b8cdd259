using System.Text.RegularExpressions;

namespace ObsStack.Tests.Stack;

/// <summary>
/// The README is the front door and docs/ holds the rest: every relative link between them (and into the code)
/// must lead somewhere, and nothing in the repository may point a reader at something the repository does not have.
/// </summary>
public sealed partial class DocumentationTests
{
    private static string Root => ObsStackRepository.Root;

    public static TheoryData<string> Documents()
    {
        var documents = new TheoryData<string> { "README.md" };
        foreach (var path in Directory.EnumerateFiles(Path.Combine(Root, "docs"), "*.md").Order(StringComparer.Ordinal))
        {
            documents.Add(Path.GetRelativePath(Root, path).Replace('\\', '/'));
        }

        return documents;
    }

    [Fact]
    public void The_docs_the_README_promises_exist()
    {
        string[] expected = ["architecture", "performance", "profiling", "alerts", "configuration", "http-api"];

        var readme = File.ReadAllText(Path.Combine(Root, "README.md"));
        foreach (var name in expected)
        {
            Assert.True(File.Exists(Path.Combine(Root, "docs", name + ".md")), $"docs/{name}.md is missing.");
            Assert.Contains($"(docs/{name}.md", readme, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void The_README_reads_in_minutes()
    {
        // Depth belongs in docs/: a front door a newcomer has to scroll through is not one.
        var lines = File.ReadAllLines(Path.Combine(Root, "README.md")).Length;

        Assert.True(lines <= 300, $"README.md has {lines} lines; move the detail into docs/.");
    }

    [Theory]
    [MemberData(nameof(Documents))]
    public void Every_relative_link_resolves(string document)
    {
        var path = Path.Combine(Root, document);
        var broken = new List<string>();

        foreach (var target in RelativeLinks(File.ReadAllText(path)))
        {
            var (file, anchor) = target.Split('#', 2) is [var f, var a] ? (f, a) : (target, null);
            var resolved = file.Length == 0 ? path : Path.GetFullPath(Uri.UnescapeDataString(file), Path.GetDirectoryName(path)!);
            if (!File.Exists(resolved) && !Directory.Exists(resolved))
            {
                broken.Add($"{target} (no {Path.GetRelativePath(Root, resolved)})");
            }
            else if (anchor is not null && resolved.EndsWith(".md", StringComparison.Ordinal)
                && !HeadingAnchors(File.ReadAllText(resolved)).Contains(anchor))
            {
                broken.Add($"{target} (no heading #{anchor} in {Path.GetRelativePath(Root, resolved)})");
            }
        }

        Assert.True(broken.Count == 0, $"{document} links to: {string.Join("; ", broken)}");
    }

    [Fact]
    public void Anchors_follow_the_headings_of_their_document()
    {
        var anchors = HeadingAnchors("# Configuration\n## Every service (ObsStack.ServiceDefaults)\n```\n## not a heading\n```\n");

        Assert.Equal(["configuration", "every-service-obsstackservicedefaults"], anchors.Order(StringComparer.Ordinal));
    }

    [Fact]
    public void Nothing_points_outside_the_repository()
    {
        // A reader of the repository has the repository: not the team's notes, not the issue tracker's numbering,
        // not a build machine's folders. Comments and docs state the reason itself, or point into docs/.
        var unfollowable = new Regex(
            string.Join('|', @"\bDESIGN\.md", @"\bSTYLE\.md", "reference write" + "-up", @"\bissue [0-9]+",
                "/scr" + "atch/", @"\.\./sha" + "red"),
            RegexOptions.IgnoreCase);

        var found = RepositoryTextFiles()
            .SelectMany(file => File.ReadLines(file).Select((line, index) => (file, line, number: index + 1)))
            .Where(entry => unfollowable.IsMatch(entry.line))
            .Select(entry => $"{Path.GetRelativePath(Root, entry.file)}:{entry.number}: {entry.line.Trim()}")
            .ToList();

        Assert.True(found.Count == 0, string.Join('\n', found));
    }

    /// <summary>Link targets of <c>[text](target)</c> outside code, without a scheme (http:, mailto:, …).</summary>
    private static IEnumerable<string> RelativeLinks(string markdown) =>
        MarkdownLink().Matches(WithoutCode(markdown))
            .Select(match => match.Groups["target"].Value)
            .Where(target => !UriScheme().IsMatch(target));

    /// <summary>The anchors GitHub gives headings: lower case, punctuation dropped, spaces as hyphens.</summary>
    private static HashSet<string> HeadingAnchors(string markdown) =>
        WithoutFencedCode(markdown).Split('\n')
            .Select(line => Heading().Match(line))
            .Where(match => match.Success)
            .Select(match => AnchorPunctuation().Replace(match.Groups["title"].Value.Trim().ToLowerInvariant(), "")
                .Replace(' ', '-'))
            .ToHashSet(StringComparer.Ordinal);

    private static string WithoutCode(string markdown) => InlineCode().Replace(WithoutFencedCode(markdown), "");

    private static string WithoutFencedCode(string markdown) => FencedCode().Replace(markdown, "");

    private static IEnumerable<string> RepositoryTextFiles()
    {
        string[] skipped = ["bin", "obj", ".git", "BenchmarkDotNet.Artifacts", "TestResults", "node_modules"];
        var pending = new Stack<string>([Root]);
        while (pending.TryPop(out var directory))
        {
            foreach (var child in Directory.EnumerateDirectories(directory))
            {
                if (!skipped.Contains(Path.GetFileName(child)))
                {
                    pending.Push(child);
                }
            }

            foreach (var file in Directory.EnumerateFiles(directory))
            {
                if (new FileInfo(file).Length < 4_000_000 && !File.ReadAllBytes(file).Contains((byte)0))
                {
                    yield return file;
                }
            }
        }
    }

    [GeneratedRegex(@"\[[^\]\n]*\]\((?<target>[^)\s]+)(\s+""[^""]*"")?\)")]
    private static partial Regex MarkdownLink();

    [GeneratedRegex(@"^[a-z][a-z0-9+.-]*:", RegexOptions.IgnoreCase)]
    private static partial Regex UriScheme();

    [GeneratedRegex(@"^#{1,6}\s+(?<title>.+?)\s*#*\s*$")]
    private static partial Regex Heading();

    [GeneratedRegex(@"[^\p{L}\p{N} _-]")]
    private static partial Regex AnchorPunctuation();

    [GeneratedRegex(@"`[^`\n]*`")]
    private static partial Regex InlineCode();

    [GeneratedRegex(@"^[ \t]*(```|~~~)[^\n]*\n.*?^[ \t]*\1[ \t]*$", RegexOptions.Multiline | RegexOptions.Singleline)]
    private static partial Regex FencedCode();
}
