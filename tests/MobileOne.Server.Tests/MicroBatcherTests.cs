using System;
using System.Collections.Concurrent;
using System.Diagnostics;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using MobileOne.Server.Batching;
using MobileOne.Server.Imaging;
using MobileOne.Server.Models;
using Xunit;

namespace MobileOne.Server.Tests;

/// <summary>The micro-batcher alone, with a model that records its calls and can be held mid-batch.</summary>
public sealed class MicroBatcherTests
{
    [Fact]
    public async Task InputsQueuedWhileABatchRunsFormTheNextBatchAndEachGetsItsOwnLogits()
    {
        var model = new RecordingModel();
        await using var batcher = new MicroBatcher(model, maxBatch: 8, TimeSpan.FromSeconds(5), new PreparingRequests(), (_, _) => { });

        model.Hold();
        Task<Result> first = RunAsync(batcher, 100);
        await model.WaitUntilRunningAsync();
        Task<Result>[] queued = Enumerable.Range(1, 5).Select(i => RunAsync(batcher, 100 + i)).ToArray();
        await WaitUntilAsync(() => batcher.QueuedCount == 5);
        model.Release();
        Result[] results = await Task.WhenAll(queued.Prepend(first));

        Assert.Equal([1, 5], model.BatchSizes);
        Assert.Equal([1, 5, 5, 5, 5, 5], results.Select(r => r.BatchSize));
        Assert.All(results, r => Assert.Equal(RecordingModel.LogitsFor(r.Input), r.Logits));
    }

    [Fact]
    public async Task ABatchNeverHoldsMoreThanMaxBatch()
    {
        var model = new RecordingModel();
        await using var batcher = new MicroBatcher(model, maxBatch: 4, TimeSpan.FromSeconds(5), new PreparingRequests(), (_, _) => { });

        model.Hold();
        Task<Result> first = RunAsync(batcher, 0);
        await model.WaitUntilRunningAsync();
        Task<Result>[] queued = Enumerable.Range(1, 10).Select(i => RunAsync(batcher, i)).ToArray();
        await WaitUntilAsync(() => batcher.QueuedCount == 10);
        model.Release();
        Result[] results = await Task.WhenAll(queued.Prepend(first));

        Assert.Equal([1, 4, 4, 2], model.BatchSizes);
        Assert.All(results, r => Assert.Equal(RecordingModel.LogitsFor(r.Input), r.Logits));
    }

    [Fact]
    public async Task ALoneInputRunsAtOnceEvenWithALongMaxWait()
    {
        var model = new RecordingModel();
        await using var batcher = new MicroBatcher(model, maxBatch: 16, TimeSpan.FromSeconds(30), new PreparingRequests(), (_, _) => { });
        var clock = Stopwatch.StartNew();

        Result result = await RunAsync(batcher, 3);

        Assert.Equal(1, result.BatchSize);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(10), $"waited {clock.Elapsed}");
    }

    [Fact]
    public async Task ABatchWaitsForARequestThatIsStillPreparingUntilItArrives()
    {
        var model = new RecordingModel();
        var preparing = new PreparingRequests();
        await using var batcher = new MicroBatcher(model, maxBatch: 16, TimeSpan.FromSeconds(30), preparing, (_, _) => { });

        Task<Result> early;
        Task<Result> late;
        using (preparing.Enter())
        {
            early = RunAsync(batcher, 1);
            await Task.Delay(200);
            Assert.False(early.IsCompleted, "the batch ran without waiting for the request being prepared");
            late = RunAsync(batcher, 2);
        }

        Result[] results = await Task.WhenAll(early, late);

        Assert.Equal([2], model.BatchSizes);
        Assert.All(results, r => Assert.Equal(2, r.BatchSize));
    }

    [Fact]
    public async Task ABatchStopsWaitingAtItsDeadline()
    {
        var model = new RecordingModel();
        var preparing = new PreparingRequests();
        await using var batcher = new MicroBatcher(model, maxBatch: 16, TimeSpan.FromMilliseconds(50), preparing, (_, _) => { });
        using PreparingRequests.Scope neverArrives = preparing.Enter();
        var clock = Stopwatch.StartNew();

        Result result = await RunAsync(batcher, 1);

        Assert.Equal(1, result.BatchSize);
        Assert.True(clock.Elapsed >= TimeSpan.FromMilliseconds(40), $"ran after {clock.Elapsed.TotalMilliseconds} ms, before the deadline");
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(10), $"waited {clock.Elapsed}");
    }

    [Fact]
    public async Task AFailingBatchFailsItsInputsAndTheNextBatchRuns()
    {
        var model = new RecordingModel { FailOn = 13 };
        int observed = 0;
        await using var batcher = new MicroBatcher(model, maxBatch: 4, TimeSpan.Zero, new PreparingRequests(), (n, _) => observed += n);

        InvalidOperationException e = await Assert.ThrowsAsync<InvalidOperationException>(() => RunAsync(batcher, 13));
        Result next = await RunAsync(batcher, 14);

        Assert.Equal("model failed", e.Message);
        Assert.Equal(RecordingModel.LogitsFor(14), next.Logits);
        Assert.Equal(1, observed);
    }

    private static async Task<Result> RunAsync(MicroBatcher batcher, float value)
    {
        float[] input = Enumerable.Repeat(value, RecordingModel.Length).ToArray();
        float[] logits = new float[RecordingModel.Classes];
        int batchSize = await batcher.RunAsync(input, logits, CancellationToken.None);
        return new Result(value, logits, batchSize);
    }

    private static async Task WaitUntilAsync(Func<bool> condition)
    {
        var clock = Stopwatch.StartNew();
        while (!condition())
        {
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(10), "timed out");
            await Task.Delay(5);
        }
    }

    private sealed record Result(float Input, float[] Logits, int BatchSize);

    /// <summary>Logits = (input value + class): checks that every caller gets the logits of its own input.</summary>
    private sealed class RecordingModel : IImageClassifier
    {
        public const int Length = 4;
        public const int Classes = 3;
        private readonly ConcurrentQueue<int> _batches = new();
        private readonly ManualResetEventSlim _gate = new(true);
        private readonly SemaphoreSlim _running = new(0);

        public float? FailOn { get; init; }

        public int[] BatchSizes => [.. _batches];

        public string Name => "recording";

        public int InputLength => Length;

        public int NumClasses => Classes;

        public static float[] LogitsFor(float value) => Enumerable.Range(0, Classes).Select(c => value + c).ToArray();

        public string Label(int index) => index.ToString(System.Globalization.CultureInfo.InvariantCulture);

        public void Preprocess(DecodedImage image, Span<float> input) => throw new NotSupportedException();

        public void Hold() => _gate.Reset();

        public void Release() => _gate.Set();

        public Task WaitUntilRunningAsync() => _running.WaitAsync(TimeSpan.FromSeconds(10));

        public void Run(ReadOnlySpan<float> inputs, Span<float> logits, int batchSize)
        {
            _running.Release();
            _gate.Wait(TimeSpan.FromSeconds(10));
            if (inputs[0] == FailOn)
            {
                throw new InvalidOperationException("model failed");
            }

            _batches.Enqueue(batchSize);
            for (int i = 0; i < batchSize; i++)
            {
                LogitsFor(inputs[i * Length]).CopyTo(logits.Slice(i * Classes, Classes));
            }
        }
    }
}
