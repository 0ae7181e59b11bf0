using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Net;
using System.Net.Http;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Text;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using MobileOne.Server.Http;
using Xunit;

namespace MobileOne.Server.Tests;

/// <summary>
/// Hostile uploads get a 4xx problem+json, never a 500, and the server goes on serving: after each one, a good
/// request still gets its label.
/// </summary>
[Collection(ServerCollection.Name)]
public sealed class HostileInputTests(ServerFixture servers)
{
    private static readonly Dictionary<string, (Func<HttpContent> Body, int Status, string Detail)> Cases = new()
    {
        ["random bytes"] = (() => TestImages.Body(HostileBodies.Random(4096, 1)), 400, "not a JPEG, PNG or BMP"),
        ["a PNG signature then garbage"] = (() => TestImages.Body(HostileBodies.PngSignatureThenGarbage()), 400, "PNG"),
        ["a truncated PNG"] = (() => TestImages.Body(HostileBodies.Truncated(TestImages.Gradient, 0.6)), 400, "truncated"),
        ["a PNG cut inside its header"] = (() => TestImages.Body(HostileBodies.Truncated(TestImages.AnkleBoot, 0.1)), 400, "PNG"),
        ["an empty body"] = (() => TestImages.Body([]), 400, "empty"),
        ["a GIF"] = (() => TestImages.Body(HostileBodies.Gif(), "image/gif"), 400, "not a JPEG, PNG or BMP"),
        ["Content-Type text/plain"] = (() => TestImages.Body(TestImages.AnkleBoot, "text/plain"), 415, "text/plain"),
        ["Content-Type application/json"] = (() => TestImages.Body("{}"u8.ToArray(), "application/json"), 415, "application/json"),
        ["no Content-Type"] = (() => TestImages.Body(TestImages.AnkleBoot, null), 415, "Content-Type"),
        ["a body over the limit"] = (() => TestImages.Body(OverLimit()), 413, "limit"),
        ["a chunked body over the limit"] = (() => Chunked(OverLimit()), 413, "too large"),
        ["a 20000x20000 PNG bomb"] = (() => TestImages.Body(HostileBodies.PngBomb20000), 413, "20000x20000"),
        ["a 16x16 PNG that inflates to 32 MB"] = (() => TestImages.Body(HostileBodies.GreyPng(16, 16, 32L << 20)), 400, "inflates"),
        ["a JPEG claiming 60000x60000"] = (() => TestImages.Body(HostileBodies.JpegClaiming(Jpeg(), 60_000, 60_000), "image/jpeg"), 413, "60000x60000"),
        ["a BMP claiming 30000x30000"] = (() => TestImages.Body(HostileBodies.BmpClaiming(Bmp(), 30_000, 30_000), "image/bmp"), 413, "30000x30000"),
        ["a multipart body without a file"] = (() => new MultipartFormDataContent { { new StringContent("x"), "note" } }, 400, "no file part"),
        ["a multipart file part of type text/plain"] = (() => TestImages.FilePart(TestImages.AnkleBoot, "text/plain"), 415, "text/plain"),
        ["a multipart body over the limit"] = (() => TestImages.FilePart(OverLimit()), 413, "too large"),
        ["a multipart body with a missing boundary"] = (() => TestImages.Body(TestImages.AnkleBoot, "multipart/form-data"), 400, "boundary"),
        ["a multipart body that is garbage"] = (() => TestImages.Body(HostileBodies.Random(2048, 3), "multipart/form-data; boundary=xyz"), 400, "multipart"),
        ["a multipart file part of random bytes"] = (() => TestImages.FilePart(HostileBodies.Random(4096, 4)), 400, "not a JPEG, PNG or BMP"),
    };

    public static TheoryData<string> CaseNames => new(Cases.Keys);

    [Theory]
    [MemberData(nameof(CaseNames))]
    public async Task IsRefusedWithA4xxProblemAndTheServerKeepsServing(string name)
    {
        (Func<HttpContent> body, int status, string detail) = Cases[name];

        Http.Problem problem = await Http.ProblemAsync(servers.Batched.Client, body(), expectContinue: status == 413);

        Assert.Equal(status, problem.Status);
        Assert.Contains(detail, problem.Detail, StringComparison.OrdinalIgnoreCase);
        await AGoodRequestStillWorks();
    }

