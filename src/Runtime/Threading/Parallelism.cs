using System;
using System.Threading;

namespace MobileOne.Runtime;

/// <summary>
/// How many threads one inference may use. Process-wide, read at every layer: kernels split their rows (or output
/// channels) across a small persistent pool of worker threads, and <see cref="IMobileOneNetwork.Run(ReadOnlySpan{float}, Span{float}, int)"/>
/// splits a batch across them. The default is <b>1</b> (everything on the calling thread, no worker threads are
/// started); set it to e.g. <see cref="Environment.ProcessorCount"/> to use the machine.
/// </summary>
/// <remarks>
/// Only one inference at a time uses the pool: a concurrent caller (or a call made from inside the pool) runs on
/// its own thread alone, so calls stay thread-safe and never wait for each other. Nothing is allocated per call;
/// worker threads are created on first use and spin briefly between layers before they block.
/// </remarks>
public static class Parallelism
{
    /// <summary>Upper bound accepted by <see cref="MaxDegreeOfParallelism"/>.</summary>
    public const int MaxThreads = 64;

    /// <summary>Name of the environment variable that sets the initial <see cref="MaxDegreeOfParallelism"/>.</summary>
    public const string EnvironmentVariable = "MOBILEONE_THREADS";

    private static int s_degree = Parse(Environment.GetEnvironmentVariable(EnvironmentVariable));

    /// <summary>
    /// Gets or sets the number of threads (the caller's included) one inference may use; default 1, or the value
    /// of the environment variable <c>MOBILEONE_THREADS</c>. Values are clamped to 1..<see cref="MaxThreads"/>.
    /// </summary>
    public static int MaxDegreeOfParallelism
    {
        get => Volatile.Read(ref s_degree);
        set => Volatile.Write(ref s_degree, Math.Clamp(value, 1, MaxThreads));
    }

    /// <summary>
    /// Runs <paramref name="network"/> on <paramref name="batchSize"/> images, split across up to
    /// <see cref="MaxDegreeOfParallelism"/> threads (each image runs whole on one thread). Lengths must already be checked.
    /// </summary>
    /// <param name="network">The network.</param>
    /// <param name="inputs">batchSize x input length floats.</param>
    /// <param name="logits">batchSize x NumClasses floats.</param>
    /// <param name="batchSize">Number of images.</param>
    public static unsafe void RunBatch(IMobileOneNetwork network, ReadOnlySpan<float> inputs, Span<float> logits, int batchSize)
    {
        ArgumentNullException.ThrowIfNull(network);
        int inLength = network.InputChannels * network.InputHeight * network.InputWidth;
        int classes = network.NumClasses;
        if (batchSize <= 0)
        {
            return;
        }

        if (inputs.Length < (long)batchSize * inLength || logits.Length < (long)batchSize * classes)
        {
            throw new ArgumentException("Input or logits span too short for the batch.");
        }

        int threads = Math.Min(MaxDegreeOfParallelism, batchSize);
        WorkerPool? pool = threads > 1 ? WorkerPool.TryAcquire(threads) : null;
        if (pool == null)
        {
            for (int i = 0; i < batchSize; i++)
            {
                network.Run(inputs.Slice(i * inLength, inLength), logits.Slice(i * classes, classes));
            }

            return;
        }

        fixed (float* pin = inputs)
        fixed (float* pout = logits)
        {
            var ctx = new BatchContext { Input = pin, Logits = pout, InLength = inLength, Classes = classes, Batch = batchSize };
            pool.BatchNetwork = network;
            try
            {
                // One part per image (claimed dynamically), so a slow thread does not hold up the batch.
                pool.Run(&BatchPart, &ctx, Math.Min(batchSize, WorkerPool.MaxParts), threads);
            }
            finally
            {
                pool.BatchNetwork = null;
                pool.Release();
            }
        }
    }

    /// <summary>Parts per thread of a parallel layer (more balances better; fewer re-stream less shared data).</summary>
    internal const int PartsPerThread = 4;

    /// <summary>
    /// Runs <paramref name="body"/>(<paramref name="context"/>, part, parts) once for every part = 0 .. parts-1, where
    /// parts is at most <paramref name="maxParts"/> and <see cref="PartsPerThread"/> x <see cref="MaxDegreeOfParallelism"/>;
    /// the caller and the pool's workers claim parts as they become free. When the pool is busy (a concurrent or nested
    /// call) or one thread is allowed, runs body(context, 0, 1).
    /// </summary>

    internal static unsafe void For(delegate*<void*, int, int, void> body, void* context, int maxParts)
    {
        int threads = Math.Min(MaxDegreeOfParallelism, maxParts);
        WorkerPool? pool = threads > 1 ? WorkerPool.TryAcquire(threads) : null;
        if (pool == null)
        {
            body(context, 0, 1);
            return;
        }

        try
        {
            // A few parts per thread, claimed dynamically: the threads balance themselves, and a thread the OS has
            // descheduled delays only the part it holds.
            pool.Run(body, context, Math.Min(maxParts, threads * PartsPerThread), threads);
        }
        finally
        {
            pool.Release();
        }
    }

    /// <summary>Splits <paramref name="count"/> items into <paramref name="parts"/> near-equal ranges, in units of <paramref name="grain"/>.</summary>
    internal static void Range(int count, int grain, int part, int parts, out int begin, out int end)
    {
        int units = (count + grain - 1) / grain;
        int u0 = (int)((long)units * part / parts);
        int u1 = (int)((long)units * (part + 1) / parts);
        begin = Math.Min(count, u0 * grain);
        end = Math.Min(count, u1 * grain);
    }

    private static unsafe void BatchPart(void* context, int part, int parts)
    {
        var ctx = (BatchContext*)context;
        IMobileOneNetwork network = WorkerPool.Shared!.BatchNetwork!;
        Range(ctx->Batch, 1, part, parts, out int begin, out int end);
        for (int i = begin; i < end; i++)
        {
            network.Run(
                new ReadOnlySpan<float>(ctx->Input + ((nint)i * ctx->InLength), ctx->InLength),
                new Span<float>(ctx->Logits + ((nint)i * ctx->Classes), ctx->Classes));
        }
    }

    private static int Parse(string? text) =>
        int.TryParse(text, out int n) ? Math.Clamp(n, 1, MaxThreads) : 1;

    private unsafe struct BatchContext
    {
        public float* Input;
        public float* Logits;
        public int InLength;
        public int Classes;
        public int Batch;
    }
}
