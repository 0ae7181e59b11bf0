using System;
using System.Linq;
using MobileOne.LoadGenerator;
using MobileOne.Server.Http;
using MobileOne.Server.Imaging;
using Xunit;

namespace MobileOne.Server.Tests;

/// <summary>The pieces without HTTP: options, the PNG guard, the browser locator, the load generator's guard and statistics.</summary>
public sealed class UnitTests
{
    [Fact]
    public void OptionsHaveDocumentedDefaultsAndLeaveHostArgumentsAlone()
    {
        ServerOptions options = ServerOptions.Parse(["--urls", "http://127.0.0.1:5080", "--environment", "Production"], out string[] host);

        Assert.Equal(["--urls", "http://127.0.0.1:5080", "--environment", "Production"], host);
        Assert.False(options.NoBatching);
        Assert.False(options.Int8);
        Assert.Null(options.S1Weights);
        Assert.Equal(16, options.MaxBatch);
        Assert.Equal(8 * 1024 * 1024, options.MaxBodyBytes);
        Assert.Equal(4096L * 4096, options.MaxPixels);
        Assert.Equal(Environment.ProcessorCount, options.Threads);
        Assert.Equal(30, options.UploadTimeoutSeconds);
    }

    [Fact]
    public void OptionsAreParsedWhereverTheyStand()
    {
        ServerOptions options = ServerOptions.Parse(
            ["--no-batching", "--int8", "--urls", "http://127.0.0.1:0", "--max-batch", "32", "--batch-wait-ms", "1.5", "--threads", "3",
             "--max-body-bytes", "2048", "--max-pixels", "100", "--s1-weights", "w.safetensors", "--max-concurrent-uploads", "4",
             "--max-concurrent-decodes", "5", "--upload-timeout-s", "2.5"],
            out string[] host);

        Assert.Equal(["--urls", "http://127.0.0.1:0"], host);
        Assert.Equal(
            new ServerOptions
            {
                NoBatching = true, Int8 = true, MaxBatch = 32, BatchWaitMs = 1.5, Threads = 3, MaxBodyBytes = 2048, MaxPixels = 100,
                S1Weights = "w.safetensors", MaxConcurrentUploads = 4, MaxConcurrentDecodes = 5, UploadTimeoutSeconds = 2.5,
            },
            options);
    }

