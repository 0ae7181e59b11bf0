using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Threading;
using System.Threading.Channels;
using System.Threading.Tasks;
using MobileOne.Server.Models;

namespace MobileOne.Server.Batching;

/// <summary>
/// Gathers concurrent requests into one batched <see cref="IImageClassifier.Run"/> call, which the runtime splits
/// across <c>Parallelism.MaxDegreeOfParallelism</c> threads. A batch closes when it has <c>maxBatch</c> inputs, when
/// its first input has waited <c>maxWait</c>, or at once when no other request is reading or decoding its image
/// (<see cref="PreparingRequests"/>): a lone request never waits for company that is not coming.
/// </summary>
public sealed class MicroBatcher : IInferenceRunner, IAsyncDisposable
{
    private readonly IImageClassifier _classifier;
    private readonly int _maxBatch;
    private readonly long _maxWaitTicks;
    private readonly PreparingRequests _preparing;
    private readonly Action<int, TimeSpan> _onBatch;
    private static readonly long PollTicks = Stopwatch.Frequency / 1000; // 1 ms

    private readonly Channel<Job> _queue;
    private readonly Task _loop;
    private Task<bool>? _waitForInput;

    /// <summary>Initializes a new instance of the <see cref="MicroBatcher"/> class and starts its loop.</summary>
    /// <param name="classifier">The model.</param>
    /// <param name="maxBatch">The largest batch.</param>
    /// <param name="maxWait">How long the first input of a batch may wait for others.</param>
    /// <param name="preparing">The requests still reading or decoding.</param>
    /// <param name="onBatch">Called after each batch with its size and time.</param>
    public MicroBatcher(IImageClassifier classifier, int maxBatch, TimeSpan maxWait, PreparingRequests preparing, Action<int, TimeSpan> onBatch)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxBatch, 1);
        _classifier = classifier;
        _maxBatch = maxBatch;
        _maxWaitTicks = (long)(maxWait.TotalSeconds * Stopwatch.Frequency);
        _preparing = preparing;
        _onBatch = onBatch;
        // Bounded: when inference falls behind, requests wait here (holding only their own input) instead of piling up.
        _queue = Channel.CreateBounded<Job>(new BoundedChannelOptions(Math.Max(64, 8 * maxBatch)) { SingleReader = true });
        _loop = Task.Run(LoopAsync);
    }

    /// <summary>Gets the number of inputs waiting for a batch.</summary>
    public int QueuedCount => _queue.Reader.Count;

    /// <inheritdoc />
    public async ValueTask<int> RunAsync(ReadOnlyMemory<float> input, Memory<float> logits, CancellationToken cancellationToken)
    {
        var job = new Job(input, logits, Stopwatch.GetTimestamp());
        await _queue.Writer.WriteAsync(job, cancellationToken).ConfigureAwait(false);
        // Once queued, the job is not cancelled: the batch loop reads input and writes logits until it completes.
        return await job.Completion.Task.ConfigureAwait(false);
    }

    /// <summary>Stops taking inputs, finishes the queued ones and ends the loop.</summary>
    /// <returns>A task that completes when the loop has ended.</returns>
    public async ValueTask DisposeAsync()
    {
        _queue.Writer.TryComplete();
        await _loop.ConfigureAwait(false);
    }

    private async Task LoopAsync()
    {
        var batch = new List<Job>(_maxBatch);
        float[] inputs = new float[_maxBatch * _classifier.InputLength];
        float[] logits = new float[_maxBatch * _classifier.NumClasses];
        while (await WaitForInputAsync(Timeout.InfiniteTimeSpan).ConfigureAwait(false))
        {
            await GatherAsync(batch).ConfigureAwait(false);
            if (batch.Count > 0)
            {
                Execute(batch, inputs, logits);
                batch.Clear();
            }
        }
    }

    private async Task GatherAsync(List<Job> batch)
    {
        long deadline = long.MaxValue;
        while (batch.Count < _maxBatch)
        {
            if (_queue.Reader.TryRead(out Job? job))
            {
                deadline = batch.Count == 0 ? job.QueuedAt + _maxWaitTicks : deadline;
                batch.Add(job);
                continue;
            }

            long left = deadline - Stopwatch.GetTimestamp();
            if (batch.Count == 0 || left <= 0 || _preparing.Count == 0 || _queue.Reader.Completion.IsCompleted)
            {
                return;
            }

            // Wait in short slices, re-reading the preparing count: a request may finish preparing without queueing
            // (a rejected image), and nothing else would wake this loop before the deadline.
            long slice = Math.Min(left, PollTicks);
            await WaitForInputAsync(TimeSpan.FromSeconds((double)slice / Stopwatch.Frequency)).ConfigureAwait(false);
        }
    }

    // True when an input can be read, false on timeout or when the queue is closed. One wait is outstanding at a
    // time: a wait that timed out is kept and awaited again next time (a closed queue ends the gathering: TryRead fails).
    private async Task<bool> WaitForInputAsync(TimeSpan timeout)
    {
        _waitForInput ??= _queue.Reader.WaitToReadAsync().AsTask();
        if (timeout != Timeout.InfiniteTimeSpan && await Task.WhenAny(_waitForInput, Task.Delay(timeout)).ConfigureAwait(false) != _waitForInput)
        {
            return false;
        }

        bool ready = await _waitForInput.ConfigureAwait(false);
        _waitForInput = null;
        return ready;
    }

    private void Execute(List<Job> batch, float[] inputs, float[] logits)
    {
        int n = batch.Count, length = _classifier.InputLength, classes = _classifier.NumClasses;
        for (int i = 0; i < n; i++)
        {
            batch[i].Input.Span.CopyTo(inputs.AsSpan(i * length, length));
        }

        long start = Stopwatch.GetTimestamp();
        try
        {
            _classifier.Run(inputs.AsSpan(0, n * length), logits.AsSpan(0, n * classes), n);
        }
        catch (Exception e)
        {
            foreach (Job job in batch)
            {
                job.Completion.TrySetException(e);
            }

            return;
        }

        _onBatch(n, Stopwatch.GetElapsedTime(start));
        for (int i = 0; i < n; i++)
        {
            logits.AsSpan(i * classes, classes).CopyTo(batch[i].Logits.Span);
            batch[i].Completion.TrySetResult(n);
        }
    }

    private sealed class Job(ReadOnlyMemory<float> input, Memory<float> logits, long queuedAt)
    {
        public ReadOnlyMemory<float> Input { get; } = input;

        public Memory<float> Logits { get; } = logits;

        public long QueuedAt { get; } = queuedAt;

        // Continuations run on the thread pool, not on the batch loop, which goes straight on to the next batch.
        public TaskCompletionSource<int> Completion { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}
