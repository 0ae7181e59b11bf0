using System;
using System.Diagnostics;
using System.Runtime.ExceptionServices;
using System.Threading;

namespace MobileOne.Runtime;

/// <summary>
/// A process-wide pool of persistent worker threads that run one parallel region at a time. A region is a function
/// pointer and a context pointer (the caller's stack): publishing it bumps a generation counter that the workers
/// spin on for a short while (≈50 µs, so consecutive layers hand over in well under a microsecond) before they
/// block on a monitor. Nothing is allocated per region.
/// </summary>
internal sealed unsafe class WorkerPool
{
    private static readonly object s_createLock = new();
    private static WorkerPool? s_shared;
    private static int s_busy;

    private readonly object _gate = new();
    private readonly long _spinTicks = Math.Max(1, Stopwatch.Frequency / 20_000); // 50 µs
    private Thread[] _threads = Array.Empty<Thread>();
    private delegate*<void*, int, int, void> _body;
    private void* _context;
    private int _parts;
    private int _generation;
    private int _remaining;
    private int _sleepers;
    private Exception? _error;

    /// <summary>The pool, once created.</summary>
    public static WorkerPool? Shared => Volatile.Read(ref s_shared);

    /// <summary>The network a batch region runs (set by the region's owner while it holds the pool).</summary>
    public IMobileOneNetwork? BatchNetwork { get; set; }

    /// <summary>Takes the pool for a region of <paramref name="threads"/> threads, or returns null when it is in use.</summary>
    public static WorkerPool? TryAcquire(int threads)
    {
        if (Interlocked.CompareExchange(ref s_busy, 1, 0) != 0)
        {
            return null;
        }

        WorkerPool pool = s_shared ?? Create();
        pool.EnsureWorkers(threads - 1);
        return pool;
    }

    /// <summary>Gives the pool back.</summary>
    public void Release() => Volatile.Write(ref s_busy, 0);

    /// <summary>Runs body(context, part, parts) for every part; part 0 on the caller. The caller holds the pool.</summary>
    public void Run(delegate*<void*, int, int, void> body, void* context, int parts)
    {
        _body = body;
        _context = context;
        _parts = parts;
        _error = null;
        // Every worker reports back, even one without a part, so that none can read this region's fields
        // after the next region has overwritten them.
        Volatile.Write(ref _remaining, _threads.Length);
        Interlocked.Increment(ref _generation);
        if (Volatile.Read(ref _sleepers) > 0)
        {
            lock (_gate)
            {
                Monitor.PulseAll(_gate);
            }
        }

        try
        {
            body(context, 0, parts);
        }
        finally
        {
            // Wait for the workers even when part 0 threw: they read the caller's stack.
            var spin = default(SpinWait);
            while (Volatile.Read(ref _remaining) != 0)
            {
                spin.SpinOnce(sleep1Threshold: -1);
            }
        }

        if (_error is { } error)
        {
            _error = null;
            ExceptionDispatchInfo.Capture(error).Throw();
        }
    }

    private static WorkerPool Create()
    {
        lock (s_createLock)
        {
            return s_shared ??= new WorkerPool();
        }
    }

    private void EnsureWorkers(int count)
    {
        if (_threads.Length >= count)
        {
            return;
        }

        var threads = new Thread[count];
        Array.Copy(_threads, threads, _threads.Length);
        for (int i = _threads.Length; i < count; i++)
        {
            int index = i + 1;
            int generation = _generation; // before the next Run publishes: the new thread must not miss it
            threads[i] = new Thread(() => WorkerLoop(index, generation))
            {
                IsBackground = true,
                Name = "MobileOne worker " + index.ToString(System.Globalization.CultureInfo.InvariantCulture),
            };
            threads[i].Start();
        }

        _threads = threads;
    }

    private void WorkerLoop(int index, int seen)
    {
        while (true)
        {
            seen = WaitForGeneration(seen);
            int parts = _parts;
            if (index < parts)
            {
                try
                {
                    _body(_context, index, parts);
                }
                catch (Exception e)
                {
                    Interlocked.CompareExchange(ref _error, e, null);
                }
            }

            Interlocked.Decrement(ref _remaining);
        }
    }

    private int WaitForGeneration(int seen)
    {
        long start = Stopwatch.GetTimestamp();
        int spins = 0;
        while (true)
        {
            int g = Volatile.Read(ref _generation);
            if (g != seen)
            {
                return g;
            }

            Thread.SpinWait(8);
            if ((++spins & 63) == 0 && Stopwatch.GetTimestamp() - start > _spinTicks)
            {
                break;
            }
        }

        lock (_gate)
        {
            Interlocked.Increment(ref _sleepers);
            try
            {
                int g;
                while ((g = Volatile.Read(ref _generation)) == seen)
                {
                    Monitor.Wait(_gate);
                }

                return g;
            }
            finally
            {
                Interlocked.Decrement(ref _sleepers);
            }
        }
    }
}
