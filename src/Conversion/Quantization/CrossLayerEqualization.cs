using System;
using System.Collections.Generic;
using System.Linq;

namespace MobileOne.Conversion.Quantization;

/// <summary>
/// Cross-layer equalization of activation ranges (Nagel et al., "Data-Free Quantization Through Weight Equalization and
/// Bias Correction", ICCV 2019, section 4.1, here driven by calibration ranges): ReLU commutes with a positive scale, so
/// output channel c of a convolution can be multiplied by <c>f[c] &gt; 0</c> (its weights and bias) and the input
/// channel c of the next layer divided by it, and the network computes the same function.
/// </summary>
/// <remarks>
/// <para>Why: BatchNorm folding leaves MobileOne with channels of very different ranges (a channel fed by a dead
/// channel is a constant of 0.5 next to channels reaching 30, read by weights of 400). One uint8 scale per tensor cannot
/// serve both, and one weight scale per output channel is then set by the 400 and rounds the ordinary weights of the
/// row to zero. Equalizing makes every channel of a tensor reach the same calibration maximum T (the tensor's largest
/// channel maximum): <c>f[c] = T / max[c]</c>, at most <see cref="MaxFactor"/>; a channel that was never positive keeps
/// f = 1 (it quantizes to 0 exactly).</para>
/// <para>Where: every convolution without squeeze-excite (SE's gate depends on the scale of its input); the consumer is
/// the next convolution (a depthwise divides its channel's 3x3 weights, a pointwise its input column) or, for the last
/// layer, the linear head's input column. Weight scales are per output channel, so scaling a producer's rows costs
/// nothing in weight precision.</para>
/// </remarks>
public static class CrossLayerEqualization
{
    /// <summary>The largest factor applied to a channel (a channel whose maximum is below T / 65536 is not worth more).</summary>
    public const float MaxFactor = 65536f;

    /// <summary>
    /// The per-layer, per-channel factors for <paramref name="statistics"/> of <paramref name="network"/>: 1 for SE layers
    /// and channels never positive in calibration.
    /// </summary>
    public static float[][] Factors(FusedNetwork network, CalibrationStatistics statistics)
    {
        ArgumentNullException.ThrowIfNull(network);
        ArgumentNullException.ThrowIfNull(statistics);
        IReadOnlyList<ConvLayer> layers = network.Architecture.Layers();
        if (statistics.Layers.Count != layers.Count)
        {
            throw new ArgumentException("The statistics are not those of this network's layers.", nameof(statistics));
        }

        var factors = new float[layers.Count][];
        for (int i = 0; i < layers.Count; i++)
        {
            float[] max = statistics.Layers[i].ChannelMax;
            factors[i] = new float[max.Length];
            float target = max.Max();
            for (int c = 0; c < max.Length; c++)
            {
                factors[i][c] = layers[i].HasSe ? 1f : max[c] > 0 ? Math.Min(target / max[c], MaxFactor) : 0f;
            }
        }

        return factors;
    }

    /// <summary>
    /// A copy of <paramref name="network"/> with output channel c of layer i scaled by <c>factors[i][c]</c> and the
    /// consumer's input channel divided by it: the same function, other ranges.
    /// </summary>
    /// <exception cref="ArgumentException">A factor is not positive and finite, or an SE layer has a factor other than 1.</exception>
    public static FusedNetwork Apply(FusedNetwork network, float[][] factors)
    {
        ArgumentNullException.ThrowIfNull(network);
        ArgumentNullException.ThrowIfNull(factors);
        IReadOnlyList<ConvLayer> layers = network.Architecture.Layers();
        if (factors.Length != layers.Count)
        {
            throw new ArgumentException($"Expected factors for {layers.Count} layers, got {factors.Length}.", nameof(factors));
        }

        var tensors = network.Shapes.ToDictionary(t => t.Name, t => (float[])network[t.Name].Clone(), StringComparer.Ordinal);
        for (int i = 0; i < layers.Count; i++)
        {
            ConvLayer l = layers[i];
            float[] f = factors[i];
            if (f.Length != l.OutChannels || f.Any(x => !(x >= 0 && float.IsFinite(x))) || (l.HasSe && f.Any(x => x != 1f)))
            {
                throw new ArgumentException($"Layer '{l.Name}' needs {l.OutChannels} factors, each 0 or positive and finite (all 1 with squeeze-excite).", nameof(factors));
            }

            if (f.All(x => x == 1f))
            {
                continue;
            }

            // The producer: rows and biases times f.
            float[] w = tensors[l.Name + ".reparam_conv.weight"], b = tensors[l.Name + ".reparam_conv.bias"];
            int perRow = w.Length / l.OutChannels;
            for (int c = 0; c < l.OutChannels; c++)
            {
                b[c] *= f[c];
                for (int k = 0; k < perRow; k++)
                {
                    w[(c * perRow) + k] *= f[c];
                }
            }

            // The consumer: its input channel c divided by f.
            if (i + 1 < layers.Count)
            {
                ConvLayer next = layers[i + 1];
                float[] nw = tensors[next.Name + ".reparam_conv.weight"];
                if (next.Kind == ConvLayerKind.Depthwise)
                {
                    for (int c = 0; c < next.OutChannels; c++)
                    {
                        for (int k = 0; k < 9; k++)
                        {
                            nw[(c * 9) + k] = f[c] == 0 ? 0 : nw[(c * 9) + k] / f[c];
                        }
                    }
                }
                else
                {
                    DivideColumns(nw, next.OutChannels, next.InChannels, f);
                }
            }
            else
            {
                DivideColumns(tensors["linear.weight"], network.Architecture.NumClasses, l.OutChannels, f);
            }
        }

        return new FusedNetwork(network.Architecture, tensors);
    }

    private static void DivideColumns(float[] w, int rows, int columns, float[] f)
    {
        for (int o = 0; o < rows; o++)
        {
            for (int c = 0; c < columns; c++)
            {
                w[(o * columns) + c] = f[c] == 0 ? 0 : w[(o * columns) + c] / f[c];
            }
        }
    }
}
