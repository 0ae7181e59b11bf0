using System;
using System.IO;
using System.Threading.Tasks;
using Microsoft.Playwright;
using Xunit;

namespace MobileOne.Server.Tests;

/// <summary>The page in headless Chromium (Playwright with the system browser): choose a file, see the top-5.</summary>
[Collection(ServerCollection.Name)]
public sealed class BrowserTests(ServerFixture servers)
{
    [ChromiumFact]
    public async Task UploadingAnImageThroughTheFileInputShowsItsLabelAndFiveBars()
    {
        await using BrowserSession session = await BrowserSession.OpenAsync(servers.Batched.Address);
        IPage page = session.Page;

        await page.SetInputFilesAsync("#file", Path.Combine(TestImages.Folder, "0002_trouser.png"));
        await page.WaitForSelectorAsync("#results li:nth-child(5)");

        Assert.Equal("Trouser", await page.InnerTextAsync("#results li:first-child .label"));
        Assert.Equal(5, await page.Locator("#results .fill").CountAsync());
        Assert.StartsWith("Trouser", await page.InnerTextAsync("#status"), StringComparison.Ordinal);
        Assert.Contains("FashionMnist", await page.InnerTextAsync("#model"), StringComparison.Ordinal);
        string width = await page.Locator("#results li:first-child .fill").EvaluateAsync<string>("e => e.style.width");
        Assert.True(double.Parse(width.TrimEnd('%'), System.Globalization.CultureInfo.InvariantCulture) > 50, width);
    }

    [ChromiumFact]
    public async Task UploadingGarbageShowsTheServersErrorAndTheNextUploadWorks()
    {
        await using BrowserSession session = await BrowserSession.OpenAsync(servers.Batched.Address);
        IPage page = session.Page;

        await page.SetInputFilesAsync("#file", new FilePayload { Name = "broken.png", MimeType = "image/png", Buffer = HostileBodies.Random(3000, 5) });
        await page.WaitForSelectorAsync("#status.error");
        string error = await page.InnerTextAsync("#status");
        await page.SetInputFilesAsync("#file", Path.Combine(TestImages.Folder, "0018_bag.png"));
        await page.WaitForSelectorAsync("#results li");

        Assert.StartsWith("400 Invalid image", error, StringComparison.Ordinal);
        Assert.Equal("Bag", await page.InnerTextAsync("#results li:first-child .label"));
    }

    private sealed class BrowserSession : IAsyncDisposable
    {
        private readonly IPlaywright _playwright;
        private readonly IBrowser _browser;

        private BrowserSession(IPlaywright playwright, IBrowser browser, IPage page)
        {
            _playwright = playwright;
            _browser = browser;
            Page = page;
        }

        public IPage Page { get; }

        public static async Task<BrowserSession> OpenAsync(Uri address)
        {
            string executable = ChromiumLocator.Find(out string? reason) ?? throw new InvalidOperationException(reason);
            // Playwright's driver (node, bundled in the package's .playwright folder, copied to the output); the browser is
            // the system one, so `playwright install` is never needed.
            IPlaywright playwright = await Playwright.CreateAsync();
            IBrowser browser = await playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
            {
                ExecutablePath = executable,
                Headless = true,
                Args = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
                Timeout = 60_000,
            });
            IPage page = await browser.NewPageAsync();
            page.SetDefaultTimeout(30_000);
            await page.GotoAsync(address.ToString());
            return new BrowserSession(playwright, browser, page);
        }

        public async ValueTask DisposeAsync()
        {
            await _browser.DisposeAsync();
            _playwright.Dispose();
        }
    }
}
