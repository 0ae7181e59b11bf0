using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading.Tasks;
using MobileOne.Conversion;
using MobileOne.Conversion.Quantization;

namespace MobileOne.TestSupport;

/// <summary>The uint8 output of one layer of an INT8 reference run (CHW), with the scales around it.</summary>
/// <param name="InputScale">Scale of the layer's input (the network input scale for the stem).</param>
/// <param name="OutputScale">Scale of <paramref name="Output"/>: a value <c>q</c> stands for <c>q * OutputScale</c>.</param>
public sealed record Int8LayerOutput(LayerInfo Layer, float InputScale, float OutputScale, byte[] Output);

/// <summary>All intermediate results of an INT8 reference run.</summary>
/// <param name="Input">The quantized network input (CHW, values in [-127, 127]).</param>
/// <param name="Layers">Every convolution's uint8 output, in network order.</param>
/// <param name="Pooled">The global average pool of the last layer (float, the embedding).</param>
/// <param name="Logits">The FP32 linear head's output.</param>
public sealed record Int8Trace(sbyte[] Input, IReadOnlyList<Int8LayerOutput> Layers, float[] Pooled, float[] Logits)
{
    /// <summary>Output of the layer with Apple name <paramref name="layerName"/> (e.g. <c>stage2.3</c>).</summary>
    public byte[] this[string layerName] =>
        Layers.FirstOrDefault(l => l.Layer.Name == layerName)?.Output ?? throw new KeyNotFoundException($"No layer named '{layerName}'.");
}

/// <summary>
/// A plain scalar INT8 forward pass of a <see cref="QuantizedNetwork"/> that follows docs/quantization.md literally
/// ("The formulas"), independent of src/Runtime's kernels: CHW activations, OIHW int8 weights, direct loops, exact
/// integer accumulators (64-bit, checked to fit the contract's int32).
/// <list type="bullet">
/// <item>input: <c>q = (int)round_even(clamp(x * inv, -127, 127))</c>, <c>inv = 1f / s_input</c>;</item>
/// <item>convolution: <c>acc[o] = bias[o] + Σ q_in * q_w</c>;</item>
/// <item>requantization: <c>m[o] = (float)((double)s_in * s_w[o] / s_out)</c>,
/// <c>q = (byte)round_even(min(max((float)acc * m[o], 0f), 255f))</c>;</item>
/// <item>convolution with squeeze-excite: <c>f = (float)acc * d[o]</c>, <c>d[o] = (float)((double)s_in * s_w[o])</c>;
/// the SE gate is computed in <b>double</b> from the float <c>f</c> (mean, reduce, ReLU, expand, sigmoid), rounded to
/// float and applied as one float multiply <c>f * gate</c>; ReLU; then
/// <c>q = (byte)round_even(min(max(x * inv_out, 0f), 255f))</c>, <c>inv_out = 1f / s_out</c>;</item>
/// <item>global pool: <c>pooled[c] = (float)sum[c] * k</c>, <c>k = s_last / pixels</c> in float, <c>sum</c> the exact
/// integer sum;</item>
/// <item>linear head: summed in double from the float pooled values and float weights, rounded to float once.</item>
/// </list>
/// Results do not depend on the thread count: every integer is exact and every float is computed in a fixed order.
/// </summary>
public sealed class Int8Reference
{
    private readonly Step[] _steps;
    private readonly float[] _linearWeight;
    private readonly float[] _linearBias;
    private readonly float _inputInv;
    private readonly float _poolFactor;

    /// <summary>Prepares the network (multipliers and factors computed once, as the contract says).</summary>
    public Int8Reference(QuantizedNetwork network)
    {
        ArgumentNullException.ThrowIfNull(network);
        Network = network;
        IReadOnlyList<ConvLayer> shapes = network.Architecture.Layers();
        if (shapes.Count != network.Layers.Count)
        {
            throw new ArgumentException($"The architecture has {shapes.Count} convolutions, the network {network.Layers.Count}.", nameof(network));
        }

        _steps = new Step[shapes.Count];
        float inScale = network.InputScale;
        for (int i = 0; i < shapes.Count; i++)
        {
            QuantizedLayer q = network.Layers[i];
            LayerInfo l = LayerInfo.From(shapes[i]);
            if (q.Name != l.Name)
            {
                throw new ArgumentException($"Layer {i} is '{q.Name}', the architecture says '{l.Name}'.", nameof(network));
            }

            var factor = new float[l.OutChannels];
            for (int o = 0; o < factor.Length; o++)
            {
                factor[o] = l.HasSe ? DequantizeFactor(inScale, q.WeightScale[o]) : Multiplier(inScale, q.WeightScale[o], q.OutputScale);
            }

            SeWeights? se = l.HasSe
                ? new SeWeights(
                    network.FloatTensors[l.Name + ".se.reduce.weight"], network.FloatTensors[l.Name + ".se.reduce.bias"],
                    network.FloatTensors[l.Name + ".se.expand.weight"], network.FloatTensors[l.Name + ".se.expand.bias"])
                : null;
            _steps[i] = new Step(l, q, inScale, factor, 1f / q.OutputScale, se);
            inScale = q.OutputScale;
        }

        LayerInfo last = _steps[^1].Layer;
        _inputInv = 1f / network.InputScale;
        _poolFactor = inScale / (last.OutHeight * last.OutWidth);
        _linearWeight = network.FloatTensors["linear.weight"];
        _linearBias = network.FloatTensors["linear.bias"];
    }

