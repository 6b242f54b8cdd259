using Aspire.Hosting;
using Aspire.Hosting.Testing;
using Microsoft.Playwright;
using ObsStack.Tests.Infrastructure;
using ObsStack.Tests.Stack;

namespace ObsStack.Tests.Dashboard;

/// <summary>
/// Debian's Chromium driven by Playwright (the browser Playwright would download cannot be fetched here; <c>.ci/run</c>
/// installs the package), signed in to a running AppHost's Aspire dashboard with its login token.
/// </summary>
public sealed class DashboardBrowser : IAsyncDisposable
{
    public const string ChromiumPath = "/usr/bin/chromium";

    /// <summary>
    /// Where the pictures go: docs/images/ (the README's) when <c>OBSSTACK_WRITE_IMAGES=1</c>, so they are redrawn from a
    /// real run without editing them by hand; otherwise a temporary folder, so a plain <c>dotnet test</c> leaves the
    /// working tree clean.
    /// </summary>
    public static string ImagesFolder { get; } = Environment.GetEnvironmentVariable("OBSSTACK_WRITE_IMAGES") == "1"
        ? Path.Combine(GrafanaFiles.FindRepoRoot(), "docs", "images")
        : Directory.CreateTempSubdirectory("obsstack-dashboard-").FullName;

    // Chromium's own traffic (updates, sync, field trials) is refused on a closed network, many connections at a time.
    private static readonly string[] Flags =
    [
        "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync",
    ];

    private readonly IPlaywright _playwright;
    private readonly IBrowser _browser;

    private DashboardBrowser(IPlaywright playwright, IBrowser browser, IPage page, Uri root)
    {
        _playwright = playwright;
        _browser = browser;
        Page = page;
        Root = root;
    }

    public IPage Page { get; }

    /// <summary>The dashboard's address, without the login path.</summary>
    public Uri Root { get; }

    /// <summary>Skips the test when Chromium is not installed — except in CI, where that is a failure.</summary>
    public static void SkipUnlessChromiumIsInstalled()
    {
        if (File.Exists(ChromiumPath))
        {
            return;
        }

        if (Tools.IsCi)
        {
            throw new InvalidOperationException($"CI=true but {ChromiumPath} does not exist: .ci/run must install the Debian package 'chromium'.");
        }

        Skip.If(true, $"Chromium is not installed ({ChromiumPath}; apt-get install chromium); CI runs this test.");
    }

    /// <summary>A fresh browser profile, signed in through the dashboard's login URL, on the resources page.</summary>
    public static async Task<DashboardBrowser> OpenAsync(DistributedApplication app)
    {
        var login = await app.GetDashboardUrlAsync();
        var playwright = await Playwright.CreateAsync();
        var browser = await playwright.Chromium.LaunchAsync(new()
        {
            ExecutablePath = ChromiumPath,
            Headless = true,
            Args = Flags,
        });
        // The README's pictures: wide enough for every column of the resources list, light theme by default.
        var page = await browser.NewPageAsync(new() { ViewportSize = new() { Width = 1440, Height = 810 } });
        page.SetDefaultTimeout(30_000);
        await page.GotoAsync(login.ToString());
        return new DashboardBrowser(playwright, browser, page, new Uri(login.GetLeftPart(UriPartial.Authority)));
    }

    public async Task GoToAsync(string pathAndQuery) =>
        await Page.GotoAsync(new Uri(Root, pathAndQuery).ToString());

    /// <summary>
    /// Opens the page and loads it again until <paramref name="expected"/> shows, up to <paramref name="timeout"/>: a trace's
    /// detail page opened before the trace arrived says "not found" and stays so (seen once in CI on a busy machine).
    /// </summary>
    public async Task GoToUntilVisibleAsync(string pathAndQuery, Func<IPage, ILocator> expected, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            await GoToAsync(pathAndQuery);
            try
            {
                await Assertions.Expect(expected(Page)).ToBeVisibleAsync(new() { Timeout = 5_000 });
                return;
            }
            catch (PlaywrightException) when (DateTime.UtcNow < deadline)
            {
            }
        }
    }

    /// <summary>The row of <paramref name="resource"/> in the resources list (its name cell reads "Type: name").</summary>
    public ILocator ResourceRow(string type, string resource) =>
        Page.Locator("tr.resource-row", new() { Has = Page.Locator($"td[aria-label='{type}: {resource}']") });

    /// <summary>
    /// Presses a command's button and opens the notification center once the command's answer is in it: the unread
    /// counter on the Notifications button goes up by one when the command has finished.
    /// </summary>
    public async Task RunCommandAndOpenNotificationsAsync(ILocator commandButton)
    {
        var counter = Page.Locator("fluent-counter-badge.notification-counter-badge");
        var before = await counter.CountAsync() == 0 ? 0 : int.Parse(await counter.GetAttributeAsync("count") ?? "0");
        await commandButton.ClickAsync();
        await Assertions.Expect(counter).ToHaveAttributeAsync("count", (before + 1).ToString(), new() { Timeout = 60_000 });
        await Page.GetByRole(AriaRole.Button, new() { Name = "Notifications" }).ClickAsync();
    }

    /// <summary>Writes <paramref name="name"/>.png in <see cref="ImagesFolder"/> from what the browser shows now.</summary>
    public async Task ScreenshotAsync(string name)
    {
        Directory.CreateDirectory(ImagesFolder);
        await Page.ScreenshotAsync(new() { Path = Path.Combine(ImagesFolder, name + ".png") });
    }

    public async ValueTask DisposeAsync()
    {
        await _browser.DisposeAsync();
        _playwright.Dispose();
    }
}
