using System;
using System.Threading.Tasks;

namespace MobileOne.Training;

/// <summary>Splits loops across the machine's cores.</summary>
public static class Par
{
    private static int s_threads = Environment.ProcessorCount;

    /// <summary>Threads used by the training kernels (default: all logical cores).</summary>
    public static int Threads
    {
        get => s_threads;
        set => s_threads = Math.Max(1, value);
    }

    /// <summary>Runs <paramref name="body"/>(part, start, end) over up to <see cref="Threads"/> contiguous ranges of [0, n).</summary>
    /// <param name="n">Range length.</param>
    /// <param name="minPerPart">Smallest range worth a thread.</param>
    /// <param name="body">Called with (part index, start, end).</param>
    /// <returns>The number of parts used.</returns>
    public static int For(int n, int minPerPart, Action<int, int, int> body)
    {
        int parts = Parts(n, minPerPart);
        if (parts <= 1)
        {
            if (n > 0)
            {
                body(0, 0, n);
            }

            return 1;
        }

        Parallel.For(0, parts, new ParallelOptions { MaxDegreeOfParallelism = parts }, p =>
        {
            long start = (long)n * p / parts, end = (long)n * (p + 1) / parts;
            body(p, (int)start, (int)end);
        });
        return parts;
    }

    /// <summary>How many parts <see cref="For"/> uses for n items.</summary>
    public static int Parts(int n, int minPerPart) => Math.Max(1, Math.Min(Threads, n / Math.Max(1, minPerPart)));
}
