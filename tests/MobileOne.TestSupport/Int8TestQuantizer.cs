using System;
using System.Collections.Generic;
using System.Linq;
using MobileOne.Conversion;
using MobileOne.Conversion.Quantization;

namespace MobileOne.TestSupport;

/// <summary>
/// The tests' own minmax quantizer, independent of <c>mobileone quantize</c>: fused FP32 weights → a
/// <see cref="QuantizedNetwork"/> by docs/quantization.md's scheme (with <see cref="FoldDeadChannels"/> as an optional
/// FP32-exact clean-up before it).
/// <list type="bullet">
/// <item>calibration: <see cref="DoubleReference.Trace"/> on the calibration inputs; <c>s_input = max|x| / 127</c>,
/// <c>s_act = max(layer output) / 255</c> per layer (outputs are post-ReLU, post-SE);</item>
/// <item>weights: per output channel <c>s_w = max(max|w| / 127, P / 128)</c> for a pointwise weight whose largest
/// same-sign pair sum is P (the pair rule), <c>q = clamp(round_even(w / s_w), -127, 127)</c>, then a pair still over
/// 128 steps has its larger weight lowered by one step;</item>
/// <item>bias: <c>round_even(b / (s_in · s_w))</c>, int32.</item>
/// </list>
/// </summary>
public static class Int8TestQuantizer
{
    /// <summary>Largest int8 weight magnitude (docs/quantization.md: symmetric, -128 unused).</summary>
    public const int MaxWeight = 127;

    /// <summary>Largest same-sign sum of a pointwise input-channel pair (docs/quantization.md, "Pairs").</summary>
    public const int MaxPairSum = 128;

    /// <summary>Quantizes <paramref name="weights"/> with ranges measured on <paramref name="calibration"/> (CHW inputs).</summary>
    public static QuantizedNetwork Quantize(MobileOneArchitecture arch, FusedWeights weights, IReadOnlyList<float[]> calibration, string? architectureJson = null)
    {
        IReadOnlyList<LayerInfo> layers = arch.Layers();
        double inputMax = 0;
        var layerMax = new double[layers.Count];
        foreach (float[] x in calibration)
        {
            inputMax = Math.Max(inputMax, x.Max(v => Math.Abs((double)v)));
            ReferenceTrace t = DoubleReference.Trace(arch, weights, x);
            for (int i = 0; i < layers.Count; i++)
            {
                layerMax[i] = Math.Max(layerMax[i], t.Layers[i].Output.Max());
            }
        }

        return Quantize(arch, weights, (float)(inputMax / 127), layerMax.Select(m => (float)(m / 255)).ToArray(), calibration.Count, architectureJson);
    }

    /// <summary>Quantizes with given input and per-layer output scales (a non-positive scale becomes 1/255).</summary>
    public static QuantizedNetwork Quantize(MobileOneArchitecture arch, FusedWeights weights, float inputScale, float[] outputScales, int calibrationImages = 0, string? architectureJson = null)
    {
        IReadOnlyList<LayerInfo> layers = arch.Layers();
        var quantized = new List<QuantizedLayer>();
        float sIn = inputScale > 0 ? inputScale : 1f / 127;
        for (int i = 0; i < layers.Count; i++)
        {
            LayerInfo l = layers[i];
            float[] w = weights[l.Name + ".reparam_conv.weight"], b = weights[l.Name + ".reparam_conv.bias"];
            (sbyte[] qw, float[] sw) = QuantizeWeights(w, l.OutChannels, l.Kind == LayerKind.Pointwise ? l.InChannels : 0);
            var qb = new int[l.OutChannels];
            for (int o = 0; o < qb.Length; o++)
            {
                double v = Math.Round(b[o] / ((double)sIn * sw[o]), MidpointRounding.ToEven);
                qb[o] = (int)Math.Clamp(v, int.MinValue, int.MaxValue);
            }

            float sOut = outputScales[i] > 0 && float.IsFinite(outputScales[i]) ? outputScales[i] : 1f / 255;
            quantized.Add(new QuantizedLayer(l.Name, (ConvLayerKind)l.Kind, l.WeightShape, qw, sw, qb, sOut));
            sIn = sOut;
        }

        var floats = new Dictionary<string, float[]>(StringComparer.Ordinal);
        foreach (string name in weights.Names.Where(n => n.Contains(".se.", StringComparison.Ordinal) || n.StartsWith("linear.", StringComparison.Ordinal)))
        {
            floats[name] = (float[])weights[name].Clone();
        }

        NetworkArchitecture a = arch.ToConversion();
        return new QuantizedNetwork(a, architectureJson ?? a.ToJson(), inputScale > 0 ? inputScale : 1f / 127, quantized, floats, "minmax", null, calibrationImages);
    }