    [Fact]
    public async Task ThePngBombIsRefusedFromItsHeaderWithoutDecoding()
    {
        byte[] bomb = HostileBodies.PngBomb20000;
        Assert.InRange(bomb.Length, 100_000, 1_000_000); // a few hundred KB for 400 MB of pixels
        long peakBefore = PeakWorkingSet();
        var clock = Stopwatch.StartNew();

        Http.Problem problem = await Http.ProblemAsync(servers.Batched.Client, TestImages.Body(bomb));

        Assert.Equal(413, problem.Status);
        Assert.Contains("not decoded", problem.Detail, StringComparison.Ordinal);
        // Decoding would allocate 400 MB of inflated rows and 1.2 GB of RGB (native memory, invisible to the GC).
        Assert.True(PeakWorkingSet() - peakBefore < 200L << 20, $"peak working set grew by {(PeakWorkingSet() - peakBefore) >> 20} MiB");
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(10), $"took {clock.Elapsed}");
    }

    [Fact]
    public async Task HostileAndGoodRequestsInterleavedEachGetTheirOwnAnswer()
    {
        string[] names = [.. Cases.Keys];
        var tasks = Enumerable.Range(0, 120).Select(async i =>
        {
            if (i % 2 == 0)
            {
                ClassificationResponse answer = await Http.ClassifyAsync(servers.Batched.Client, TestImages.Body(TestImages.AnkleBoot));
                return answer.Top5[0].Label == "Ankle boot" ? 200 : -1;
            }

            (Func<HttpContent> body, int status, _) = Cases[names[i / 2 % names.Length]];
            Http.Problem problem = await Http.ProblemAsync(servers.Batched.Client, body(), expectContinue: status == 413);
            return problem.Status == status ? 400 : -problem.Status;
        });

        int[] outcomes = await Task.WhenAll(tasks);

        Assert.Equal(60, outcomes.Count(o => o == 200));
        Assert.Equal(60, outcomes.Count(o => o == 400));
    }

    [Fact]
    public async Task AClientTricklingItsBodyIsAnswered408AtTheUploadTimeout()
    {
        await using RunningServer server = await RunningServer.StartAsync("--upload-timeout-s", "1");
        using var client = new TcpClient();
        await client.ConnectAsync(server.Address.Host, server.Address.Port);
        NetworkStream stream = client.GetStream();
        var clock = Stopwatch.StartNew();

        // The headers promise 1,000 bytes; 100 come, then nothing (as from a slow or malicious client).
        await stream.WriteAsync(Encoding.ASCII.GetBytes("POST /classify HTTP/1.1\r\nHost: test\r\nContent-Type: image/png\r\nContent-Length: 1000\r\n\r\n"));
        await stream.WriteAsync(TestImages.AnkleBoot.AsMemory(0, 100));
        string answer = await ReadUntilClosedAsync(stream, TimeSpan.FromSeconds(15));

        Assert.StartsWith("HTTP/1.1 408", answer, StringComparison.Ordinal);
        Assert.Contains("application/problem+json", answer, StringComparison.Ordinal);
        Assert.Contains("within 1 s", answer, StringComparison.Ordinal);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(10), $"took {clock.Elapsed}");
        ClassificationResponse good = await Http.ClassifyAsync(server.Client, TestImages.Body(TestImages.AnkleBoot));
        Assert.Equal("Ankle boot", good.Top5[0].Label);
    }

    [Fact]
    public void KestrelItselfEnforcesTheBodyLimit()
    {
        KestrelServerOptions kestrel = servers.Batched.Services.GetRequiredService<IOptions<KestrelServerOptions>>().Value;

        Assert.Equal(ServerFixture.MaxBodyBytes, kestrel.Limits.MaxRequestBodySize);
    }

    [Fact]
    public async Task ABodyOfExactlyTheLimitIsReadAndJudgedOnItsContent()
    {
        byte[] body = new byte[ServerFixture.MaxBodyBytes];
        TestImages.AnkleBoot.CopyTo(body, 0); // a PNG followed by zeros up to the limit: decodes, trailing bytes ignored

        ClassificationResponse answer = await Http.ClassifyAsync(servers.Batched.Client, TestImages.Body(body));

        Assert.Equal("Ankle boot", answer.Top5[0].Label);
    }

    [Fact]
    public async Task AGetOnClassifyIs405AndAnUnknownPathIs404()
    {
        using HttpResponseMessage get = await servers.Batched.Client.GetAsync(new Uri("classify", UriKind.Relative));
        using HttpResponseMessage missing = await servers.Batched.Client.GetAsync(new Uri("nothing-here", UriKind.Relative));

        Assert.Equal(HttpStatusCode.MethodNotAllowed, get.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
        await AGoodRequestStillWorks();
    }

    private static byte[] OverLimit()
    {
        byte[] body = new byte[ServerFixture.MaxBodyBytes + (16 * 1024)];
        TestImages.AnkleBoot.CopyTo(body, 0);
        return body;
    }

    private static HttpContent Chunked(byte[] body)
    {
        // A stream of unknown length: HttpClient sends it chunked, with no Content-Length for the server to check first.
        var content = new StreamContent(new UnknownLengthStream(body));
        content.Headers.ContentType = new MediaTypeHeaderValue("image/png");
        return content;
    }

    private static async Task<string> ReadUntilClosedAsync(NetworkStream stream, TimeSpan limit)
    {
        using var timeout = new CancellationTokenSource(limit);
        var received = new MemoryStream();
        byte[] buffer = new byte[4096];
        try
        {
            int read;
            while ((read = await stream.ReadAsync(buffer, timeout.Token)) > 0)
            {
                received.Write(buffer, 0, read);
                if (Encoding.ASCII.GetString(received.ToArray()).Contains("\r\n0\r\n\r\n", StringComparison.Ordinal))
                {
                    break; // the last chunk of the answer
                }
            }
        }
        catch (OperationCanceledException)
        {
            // Report what came within the limit.
        }

        return Encoding.ASCII.GetString(received.ToArray());
    }

    private static byte[] Jpeg() => TestImages.Reencode(TestImages.AnkleBoot, "jpeg");

    private static byte[] Bmp() => TestImages.Reencode(TestImages.AnkleBoot, "bmp");

    private static long PeakWorkingSet()
    {
        using var self = Process.GetCurrentProcess();
        self.Refresh();
        return self.PeakWorkingSet64;
    }

    private async Task AGoodRequestStillWorks()
    {
        ClassificationResponse answer = await Http.ClassifyAsync(servers.Batched.Client, TestImages.Body(TestImages.AnkleBoot));
        Assert.Equal("Ankle boot", answer.Top5[0].Label);
    }

    private sealed class UnknownLengthStream(byte[] data) : MemoryStream(data)
    {
        public override bool CanSeek => false;
    }
}