    [Theory]
    [InlineData("--max-batch")]
    [InlineData("--max-batch", "0")]
    [InlineData("--max-batch", "many")]
    [InlineData("--batch-wait-ms", "-1")]
    [InlineData("--max-body-bytes", "10")]
    [InlineData("--s1-weights", "--no-batching")]
    public void ABadOptionValueIsAFormatError(params string[] args)
    {
        FormatException e = Assert.Throws<FormatException>(() => ServerOptions.Parse(args, out _));

        Assert.Contains(args[0], e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ThePngGuardAcceptsExactlyTheDataItsHeaderNeedsAndRefusesMore()
    {
        PngInflateGuard.Check(HostileBodies.GreyPng(16, 16, 16 * 17));
        PngInflateGuard.Check(TestImages.AnkleBoot);
        PngInflateGuard.Check(TestImages.Gradient);

        RequestRejectedException e = Assert.Throws<RequestRejectedException>(() => PngInflateGuard.Check(HostileBodies.GreyPng(16, 16, (16 * 17) + 1)));
        Assert.Equal(400, e.StatusCode);
        Assert.Contains("272 bytes", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ThePngGuardRefusesTruncatedAndHeaderlessFiles()
    {
        byte[] png = TestImages.Gradient;

        Assert.Contains("truncated", Assert.Throws<RequestRejectedException>(() => PngInflateGuard.Check(png.AsSpan(0, png.Length - 1))).Message, StringComparison.Ordinal);
        Assert.Contains("truncated", Assert.Throws<RequestRejectedException>(() => PngInflateGuard.Check(png.AsSpan(0, 20))).Message, StringComparison.Ordinal);
        Assert.Contains("IHDR", Assert.Throws<RequestRejectedException>(() => PngInflateGuard.Check(HostileBodies.PngSignatureThenGarbage())).Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(new byte[] { 0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0 }, ImageFormat.Png)]
    [InlineData(new byte[] { 0xFF, 0xD8, 0xFF, 0xE0 }, ImageFormat.Jpeg)]
    [InlineData(new byte[] { 0x89, 0x50, 0x4E, 0x47 }, ImageFormat.Unknown)]
    [InlineData(new byte[] { 0x47, 0x49, 0x46, 0x38, 0x39, 0x61 }, ImageFormat.Unknown)]
    [InlineData(new byte[0], ImageFormat.Unknown)]
    public void TheFormatIsReadFromTheSignature(byte[] head, ImageFormat expected)
    {
        Assert.Equal(expected, ImageFormatSniffer.Sniff(head));
    }

    [Fact]
    public void TheBmpSignatureNeedsAWholeHeader()
    {
        byte[] bmp = TestImages.Reencode(TestImages.AnkleBoot, "bmp");

        Assert.Equal(ImageFormat.Bmp, ImageFormatSniffer.Sniff(bmp));
        Assert.Equal(ImageFormat.Unknown, ImageFormatSniffer.Sniff(bmp.AsSpan(0, 10)));
    }

    [Fact]
    public void TheChromiumLocatorReportsHowToInstallWhenTheBrowserIsMissing()
    {
        string missing = System.IO.Path.Combine(System.IO.Path.GetTempPath(), Guid.NewGuid().ToString("N"), "chromium");
        string present = typeof(UnitTests).Assembly.Location;

        Assert.Null(ChromiumLocator.Find(missing, [present], out string? configuredReason));
        Assert.Contains("apt-get install -y chromium", configuredReason, StringComparison.Ordinal);
        Assert.Contains(missing, configuredReason, StringComparison.Ordinal);
        Assert.Null(ChromiumLocator.Find(null, [missing], out string? defaultReason));
        Assert.Contains("apt-get install -y chromium", defaultReason, StringComparison.Ordinal);
        Assert.Equal(present, ChromiumLocator.Find(null, [missing, present], out string? none));
        Assert.Null(none);
        Assert.Equal(present, ChromiumLocator.Find(present, [missing], out _));
    }

    [Theory]
    [InlineData("http://127.0.0.1:5080", true)]
    [InlineData("http://127.8.9.10:1/", true)]
    [InlineData("http://[::1]:5080", true)]
    [InlineData("http://localhost:5080", true)]
    [InlineData("https://LOCALHOST/", true)]
    [InlineData("http://10.0.0.1:5080", false)]
    [InlineData("http://192.168.1.2", false)]
    [InlineData("http://example.com", false)]
    [InlineData("http://localhost.example.com", false)]
    [InlineData("http://[2001:db8::1]", false)]
    public void TheLoadGeneratorOnlyTargetsLoopback(string url, bool allowed)
    {
        if (allowed)
        {
            Assert.Equal(new Uri(url), LoopbackGuard.Check(url));
        }
        else
        {
            Assert.Contains("not a loopback address", Assert.Throws<FormatException>(() => LoopbackGuard.Check(url)).Message, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void TheLoadGeneratorRefusesUnboundedRuns()
    {
        Assert.Throws<FormatException>(() => LoadOptions.Parse(["--requests", "1000001"]));
        Assert.Throws<FormatException>(() => LoadOptions.Parse(["--max-seconds", "601"]));
        Assert.Throws<FormatException>(() => LoadOptions.Parse(["--concurrency", "1,2000"]));
        Assert.Throws<FormatException>(() => LoadOptions.Parse(["--url", "ftp://127.0.0.1/"]));
        LoadOptions options = LoadOptions.Parse(["--url", "http://127.0.0.1:6000", "--concurrency", "2,4", "--requests", "50"]);
        Assert.Equal([2, 4], options.Concurrency);
        Assert.Equal(50, options.Requests);
    }

    [Fact]
    public void PercentilesAreNearestRank()
    {
        double[] hundred = Enumerable.Range(1, 100).Select(i => (double)i).ToArray();

        Assert.Equal(50, LatencyStats.Percentile(hundred, 50));
        Assert.Equal(99, LatencyStats.Percentile(hundred, 99));
        Assert.Equal(100, LatencyStats.Percentile(hundred, 100));
        Assert.Equal(1, LatencyStats.Percentile(hundred, 0.5));
        Assert.Equal(7, LatencyStats.Percentile([7.0], 99));
        Assert.Equal(20, LatencyStats.Percentile([10.0, 20.0, 30.0], 50));
        Assert.True(double.IsNaN(LatencyStats.Percentile([], 50)));
    }
}
