using System;
using System.Numerics;
using System.Runtime.InteropServices;

namespace MobileOne.Conversion.Quantization;

/// <summary>How a tensor's range is chosen from its calibration statistics.</summary>
public enum CalibrationMethod
{
    /// <summary>The largest magnitude seen (max |x| for the signed input, max for the post-ReLU activations).</summary>
    MinMax,

    /// <summary>The value at or below which the given percentile of all values lie (histogram-based, as ONNX Runtime's percentile calibrator).</summary>
    Percentile,
}

/// <summary>
/// Magnitudes of one tensor over a calibration set: the exact maximum and a histogram of |x| over [0, max] with
/// <see cref="Bins"/> equal bins, from which percentiles are read (the scheme of ONNX Runtime's
/// <c>HistogramCalibrater.collect_absolute_value</c> / <c>compute_percentile</c>).
/// </summary>
/// <remarks>
/// The first batch with a positive value sets the bin width to its max / <see cref="Bins"/>. When a later batch goes
/// beyond the last edge, the width doubles (adjacent bins are merged, which is exact) until the bins cover it, so the
/// histogram always spans [0, max] with a bin width between max / <see cref="Bins"/> and 2 max / <see cref="Bins"/>.
/// (ONNX Runtime appends bins of the first width instead; doubling keeps the memory fixed.) Counts are integers, so the
/// result depends only on the order of the <see cref="Add"/> calls, not on threads.
/// </remarks>
public sealed class ActivationHistogram
{
    /// <summary>Bins of the histogram (ONNX Runtime's percentile calibrator uses 2048).</summary>
    public const int Bins = 4096;

    private readonly long[] _counts = new long[Bins];

    /// <summary>Width of a bin; 0 until a positive value has been seen.</summary>
    public double BinWidth { get; private set; }

    /// <summary>The largest |x| seen.</summary>
    public float Max { get; private set; }

    /// <summary>Number of values seen.</summary>
    public long Count { get; private set; }

    /// <summary>The count of bin <paramref name="bin"/> (values in [bin·w, (bin+1)·w), the last bin closed).</summary>
    public long this[int bin] => _counts[bin];

    /// <summary>Adds the magnitudes of <paramref name="values"/>.</summary>
    /// <exception cref="ArgumentException">A value is NaN or infinite.</exception>
    public void Add(ReadOnlySpan<float> values)
    {
        if (values.IsEmpty)
        {
            return;
        }

        float max = MaxAbs(values);
        if (!float.IsFinite(max))
        {
            throw new ArgumentException("The values include NaN or infinity.", nameof(values));
        }

        if (max > 0)
        {
            if (BinWidth == 0)
            {
                // Everything so far was 0, in bin 0, which stays bin 0.
                BinWidth = (double)max / Bins;
            }

            while (max > BinWidth * Bins)
            {
                for (int i = 0; i < Bins / 2; i++)
                {
                    _counts[i] = _counts[2 * i] + _counts[(2 * i) + 1];
                }

                Array.Clear(_counts, Bins / 2, Bins / 2);
                BinWidth *= 2;
            }

            Max = Math.Max(Max, max);
            CountValues(values, (float)(1 / BinWidth));
        }
        else
        {
            _counts[0] += values.Length;
        }

        Count += values.Length;
    }

    /// <summary>
    /// The upper edge of the first bin at which the cumulative count reaches <paramref name="percentile"/> % of all
    /// values (ONNX Runtime takes that bin's lower edge), capped at <see cref="Max"/>. 0 when nothing was positive.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">The percentile is not in (0, 100].</exception>
    public float Percentile(double percentile)
    {
        if (!(percentile > 0 && percentile <= 100))
        {
            throw new ArgumentOutOfRangeException(nameof(percentile), percentile, "Expected a percentile in (0, 100].");
        }

        if (Count == 0 || BinWidth == 0)
        {
            return 0f;
        }

        // The count to reach, as an integer (p / 100 · n is inexact in binary: 99.9 / 100 · 10,000 is 9,990.000000000002).
        long target = Math.Max(1, (long)Math.Ceiling((percentile / 100 * Count) - 1e-6));
        long cumulative = 0;
        for (int i = 0; i < Bins; i++)
        {
            cumulative += _counts[i];
            if (cumulative >= target)
            {
                return (float)Math.Min((i + 1) * BinWidth, Max);
            }
        }

        return Max;
    }

    /// <summary>The range the method picks: <see cref="Max"/> or <see cref="Percentile"/>.</summary>
    public float Range(CalibrationMethod method, double percentile) =>
        method == CalibrationMethod.MinMax ? Max : Percentile(percentile);

    // counts[min((int)(|v| · inverse), Bins − 1)]++ for every value; zeros (half of a post-ReLU map) are counted in bulk.
    private void CountValues(ReadOnlySpan<float> values, float inverse)
    {
        int i = 0;
        if (Vector.IsHardwareAccelerated && values.Length >= Vector<float>.Count)
        {
            ReadOnlySpan<Vector<float>> v = MemoryMarshal.Cast<float, Vector<float>>(values);
            var scale = new Vector<float>(inverse);
            var last = new Vector<int>(Bins - 1);
            long zeros = 0;
            for (int k = 0; k < v.Length; k++)
            {
                if (v[k] == Vector<float>.Zero)
                {
                    zeros += Vector<float>.Count;
                    continue;
                }

                Vector<int> bins = Vector.Min(Vector.ConvertToInt32(Vector.Abs(v[k]) * scale), last);
                for (int j = 0; j < Vector<int>.Count; j++)
                {
                    _counts[bins[j]]++;
                }
            }

            _counts[0] += zeros;
            i = v.Length * Vector<float>.Count;
        }

        for (; i < values.Length; i++)
        {
            int bin = (int)(Math.Abs(values[i]) * inverse);
            _counts[bin < Bins ? bin : Bins - 1]++;
        }
    }

    private static float MaxAbs(ReadOnlySpan<float> values)
    {
        int i = 0;
        float max = 0;
        bool nonFinite = false;
        if (Vector.IsHardwareAccelerated && values.Length >= Vector<float>.Count)
        {
            ReadOnlySpan<Vector<float>> v = MemoryMarshal.Cast<float, Vector<float>>(values);
            Vector<float> m = Vector<float>.Zero;
            Vector<float> check = Vector<float>.Zero;
            for (int k = 0; k < v.Length; k++)
            {
                m = Vector.Max(m, Vector.Abs(v[k]));
                check += v[k] * Vector<float>.Zero; // NaN where a value is NaN or infinite
            }

            for (int k = 0; k < Vector<float>.Count; k++)
            {
                max = Math.Max(max, m[k]);
                nonFinite |= float.IsNaN(check[k]);
            }

            i = v.Length * Vector<float>.Count;
        }

        for (; i < values.Length; i++)
        {
            nonFinite |= !float.IsFinite(values[i]);
            max = Math.Max(max, Math.Abs(values[i]));
        }

        return nonFinite ? float.NaN : max;
    }
}