    /// <summary>The network this reference runs.</summary>
    public QuantizedNetwork Network { get; }

    /// <summary>Floats of one CHW input.</summary>
    public int InputLength => Network.Architecture.InputChannels * Network.Architecture.InputHeight * Network.Architecture.InputWidth;

    /// <summary>Number of logits.</summary>
    public int NumClasses => Network.Architecture.NumClasses;

    /// <summary>Logits for one CHW input.</summary>
    public float[] Run(float[] inputChw) => Forward(inputChw, keep: false).Logits;

    /// <summary>Every layer's uint8 output, the pooled embedding and the logits for one CHW input.</summary>
    public Int8Trace Trace(float[] inputChw) => Forward(inputChw, keep: true);

    /// <summary>
    /// Logits <c>[count, classes]</c> of <paramref name="count"/> CHW inputs stacked as NCHW, images run in parallel
    /// (at most <paramref name="maxThreads"/>; -1 = all cores).
    /// </summary>
    public float[] RunBatch(float[] inputsNchw, int count, int maxThreads = -1)
    {
        ArgumentNullException.ThrowIfNull(inputsNchw);
        int len = InputLength, k = NumClasses;
        if (count < 0 || inputsNchw.Length != (long)count * len)
        {
            throw new ArgumentException($"Input has {inputsNchw.Length} floats, expected {count} x {len}.", nameof(inputsNchw));
        }

        var logits = new float[count * k];
        Parallel.For(0, count, new ParallelOptions { MaxDegreeOfParallelism = maxThreads }, n =>
        {
            float[] x = inputsNchw.AsSpan(n * len, len).ToArray();
            Forward(x, keep: false).Logits.CopyTo(logits, n * k);
        });
        return logits;
    }

    /// <summary>The quantized network input: <see cref="QuantizeInput"/> of every value with <c>inv = 1f / s_input</c>.</summary>
    public sbyte[] QuantizeInput(float[] inputChw)
    {
        ArgumentNullException.ThrowIfNull(inputChw);
        var q = new sbyte[inputChw.Length];
        for (int i = 0; i < q.Length; i++)
        {
            q[i] = QuantizeInput(inputChw[i], _inputInv);
        }

        return q;
    }

    /// <summary>
    /// One layer on its own: the uint8 output of layer <paramref name="layerName"/> for a given integer input (CHW; the
    /// quantized network input for the stem, the previous layer's bytes otherwise), e.g. another implementation's
    /// input to that layer, so that layers can be compared one at a time.
    /// </summary>
    public byte[] RunLayer(string layerName, ReadOnlySpan<int> input)
    {
        foreach (Step s in _steps)
        {
            if (s.Layer.Name == layerName)
            {
                return s.Run(input);
            }
        }

        throw new KeyNotFoundException($"No layer named '{layerName}'.");
    }

    /// <summary>The global pool and the linear head on the last layer's bytes: (pooled, logits).</summary>
    public (float[] Pooled, float[] Logits) RunHead(ReadOnlySpan<byte> lastLayerOutput)
    {
        LayerInfo last = _steps[^1].Layer;
        int pixels = last.OutHeight * last.OutWidth, channels = last.OutChannels;
        if (lastLayerOutput.Length != pixels * channels)
        {
            throw new ArgumentException($"Expected {pixels * channels} bytes, got {lastLayerOutput.Length}.", nameof(lastLayerOutput));
        }

        var pooled = new float[channels];
        for (int c = 0; c < channels; c++)
        {
            long sum = 0;
            for (int p = 0; p < pixels; p++)
            {
                sum += lastLayerOutput[(c * pixels) + p];
            }

            pooled[c] = (float)sum * _poolFactor;
        }

        int classes = NumClasses;
        var logits = new float[classes];
        for (int o = 0; o < classes; o++)
        {
            double s = _linearBias[o];
            for (int c = 0; c < channels; c++)
            {
                s += (double)_linearWeight[(o * channels) + c] * pooled[c];
            }

            logits[o] = (float)s;
        }

        return (pooled, logits);
    }