    /// <summary>
    /// A copy of <paramref name="weights"/> with the channels that are dead on the calibration inputs (ReLU output 0
    /// everywhere) cut out of the next layer, an FP32-exact rewrite on inputs where they stay dead: the next layer's
    /// weights on a dead input channel become 0, and when that next layer is a depthwise layer without squeeze-excite its
    /// channel is then the constant relu(bias), which is added to the bias of the pointwise layer after it (weights on
    /// it 0, the depthwise bias 0). Trained networks have such channels, and BatchNorm folding gives the weights that
    /// read them huge values (nothing bounds a weight that multiplies zero): left in, they set the per-channel weight
    /// scale (every other weight of the channel rounds to 0) and multiply a constant that the per-tensor uint8
    /// activation scale cannot represent finely. Returns the number of dead channels.
    /// </summary>
    public static FusedWeights FoldDeadChannels(MobileOneArchitecture arch, FusedWeights weights, IReadOnlyList<float[]> calibration, out int deadChannels)
    {
        ArgumentNullException.ThrowIfNull(arch);
        ArgumentNullException.ThrowIfNull(weights);
        ArgumentNullException.ThrowIfNull(calibration);
        IReadOnlyList<LayerInfo> layers = arch.Layers();
        var channelMax = layers.Select(l => new double[l.OutChannels]).ToArray();
        foreach (float[] x in calibration)
        {
            ReferenceTrace t = DoubleReference.Trace(arch, weights, x);
            for (int i = 0; i < layers.Count; i++)
            {
                int pixels = layers[i].OutHeight * layers[i].OutWidth;
                for (int c = 0; c < layers[i].OutChannels; c++)
                {
                    for (int p = c * pixels; p < (c + 1) * pixels; p++)
                    {
                        channelMax[i][c] = Math.Max(channelMax[i][c], t.Layers[i].Output[p]);
                    }
                }
            }
        }

        FusedWeights w = weights.Clone();
        deadChannels = channelMax.Take(layers.Count - 1).Sum(m => m.Count(v => !(v > 0)));
        for (int i = 0; i + 1 < layers.Count; i++)
        {
            LayerInfo next = layers[i + 1];
            float[] nw = w[next.Name + ".reparam_conv.weight"], nb = w[next.Name + ".reparam_conv.bias"];
            for (int c = 0; c < layers[i].OutChannels; c++)
            {
                if (channelMax[i][c] > 0)
                {
                    continue;
                }

                if (next.Kind == LayerKind.Pointwise)
                {
                    for (int o = 0; o < next.OutChannels; o++)
                    {
                        nw[(o * next.InChannels) + c] = 0;
                    }

                    continue;
                }

                Array.Clear(nw, c * 9, 9); // depthwise [C, 1, 3, 3]: channel c reads only input c
                LayerInfo? after = i + 2 < layers.Count ? layers[i + 2] : null;
                if (next.HasSe || after is null || after.Kind != LayerKind.Pointwise)
                {
                    continue;
                }

                // The depthwise channel is now the constant relu(bias): into the pointwise bias.
                float[] aw = w[after.Name + ".reparam_conv.weight"], ab = w[after.Name + ".reparam_conv.bias"];
                double v = Math.Max(nb[c], 0f);
                for (int o = 0; o < after.OutChannels; o++)
                {
                    ab[o] = (float)(ab[o] + (aw[(o * after.InChannels) + c] * v));
                    aw[(o * after.InChannels) + c] = 0;
                }

                nb[c] = 0;
                channelMax[i + 1][c] = 0;
            }
        }

        return w;
    }

    /// <summary>
    /// Per-output-channel symmetric int8 weights. With <paramref name="pairedInputs"/> &gt; 0 (a pointwise weight
    /// <c>[out][in]</c>) the pair rule of docs/quantization.md holds for the result.
    /// </summary>
    public static (sbyte[] Weights, float[] Scales) QuantizeWeights(float[] w, int outChannels, int pairedInputs)
    {
        int per = w.Length / outChannels;
        var q = new sbyte[w.Length];
        var scales = new float[outChannels];
        for (int o = 0; o < outChannels; o++)
        {
            ReadOnlySpan<float> row = w.AsSpan(o * per, per);
            double maxAbs = 0;
            foreach (float v in row)
            {
                maxAbs = Math.Max(maxAbs, Math.Abs((double)v));
            }

            double scale = maxAbs / MaxWeight;
            if (pairedInputs > 0)
            {
                for (int i = 0; i < per; i += 2)
                {
                    double a = row[i], c = i + 1 < per ? row[i + 1] : 0;
                    double pos = Math.Max(a, 0) + Math.Max(c, 0), neg = Math.Min(a, 0) + Math.Min(c, 0);
                    scale = Math.Max(scale, Math.Max(pos, -neg) / MaxPairSum);
                }
            }

            float s = scale > 0 ? (float)scale : 1f;
            scales[o] = s;
            Span<sbyte> qr = q.AsSpan(o * per, per);
            for (int i = 0; i < per; i++)
            {
                qr[i] = (sbyte)Math.Clamp(Math.Round(row[i] / (double)s, MidpointRounding.ToEven), -MaxWeight, MaxWeight);
            }

            if (pairedInputs > 0)
            {
                for (int i = 0; i + 1 < per; i += 2)
                {
                    LowerPair(qr, i);
                }
            }
        }

        return (q, scales);
    }

    /// <summary>The pair rule's last step: lowers the larger weight of a same-sign pair over 128 steps, one step at a time.</summary>
    private static void LowerPair(Span<sbyte> row, int i)
    {
        while (Math.Max((int)row[i], 0) + Math.Max((int)row[i + 1], 0) > MaxPairSum)
        {
            int j = row[i] >= row[i + 1] ? i : i + 1;
            row[j]--;
        }

        while (Math.Min((int)row[i], 0) + Math.Min((int)row[i + 1], 0) < -MaxPairSum)
        {
            int j = row[i] <= row[i + 1] ? i : i + 1;
            row[j]++;
        }
    }
}
