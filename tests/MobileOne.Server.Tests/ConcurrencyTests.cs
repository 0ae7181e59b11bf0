using System;
using System.Linq;
using System.Net.Http;
using System.Threading;
using System.Threading.Tasks;
using MobileOne.Server.Http;
using Xunit;

namespace MobileOne.Server.Tests;

/// <summary>Many concurrent requests: no error, the right labels, and micro-batches that really hold several images.</summary>
[Collection(ServerCollection.Name)]
public sealed class ConcurrencyTests(ServerFixture servers)
{
    [Fact]
    public async Task AThousandConcurrentRequestsAllSucceedWithTheRightLabels()
    {
        PrometheusText before = await MetricsAsync(servers.Batched);

        ClassificationResponse[] answers = await ClassifyConcurrentlyAsync(servers.Batched, requests: 1000, concurrency: 64);

        Assert.Equal(1000, answers.Length);
        for (int i = 0; i < answers.Length; i++)
        {
            string file = TestImages.LabelledFiles[i % TestImages.LabelledFiles.Count];
            Assert.Equal(TestImages.Truth(file), TestImages.Normalise(answers[i].Top5[0].Label));
        }

        PrometheusText after = await MetricsAsync(servers.Batched);
        Assert.Equal(1000, after["mobileone_classify_requests_total{status=\"200\"}"] - before["mobileone_classify_requests_total{status=\"200\"}"]);
    }

    [Fact]
    public async Task UnderConcurrencyTheMicroBatcherFormsBatchesOfMoreThanOneImage()
    {
        PrometheusText before = await MetricsAsync(servers.Batched);

        ClassificationResponse[] answers = await ClassifyConcurrentlyAsync(servers.Batched, requests: 400, concurrency: 32);

        PrometheusText after = await MetricsAsync(servers.Batched);
        double images = after["mobileone_inference_batch_size_sum"] - before["mobileone_inference_batch_size_sum"];
        double calls = after["mobileone_inference_batch_size_count"] - before["mobileone_inference_batch_size_count"];
        double single = after["mobileone_inference_batch_size_bucket{le=\"1\"}"] - before["mobileone_inference_batch_size_bucket{le=\"1\"}"];
        Assert.Equal(400, images);
        Assert.True(calls < images, $"{calls} inference calls for {images} images: no batching");
        Assert.True(calls - single > 0, "no batch of more than one image");
        Assert.Contains(answers, a => a.BatchSize > 1);
        Assert.All(answers, a => Assert.InRange(a.BatchSize, 1, 16)); // --max-batch 16
    }

    [Fact]
    public async Task WithoutBatchingEveryCallHoldsOneImage()
    {
        PrometheusText before = await MetricsAsync(servers.Unbatched);

        ClassificationResponse[] answers = await ClassifyConcurrentlyAsync(servers.Unbatched, requests: 200, concurrency: 32);

        PrometheusText after = await MetricsAsync(servers.Unbatched);
        Assert.All(answers, a => Assert.Equal(1, a.BatchSize));
        Assert.Equal(200, after["mobileone_inference_batch_size_count"] - before["mobileone_inference_batch_size_count"]);
        Assert.Equal(200, after["mobileone_inference_batch_size_sum"] - before["mobileone_inference_batch_size_sum"]);
    }

    [Fact]
    public async Task ALoneRequestDoesNotWaitForABatchToFill()
    {
        // A batch may wait a whole second for company, but only while other requests are on their way: requests sent
        // one after another each run at once.
        await using RunningServer server = await RunningServer.StartAsync("--batch-wait-ms", "1000");
        double[] ms = new double[5];
        for (int i = 0; i < ms.Length; i++)
        {
            ms[i] = (await Http.ClassifyAsync(server.Client, TestImages.Body(TestImages.AnkleBoot))).Milliseconds;
        }

        Array.Sort(ms);
        Assert.True(ms[ms.Length / 2] < 500, $"median server time {ms[ms.Length / 2]:F2} ms: a lone request waited for the batch deadline");
    }

    internal static async Task<PrometheusText> MetricsAsync(RunningServer server) =>
        PrometheusText.Parse(await server.Client.GetStringAsync(new Uri("metrics", UriKind.Relative)));

    private static async Task<ClassificationResponse[]> ClassifyConcurrentlyAsync(RunningServer server, int requests, int concurrency)
    {
        using var gate = new SemaphoreSlim(concurrency);
        byte[][] files = TestImages.LabelledFiles.Select(TestImages.Read).ToArray();
        return await Task.WhenAll(Enumerable.Range(0, requests).Select(async i =>
        {
            await gate.WaitAsync();
            try
            {
                return await Http.ClassifyAsync(server.Client, TestImages.Body(files[i % files.Length]));
            }
            finally
            {
                gate.Release();
            }
        }));
    }
}