    /// <summary>
    /// The contract's input quantization of one value: <c>(int)round_even(clamp(x * inv, -127, 127))</c> with
    /// <c>inv = 1f / s_input</c> computed by the caller once.
    /// </summary>
    public static sbyte QuantizeInput(float x, float inv)
    {
        float v = x * inv;
        v = v < -127f ? -127f : v > 127f ? 127f : v;
        return (sbyte)(int)MathF.Round(v, MidpointRounding.ToEven);
    }

    /// <summary>The requantization multiplier <c>m = (float)((double)s_in * s_w / s_out)</c>.</summary>
    public static float Multiplier(float inputScale, float weightScale, float outputScale) =>
        (float)((double)inputScale * weightScale / outputScale);

    /// <summary>The dequantization factor of a convolution followed by squeeze-excite: <c>d = (float)((double)s_in * s_w)</c>.</summary>
    public static float DequantizeFactor(float inputScale, float weightScale) => (float)((double)inputScale * weightScale);

    /// <summary>The requantization of an accumulator: <c>(byte)round_even(min(max((float)acc * m, 0f), 255f))</c>, one float multiply.</summary>
    public static byte Requantize(int acc, float multiplier)
    {
        float y = (float)acc * multiplier;
        return Saturate(y);
    }

    /// <summary>The activation quantization after squeeze-excite: <c>(byte)round_even(min(max(x * inv_out, 0f), 255f))</c>.</summary>
    public static byte QuantizeActivation(float x, float invOutputScale) => Saturate(x * invOutputScale);

    /// <summary>
    /// Exact integer convolution: CHW integer input (int8 or uint8 values), OIHW int8 weight <c>[out, in/groups, k, k]</c>,
    /// symmetric zero padding k/2 (zero points are 0, so padding is the integer 0), the int32 bias added. Returns
    /// <c>acc</c> CHW.
    /// </summary>
    /// <exception cref="OverflowException">An accumulator leaves int32 (the contract's accumulator type).</exception>
    public static int[] Accumulate(ReadOnlySpan<int> input, int inChannels, int inHeight, int inWidth, ReadOnlySpan<sbyte> weight,
        ReadOnlySpan<int> bias, int outChannels, int kernelSize, int stride, int groups, out int outHeight, out int outWidth)
    {
        int pad = kernelSize / 2;
        int ho = ((inHeight + (2 * pad) - kernelSize) / stride) + 1, wo = ((inWidth + (2 * pad) - kernelSize) / stride) + 1;
        outHeight = ho;
        outWidth = wo;
        int cinPerGroup = inChannels / groups, coutPerGroup = outChannels / groups;
        if (input.Length != inChannels * inHeight * inWidth || weight.Length != outChannels * cinPerGroup * kernelSize * kernelSize || bias.Length != outChannels)
        {
            throw new ArgumentException("Input, weight or bias length does not match the convolution.");
        }

        int inPlane = inHeight * inWidth, outPlane = ho * wo;
        var output = new int[outChannels * outPlane];
        var acc = new long[outPlane];
        for (int co = 0; co < outChannels; co++)
        {
            Array.Fill(acc, (long)bias[co]);
            int g = co / coutPerGroup;
            for (int ci = 0; ci < cinPerGroup; ci++)
            {
                ReadOnlySpan<int> plane = input.Slice((g * cinPerGroup + ci) * inPlane, inPlane);
                for (int ky = 0; ky < kernelSize; ky++)
                {
                    for (int kx = 0; kx < kernelSize; kx++)
                    {
                        long w = weight[(((co * cinPerGroup) + ci) * kernelSize + ky) * kernelSize + kx];
                        if (w == 0)
                        {
                            continue;
                        }

                        if (kernelSize == 1 && stride == 1)
                        {
                            // Pointwise: one multiply-add per pixel.
                            for (int p = 0; p < outPlane; p++)
                            {
                                acc[p] += w * plane[p];
                            }

                            continue;
                        }

                        // The output columns whose input column ox * stride - pad + kx is inside the image.
                        int oxFirst = Math.Max(0, (pad - kx + stride - 1) / stride);
                        int last = inWidth - 1 + pad - kx;
                        int oxEnd = last < 0 ? 0 : Math.Min(wo, (last / stride) + 1);
                        for (int oy = 0; oy < ho; oy++)
                        {
                            int iy = (oy * stride) - pad + ky;
                            if (iy < 0 || iy >= inHeight)
                            {
                                continue;
                            }

                            int row = (iy * inWidth) - pad + kx, orow = oy * wo;
                            for (int ox = oxFirst; ox < oxEnd; ox++)
                            {
                                acc[orow + ox] += w * plane[row + (ox * stride)];
                            }
                        }
                    }
                }
            }

            for (int p = 0; p < outPlane; p++)
            {
                output[(co * outPlane) + p] = checked((int)acc[p]);
            }
        }

        return output;
    }

