using System;
using System.Diagnostics;
using System.Runtime.ExceptionServices;
using System.Threading;

namespace MobileOne.Runtime;

/// <summary>
/// A process-wide pool of persistent worker threads that run one parallel region at a time. A region is a function
/// pointer, a context pointer (the caller's stack) and a number of parts; the caller and the workers claim parts one
/// at a time from a shared range, so a worker that the OS has descheduled (another process on the core) only
/// delays the part it holds, never the whole layer: the caller takes the rest. The caller (and even-numbered
/// workers) claim from the front of the range, odd-numbered workers from the back: with two threads each keeps a
/// contiguous share, so consecutive layers split the same way find most of their input in their own core's cache.
/// The range word also carries the region's generation, so a late worker can never claim a part of a region that has
/// ended. Workers spin on the generation for a short while (≈50 µs, so consecutive layers hand over in well under a
/// microsecond) before they block on a monitor. Nothing is allocated per region.
/// </summary>
internal sealed unsafe class WorkerPool
{
    /// <summary>The most parts one region may have (the part fields of the state are 16 bits wide).</summary>
    public const int MaxParts = 0x7FFF;

    private static readonly object s_createLock = new();
    private static WorkerPool? s_shared;
    private static int s_busy;

    private readonly object _gate = new();
    private readonly long _spinTicks = Math.Max(1, Stopwatch.Frequency / 20_000); // 50 µs
    private Thread[] _threads = Array.Empty<Thread>();
    private delegate*<void*, int, int, void> _body;
    private void* _context;

    // generation (bits 32-63) | end of the unclaimed range (bits 16-31) | start of the unclaimed range (bits 0-15)
    private long _state;
    private int _parts;
    private int _activeWorkers; // workers 1.._activeWorkers may claim parts of the current region
    private int _done;
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

    /// <summary>
    /// Runs body(context, part, parts) once for every part in 0..parts-1, on the caller and on whichever of the first
    /// <paramref name="threads"/> - 1 workers are awake; returns when every part has finished. The caller holds the pool.
    /// </summary>
    public void Run(delegate*<void*, int, int, void> body, void* context, int parts, int threads)
    {
        if ((uint)(parts - 1) >= MaxParts)
        {
            throw new ArgumentOutOfRangeException(nameof(parts), parts, $"Expected 1 to {MaxParts} parts.");
        }

        _body = body;
        _context = context;
        _activeWorkers = Math.Clamp(threads - 1, 0, _threads.Length);
        _parts = parts;
        _error = null;
        Volatile.Write(ref _done, 0);
        int generation = (int)(Volatile.Read(ref _state) >> 32) + 1;
        // Publishes the fields above (a full fence) before any worker can claim a part.
        Interlocked.Exchange(ref _state, ((long)generation << 32) | ((long)parts << 16));
        if (Volatile.Read(ref _sleepers) > 0)
        {
            lock (_gate)
            {
                Monitor.PulseAll(_gate);
            }
        }

        try
        {
            int part;
            while ((part = Claim(generation, fromBack: false)) >= 0)
            {
                try
                {
                    body(context, part, parts);
                }
                finally
                {
                    Interlocked.Increment(ref _done);
                }
            }
        }
        finally
        {
            // Also when a part threw on this thread: take every part not yet claimed (so none starts), count it as done,
            // and wait for the parts that workers are running, since they read the caller's stack.
            int part;
            while ((part = Claim(generation, fromBack: false)) >= 0)
            {
                Interlocked.Increment(ref _done);
            }

            var spin = default(SpinWait);
            while (Volatile.Read(ref _done) != parts)
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

    /// <summary>
    /// Claims the first (or, <paramref name="fromBack"/>, the last) unclaimed part of region <paramref name="generation"/>,
    /// or returns -1 when it has none left or has ended.
    /// </summary>
    private int Claim(int generation, bool fromBack)
    {
        while (true)
        {
            long s = Volatile.Read(ref _state);
            int begin = (int)(s & 0xFFFF), end = (int)((s >> 16) & 0xFFFF);
            if ((int)(s >> 32) != generation || begin >= end)
            {
                return -1;
            }

            long claimed = fromBack ? s - (1L << 16) : s + 1;
            if (Interlocked.CompareExchange(ref _state, claimed, s) == s)
            {
                return fromBack ? end - 1 : begin;
            }
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
            int generation = (int)(Volatile.Read(ref _state) >> 32); // before the next Run publishes: the new thread must not miss it
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
            // Workers beyond the region's thread count (the pool grew for an earlier, wider region) sit it out.
            int part;
            bool fromBack = (index & 1) == 1;
            while (index <= Volatile.Read(ref _activeWorkers) && (part = Claim(seen, fromBack)) >= 0)
            {
                // The region cannot end while this part is unfinished, so its body, context and part count are current.
                int parts = _parts;
                try
                {
                    _body(_context, part, parts);
                }
                catch (Exception e)
                {
                    Interlocked.CompareExchange(ref _error, e, null);
                }

                Interlocked.Increment(ref _done);
            }
        }
    }

    private int WaitForGeneration(int seen)
    {
        long start = Stopwatch.GetTimestamp();
        int spins = 0;
        while (true)
        {
            int g = (int)(Volatile.Read(ref _state) >> 32);
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
                while ((g = (int)(Volatile.Read(ref _state) >> 32)) == seen)
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
