using System;
using System.Collections.Generic;
using System.Linq;
using System.Numerics;
using System.Runtime.InteropServices;
using System.Threading.Tasks;

namespace MobileOne.Conversion.Quantization;

/// <summary>The statistics of one convolution's output over a calibration set.</summary>
/// <param name="Layer">Layer name (<c>stage0</c>, <c>stage1.0</c>, …).</param>
/// <param name="Histogram">Its max and histogram (post-ReLU, post-SE).</param>
/// <param name="ChannelMax">The largest value of each output channel.</param>
public sealed record LayerStatistics(string Layer, ActivationHistogram Histogram, float[] ChannelMax);

/// <summary>
/// What the FP32 network does on a calibration set: the magnitudes of its input and of every convolution's output
/// (<see cref="ActivationHistogram"/>), from which <see cref="Quantizer"/> picks the activation ranges.
/// </summary>
public sealed class CalibrationStatistics
{
    /// <summary>Floats of layer outputs kept at once while collecting (images are run in batches that fit).</summary>
    public const long BatchBudgetFloats = 32L << 20;

    private CalibrationStatistics(ActivationHistogram input, IReadOnlyList<LayerStatistics> layers, int images)
    {
        Input = input;
        Layers = layers;
        Images = images;
    }

    /// <summary>Magnitudes of the (normalised) network input.</summary>
    public ActivationHistogram Input { get; }

    /// <summary>Every convolution's output, in network order.</summary>
    public IReadOnlyList<LayerStatistics> Layers { get; }

    /// <summary>Images the statistics were collected on.</summary>
    public int Images { get; }

    /// <summary>A layer's statistics by name.</summary>
    public ActivationHistogram this[string layer] =>
        Layers.FirstOrDefault(l => l.Layer == layer)?.Histogram ?? throw new KeyNotFoundException($"No layer '{layer}'.");

    /// <summary>
    /// Runs the FP32 network (<see cref="FusedForward"/>) on every image of <paramref name="data"/>, in parallel over
    /// images, and collects the statistics. The histograms are updated in image order, so the result does not depend on
    /// the number of threads.
    /// </summary>
    /// <param name="network">The fused network.</param>
    /// <param name="data">Normalised CHW images of the network's input size.</param>
    /// <param name="progress">Receives the number of images done after each batch.</param>
    /// <exception cref="ArgumentException">The images do not have the network's input size.</exception>
    /// <exception cref="ConversionException">The network produces NaN or infinity on an image.</exception>
    public static CalibrationStatistics Collect(FusedForward network, CalibrationSet data, IProgress<int>? progress = null)
    {
        ArgumentNullException.ThrowIfNull(network);
        ArgumentNullException.ThrowIfNull(data);
        if (data.ImageLength != network.InputLength)
        {
            throw new ArgumentException($"The calibration images have {data.ImageLength} floats each; the network takes {network.InputLength} ({network.Architecture.InputChannels}x{network.Architecture.InputHeight}x{network.Architecture.InputWidth}).", nameof(data));
        }

        int layers = network.Layers.Count;
        long perImage = Enumerable.Range(0, layers).Sum(i => (long)network.LayerOutputLength(i));
        int batch = (int)Math.Clamp(BatchBudgetFloats / Math.Max(1, perImage), Math.Min(Environment.ProcessorCount, 4), 256);
        batch = Math.Min(batch, Math.Max(1, data.Count));
        var outputs = new float[batch][][];
        for (int b = 0; b < batch; b++)
        {
            outputs[b] = network.NewLayerOutputs();
        }

        var input = new ActivationHistogram();
        var histograms = Enumerable.Range(0, layers).Select(_ => new ActivationHistogram()).ToArray();
        var channelMax = Enumerable.Range(0, layers).Select(i => new float[network.Layers[i].OutChannels]).ToArray();
        float[] logits = new float[batch * network.NumClasses];
        for (int start = 0; start < data.Count; start += batch)
        {
            int n = Math.Min(batch, data.Count - start);
            Parallel.For(0, n, b => network.Run(data[start + b], logits.AsSpan(b * network.NumClasses, network.NumClasses), outputs[b]));
            for (int b = 0; b < n; b++)
            {
                foreach (float v in logits.AsSpan(b * network.NumClasses, network.NumClasses))
                {
                    if (!float.IsFinite(v))
                    {
                        throw new ConversionException(ConversionErrorKind.InvalidFormat, $"The FP32 network gives non-finite logits on calibration image {start + b}; its weights or that image are not usable for calibration.");
                    }
                }
            }

            ParallelForUnwrapped(layers + 1, l =>
            {
                for (int b = 0; b < n; b++)
                {
                    try
                    {
                        if (l == 0)
                        {
                            input.Add(data[start + b]);
                        }
                        else
                        {
                            ReadOnlySpan<float> output = outputs[b][l - 1].AsSpan(0, network.LayerOutputLength(l - 1));
                            histograms[l - 1].Add(output);
                            ChannelMaxima(output, channelMax[l - 1]);
                        }
                    }
                    catch (ArgumentException)
                    {
                        string what = l == 0 ? "The input" : $"The output of '{network.Layers[l - 1].Name}'";
                        throw new ConversionException(ConversionErrorKind.InvalidFormat, $"{what} is NaN or infinite on calibration image {start + b}.");
                    }
                }
            });
            progress?.Report(start + n);
        }

        return new CalibrationStatistics(input, network.Layers.Select((l, i) => new LayerStatistics(l.Name, histograms[i], channelMax[i])).ToList(), data.Count);
    }

    // max[c] = max(max[c], x[p, c]) over the pixels of an NHWC map.
    private static void ChannelMaxima(ReadOnlySpan<float> nhwc, float[] max)
    {
        int c = max.Length;
        for (int p = 0; p < nhwc.Length; p += c)
        {
            ReadOnlySpan<float> pixel = nhwc.Slice(p, c);
            int i = 0;
            if (Vector.IsHardwareAccelerated && c >= Vector<float>.Count)
            {
                Span<Vector<float>> m = MemoryMarshal.Cast<float, Vector<float>>(max.AsSpan());
                ReadOnlySpan<Vector<float>> v = MemoryMarshal.Cast<float, Vector<float>>(pixel);
                for (int k = 0; k < m.Length; k++)
                {
                    m[k] = Vector.Max(m[k], v[k]);
                }

                i = m.Length * Vector<float>.Count;
            }

            for (; i < c; i++)
            {
                max[i] = Math.Max(max[i], pixel[i]);
            }
        }
    }

    // Parallel.For, rethrowing the first exception itself rather than an AggregateException.
    private static void ParallelForUnwrapped(int count, Action<int> body)
    {
        try
        {
            Parallel.For(0, count, body);
        }
        catch (AggregateException e) when (e.InnerExceptions.Count > 0)
        {
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(e.InnerExceptions[0]).Throw();
        }
    }
}