    private static byte Saturate(float y)
    {
        float c = Math.Min(Math.Max(y, 0f), 255f);
        return (byte)MathF.Round(c, MidpointRounding.ToEven);
    }

    private Int8Trace Forward(float[] inputChw, bool keep)
    {
        ArgumentNullException.ThrowIfNull(inputChw);
        if (inputChw.Length != InputLength)
        {
            throw new ArgumentException($"Input has {inputChw.Length} floats, expected {InputLength}.", nameof(inputChw));
        }

        sbyte[] q = QuantizeInput(inputChw);
        var x = new int[q.Length];
        for (int i = 0; i < q.Length; i++)
        {
            x[i] = q[i];
        }

        var outputs = new List<Int8LayerOutput>(keep ? _steps.Length : 0);
        byte[] y = Array.Empty<byte>();
        foreach (Step s in _steps)
        {
            y = s.Run(x);
            if (keep)
            {
                outputs.Add(new Int8LayerOutput(s.Layer, s.InputScale, s.Quantized.OutputScale, y));
            }

            x = new int[y.Length];
            for (int i = 0; i < y.Length; i++)
            {
                x[i] = y[i];
            }
        }

        (float[] pooled, float[] logits) = RunHead(y);
        return new Int8Trace(q, outputs, pooled, logits);
    }

    private sealed record SeWeights(float[] ReduceWeight, float[] ReduceBias, float[] ExpandWeight, float[] ExpandBias);

    /// <summary>One convolution with its precomputed per-channel factor (m[o], or d[o] before squeeze-excite).</summary>
    private sealed record Step(LayerInfo Layer, QuantizedLayer Quantized, float InputScale, float[] Factor, float InverseOutputScale, SeWeights? Se)
    {
        public byte[] Run(ReadOnlySpan<int> input)
        {
            LayerInfo l = Layer;
            int[] acc = Accumulate(input, l.InChannels, l.InHeight, l.InWidth, Quantized.Weight, Quantized.Bias, l.OutChannels,
                l.KernelSize, l.Stride, l.Groups, out int ho, out int wo);
            int pixels = ho * wo;
            var y = new byte[acc.Length];
            if (Se is null)
            {
                for (int o = 0; o < l.OutChannels; o++)
                {
                    float m = Factor[o];
                    for (int p = o * pixels; p < (o + 1) * pixels; p++)
                    {
                        y[p] = Requantize(acc[p], m);
                    }
                }

                return y;
            }

            var f = new float[acc.Length];
            for (int o = 0; o < l.OutChannels; o++)
            {
                float d = Factor[o];
                for (int p = o * pixels; p < (o + 1) * pixels; p++)
                {
                    f[p] = (float)acc[p] * d;
                }
            }

            float[] gate = Gate(f, l.OutChannels, pixels, l.SeReducedChannels, Se);
            for (int o = 0; o < l.OutChannels; o++)
            {
                float g = gate[o];
                for (int p = o * pixels; p < (o + 1) * pixels; p++)
                {
                    float v = f[p] * g;
                    y[p] = QuantizeActivation(v > 0f ? v : 0f, InverseOutputScale);
                }
            }

            return y;
        }

        /// <summary>The squeeze-excite gate in double (mean, reduce, ReLU, expand, sigmoid), rounded to float.</summary>
        private static float[] Gate(float[] f, int channels, int pixels, int reduced, SeWeights se)
        {
            var mean = new double[channels];
            for (int c = 0; c < channels; c++)
            {
                double s = 0;
                for (int p = c * pixels; p < (c + 1) * pixels; p++)
                {
                    s += f[p];
                }

                mean[c] = s / pixels;
            }

            var r = new double[reduced];
            for (int j = 0; j < reduced; j++)
            {
                double s = se.ReduceBias[j];
                for (int c = 0; c < channels; c++)
                {
                    s += (double)se.ReduceWeight[(j * channels) + c] * mean[c];
                }

                r[j] = s > 0 ? s : 0;
            }

            var gate = new float[channels];
            for (int c = 0; c < channels; c++)
            {
                double s = se.ExpandBias[c];
                for (int j = 0; j < reduced; j++)
                {
                    s += (double)se.ExpandWeight[(c * reduced) + j] * r[j];
                }

                gate[c] = (float)(1.0 / (1.0 + Math.Exp(-s)));
            }

            return gate;
        }
    }
}
