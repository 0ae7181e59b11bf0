using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Linq;
using System.Net.Http;
using System.Net.Http.Headers;
using System.Text.Json;
using System.Threading;
using System.Threading.Tasks;

namespace MobileOne.LoadGenerator;

/// <summary>
/// Closed-loop load: <c>concurrency</c> workers, each sending its next request as soon as the previous one is
/// answered, until the level's request count or time limit is reached.
/// </summary>
public sealed class LoadRunner
{
    private readonly Uri _classify;
    private readonly IReadOnlyList<TestImage> _images;

    /// <summary>Initializes a new instance of the <see cref="LoadRunner"/> class.</summary>
    /// <param name="server">The server's base address (loopback).</param>
    /// <param name="images">The request bodies, sent in turn.</param>
    public LoadRunner(Uri server, IReadOnlyList<TestImage> images)
    {
        ArgumentNullException.ThrowIfNull(server);
        _classify = new Uri(LoopbackGuard.Check(server.ToString()), "classify");
        _images = images.Count > 0 ? images : throw new ArgumentException("No images to send.", nameof(images));
    }

    /// <summary>Runs one level.</summary>
    /// <param name="concurrency">Workers.</param>
    /// <param name="requests">Requests to complete.</param>
    /// <param name="maxDuration">Time limit.</param>
    /// <returns>What was measured.</returns>
    public async Task<LevelResult> RunAsync(int concurrency, int requests, TimeSpan maxDuration)
    {
        using var handler = new SocketsHttpHandler { MaxConnectionsPerServer = concurrency, PooledConnectionLifetime = Timeout.InfiniteTimeSpan };
        using var client = new HttpClient(handler) { Timeout = TimeSpan.FromSeconds(30) };
        var level = new LevelState(requests, Stopwatch.GetTimestamp() + (long)(maxDuration.TotalSeconds * Stopwatch.Frequency));
        long start = Stopwatch.GetTimestamp();
        List<double>[] latencies = await Task.WhenAll(Enumerable.Range(0, concurrency).Select(_ => Task.Run(() => WorkerAsync(client, level))))
            .ConfigureAwait(false);
        TimeSpan elapsed = Stopwatch.GetElapsedTime(start);
        double[] sorted = latencies.SelectMany(l => l).Order().ToArray();
        return new LevelResult(concurrency, level.Completed, level.Errors, level.WrongLabels, elapsed, sorted,
            sorted.Length > 0 ? (double)level.BatchSizeSum / sorted.Length : 0, level.FirstError);
    }

    private async Task<List<double>> WorkerAsync(HttpClient client, LevelState level)
    {
        var latencies = new List<double>();
        while (level.TryTake(out int index))
        {
            TestImage image = _images[index % _images.Count];
            long t0 = Stopwatch.GetTimestamp();
            Answer answer = await SendAsync(client, image).ConfigureAwait(false);
            double ms = Stopwatch.GetElapsedTime(t0).TotalMilliseconds;
            if (answer.Error != null)
            {
                level.Fail(answer.Error);
                continue;
            }

            latencies.Add(ms);
            level.Succeed(answer.BatchSize, image.Truth != null && image.Truth != TestImage.Normalise(answer.Label!));
        }

        return latencies;
    }

    private async Task<Answer> SendAsync(HttpClient client, TestImage image)
    {
        try
        {
            using var content = new ByteArrayContent(image.Bytes);
            content.Headers.ContentType = new MediaTypeHeaderValue(image.ContentType);
            using HttpResponseMessage response = await client.PostAsync(_classify, content).ConfigureAwait(false);
            string body = await response.Content.ReadAsStringAsync().ConfigureAwait(false);
            if (!response.IsSuccessStatusCode)
            {
                return new Answer(null, 0, $"{(int)response.StatusCode}: {body}");
            }

            using JsonDocument json = JsonDocument.Parse(body);
            string label = json.RootElement.GetProperty("top5")[0].GetProperty("label").GetString() ?? "";
            return new Answer(label, json.RootElement.GetProperty("batchSize").GetInt32(), null);
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException or JsonException or KeyNotFoundException or InvalidOperationException)
        {
            return new Answer(null, 0, $"{e.GetType().Name}: {e.Message}");
        }
    }

    private readonly record struct Answer(string? Label, int BatchSize, string? Error);

    private sealed class LevelState(int requests, long deadline)
    {
        private int _next = -1;
        private int _completed;
        private int _errors;
        private int _wrong;
        private long _batchSizeSum;

        public int Completed => Volatile.Read(ref _completed);

        public int Errors => Volatile.Read(ref _errors);

        public int WrongLabels => Volatile.Read(ref _wrong);

        public long BatchSizeSum => Interlocked.Read(ref _batchSizeSum);

        public string? FirstError { get; private set; }

        public bool TryTake(out int index)
        {
            index = Interlocked.Increment(ref _next);
            return index < requests && Stopwatch.GetTimestamp() < deadline;
        }

        public void Succeed(int batchSize, bool wrongLabel)
        {
            Interlocked.Add(ref _batchSizeSum, batchSize);
            Interlocked.Increment(ref _completed);
            if (wrongLabel)
            {
                Interlocked.Increment(ref _wrong);
            }
        }

        public void Fail(string error)
        {
            Interlocked.Increment(ref _completed);
            if (Interlocked.Increment(ref _errors) == 1)
            {
                FirstError = error;
            }
        }
    }
}
