using System;
using System.Net;
using System.Net.Http;
using System.Text.Json;
using System.Threading.Tasks;
using Xunit;

namespace MobileOne.Server.Tests;

/// <summary>GET /metrics, /healthz and / .</summary>
[Collection(ServerCollection.Name)]
public sealed class MetricsAndPageTests(ServerFixture servers)
{
    [Fact]
    public async Task MetricsCountRequestsByStatusLatencyBatchSizesAndInFlight()
    {
        PrometheusText before = await ConcurrencyTests.MetricsAsync(servers.Batched);
        await Http.ClassifyAsync(servers.Batched.Client, TestImages.Body(TestImages.AnkleBoot));
        await Http.ProblemAsync(servers.Batched.Client, TestImages.Body(TestImages.AnkleBoot, "text/plain"));
        await Http.ProblemAsync(servers.Batched.Client, TestImages.Body(HostileBodies.Random(100, 9)));

        using HttpResponseMessage response = await servers.Batched.Client.GetAsync(new Uri("metrics", UriKind.Relative));
        PrometheusText after = PrometheusText.Parse(await response.Content.ReadAsStringAsync());

        Assert.Equal("text/plain", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal(1, Delta("mobileone_classify_requests_total{status=\"200\"}"));
        Assert.Equal(1, Delta("mobileone_classify_requests_total{status=\"415\"}"));
        Assert.Equal(1, Delta("mobileone_classify_requests_total{status=\"400\"}"));
        Assert.Equal(3, Delta("mobileone_classify_duration_seconds_count"));
        Assert.Equal(3, Delta("mobileone_classify_duration_seconds_bucket{le=\"+Inf\"}"));
        Assert.True(Delta("mobileone_classify_duration_seconds_sum") > 0);
        Assert.Equal(1, Delta("mobileone_inference_batch_size_count"));
        Assert.True(after.Has("mobileone_inference_batch_duration_seconds_count"));
        Assert.Equal(0, after["mobileone_classify_in_flight"]);
        Assert.True(after.Has("mobileone_classify_in_flight"));
        Assert.Equal(1, after["mobileone_model_info{model=\"FashionMnist\",batching=\"on\",max_batch=\"16\",batch_wait_ms=\"20\",threads=\"" + Environment.ProcessorCount + "\"}"]);
        // prometheus-net's HTTP metrics cover every endpoint, by status code.
        Assert.Contains(after.SeriesStartingWith("http_requests_received_total{code=\"415\",method=\"POST\""), _ => true);
        Assert.Contains(after.SeriesStartingWith("http_request_duration_seconds_bucket{code=\"200\",method=\"POST\""), _ => true);

        double Delta(string series) => after[series] - before[series];
    }

    [Fact]
    public async Task TheUnbatchedServerSaysSoInItsMetricsAndHealth()
    {
        PrometheusText metrics = await ConcurrencyTests.MetricsAsync(servers.Unbatched);
        using JsonDocument health = JsonDocument.Parse(await servers.Unbatched.Client.GetStringAsync(new Uri("healthz", UriKind.Relative)));

        Assert.Contains(metrics.SeriesStartingWith("mobileone_model_info{model=\"FashionMnist\",batching=\"off\""), _ => true);
        Assert.False(health.RootElement.GetProperty("batching").GetBoolean());
    }

    [Fact]
    public async Task HealthzSaysOkAndNamesTheModelAndLimits()
    {
        using HttpResponseMessage response = await servers.Batched.Client.GetAsync(new Uri("healthz", UriKind.Relative));
        using JsonDocument health = JsonDocument.Parse(await response.Content.ReadAsStringAsync());

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("ok", health.RootElement.GetProperty("status").GetString());
        Assert.Equal("FashionMnist", health.RootElement.GetProperty("model").GetString());
        Assert.True(health.RootElement.GetProperty("batching").GetBoolean());
        Assert.Equal(ServerFixture.MaxBodyBytes, health.RootElement.GetProperty("maxBodyBytes").GetInt32());
        Assert.Equal(4096L * 4096, health.RootElement.GetProperty("maxPixels").GetInt64());
    }

    [Fact]
    public async Task ThePageIsOneSelfContainedHtmlFileWithAFileInput()
    {
        using HttpResponseMessage response = await servers.Batched.Client.GetAsync(new Uri("/", UriKind.Relative));
        string html = await response.Content.ReadAsStringAsync();

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/html", response.Content.Headers.ContentType?.MediaType);
        Assert.Contains("<input type=\"file\" id=\"file\"", html, StringComparison.Ordinal);
        Assert.Contains("fetch(\"classify\"", html, StringComparison.Ordinal);
        // Self-contained: no external script, stylesheet, font or image (no CDN).
        Assert.DoesNotContain("http://", html, StringComparison.Ordinal);
        Assert.DoesNotContain("https://", html, StringComparison.Ordinal);
        Assert.DoesNotContain("src=\"//", html, StringComparison.Ordinal);
        Assert.DoesNotContain("<link", html, StringComparison.Ordinal);
    }
}
