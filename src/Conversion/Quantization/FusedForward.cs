using System;
using System.Collections.Generic;
using System.Linq;
using System.Numerics;
using System.Runtime.InteropServices;
using System.Threading.Tasks;

namespace MobileOne.Conversion.Quantization;

/// <summary>
/// The FP32 forward pass of a fused MobileOne (docs/mobileone.md): 3x3 stem (stride 2, pad 1), depthwise 3x3 (stride
/// 1 or 2, pad 1), pointwise 1x1, each followed by ReLU (squeeze-excite before the ReLU where a layer has it), global
/// average pool, linear. Plain NHWC loops vectorised over channels with <see cref="Vector{T}"/>; one image runs on one
/// thread, batches run in parallel over images. It exists to measure activation ranges for quantization: it can hand
/// back every convolution's output (post-ReLU, post-SE).
/// </summary>
/// <remarks>
/// Each image is computed sequentially in a fixed order, so results do not depend on the thread count. Layer outputs are
/// NHWC: layer <c>i</c> writes <c>OutHeight x OutWidth x OutChannels</c> floats (<see cref="LayerOutputLength"/>).
/// </remarks>
public sealed class FusedForward
{
    private readonly PreparedLayer[] _layers;
    private readonly float[] _linearWeight;
    private readonly float[] _linearBias;
    private readonly int _maxActivation;

    /// <summary>Prepares the weights of <paramref name="network"/> (transposed for channel-vectorised loops).</summary>
    public FusedForward(FusedNetwork network)
    {
        ArgumentNullException.ThrowIfNull(network);
        Architecture = network.Architecture;
        Layers = network.Architecture.Layers();
        _layers = Layers.Select(l => new PreparedLayer(l, network)).ToArray();
        _linearWeight = network["linear.weight"];
        _linearBias = network["linear.bias"];
        _maxActivation = Layers.Max(l => l.OutHeight * l.OutWidth * l.OutChannels);
    }

    /// <summary>The structure.</summary>
    public NetworkArchitecture Architecture { get; }

    /// <summary>The convolutions in execution order.</summary>
    public IReadOnlyList<ConvLayer> Layers { get; }

    /// <summary>Floats of one CHW input image.</summary>
    public int InputLength => Architecture.InputChannels * Architecture.InputHeight * Architecture.InputWidth;

    /// <summary>Logits per image.</summary>
    public int NumClasses => Architecture.NumClasses;

    /// <summary>Floats of layer <paramref name="layer"/>'s NHWC output.</summary>
    public int LayerOutputLength(int layer) => Layers[layer].OutHeight * Layers[layer].OutWidth * Layers[layer].OutChannels;

    /// <summary>
    /// Runs one CHW image and writes its logits. When <paramref name="layerOutputs"/> is given, it holds one array per
    /// layer of at least <see cref="LayerOutputLength"/> floats and receives every convolution's output (NHWC).
    /// </summary>
    /// <exception cref="ArgumentException">A length does not fit the network.</exception>
    public void Run(ReadOnlySpan<float> input, Span<float> logits, float[][]? layerOutputs = null)
    {
        if (input.Length != InputLength)
        {
            throw new ArgumentException($"Expected an input of {InputLength} floats (CHW {Architecture.InputChannels}x{Architecture.InputHeight}x{Architecture.InputWidth}), got {input.Length}.", nameof(input));
        }

        if (logits.Length != NumClasses)
        {
            throw new ArgumentException($"Expected {NumClasses} logits, got {logits.Length}.", nameof(logits));
        }

        if (layerOutputs != null)
        {
            if (layerOutputs.Length != _layers.Length)
            {
                throw new ArgumentException($"Expected {_layers.Length} layer output arrays, got {layerOutputs.Length}.", nameof(layerOutputs));
            }

            for (int i = 0; i < _layers.Length; i++)
            {
                if (layerOutputs[i] == null || layerOutputs[i].Length < LayerOutputLength(i))
                {
                    throw new ArgumentException($"Layer output {i} ('{Layers[i].Name}') needs at least {LayerOutputLength(i)} floats.", nameof(layerOutputs));
                }
            }
        }

        float[] a = layerOutputs == null ? new float[_maxActivation] : Array.Empty<float>();
        float[] b = layerOutputs == null ? new float[_maxActivation] : Array.Empty<float>();
        RunCore(input, logits, layerOutputs, a, b);
    }

    /// <summary>Logits of one CHW image.</summary>
    public float[] Run(float[] input)
    {
        ArgumentNullException.ThrowIfNull(input);
        float[] logits = new float[NumClasses];
        Run(input, logits);
        return logits;
    }

    /// <summary>Every convolution's output (NHWC) for one CHW image.</summary>
    public float[][] Trace(float[] input)
    {
        ArgumentNullException.ThrowIfNull(input);
        float[][] outputs = NewLayerOutputs();
        Run(input, new float[NumClasses], outputs);
        return outputs;
    }

    /// <summary>One array per layer, each <see cref="LayerOutputLength"/> floats: the buffers <see cref="Run(ReadOnlySpan{float}, Span{float}, float[][])"/> fills.</summary>
    public float[][] NewLayerOutputs() => Enumerable.Range(0, _layers.Length).Select(i => new float[LayerOutputLength(i)]).ToArray();

    /// <summary>Logits of <paramref name="count"/> CHW images stored one after the other, in parallel over images.</summary>
    public float[] RunBatch(float[] inputs, int count)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        if (count < 0 || inputs.LongLength != (long)count * InputLength)
        {
            throw new ArgumentException($"Expected {count} images of {InputLength} floats, got {inputs.LongLength} floats.", nameof(inputs));
        }

        float[] logits = new float[count * NumClasses];
        Parallel.For(
            0,
            count,
            () => (new float[_maxActivation], new float[_maxActivation]),
            (i, _, scratch) =>
            {
                RunCore(inputs.AsSpan(i * InputLength, InputLength), logits.AsSpan(i * NumClasses, NumClasses), null, scratch.Item1, scratch.Item2);
                return scratch;
            },
            _ => { });
        return logits;
    }

    /// <summary>Converts an NHWC map to CHW.</summary>
    public static float[] ToChw(ReadOnlySpan<float> nhwc, int channels, int height, int width)
    {
        if (nhwc.Length < channels * height * width)
        {
            throw new ArgumentException($"Expected at least {channels * height * width} floats, got {nhwc.Length}.", nameof(nhwc));
        }

        float[] chw = new float[channels * height * width];
        for (int p = 0; p < height * width; p++)
        {
            for (int c = 0; c < channels; c++)
            {
                chw[(c * height * width) + p] = nhwc[(p * channels) + c];
            }
        }

        return chw;
    }

    private void RunCore(ReadOnlySpan<float> input, Span<float> logits, float[][]? layerOutputs, float[] a, float[] b)
    {
        Span<float> previous = default;
        for (int i = 0; i < _layers.Length; i++)
        {
            PreparedLayer layer = _layers[i];
            float[] target = layerOutputs != null ? layerOutputs[i] : (i % 2 == 0 ? a : b);
            Span<float> output = target.AsSpan(0, LayerOutputLength(i));
            switch (layer.Shape.Kind)
            {
                case ConvLayerKind.Stem:
                    Stem(layer, input, output);
                    break;
                case ConvLayerKind.Depthwise:
                    Depthwise(layer, previous, output);
                    break;
                default:
                    Pointwise(layer, previous, output);
                    break;
            }

            if (layer.Shape.HasSe)
            {
                SqueezeExcite(layer, output);
            }

            Relu(output);
            previous = output;
        }

        // Global average pool, then the linear head.
        ConvLayer last = Layers[^1];
        int channels = last.OutChannels, pixels = last.OutHeight * last.OutWidth;
        Span<float> pooled = channels <= 4096 ? stackalloc float[channels] : new float[channels];
        pooled.Clear();
        for (int p = 0; p < pixels; p++)
        {
            Add(pooled, previous.Slice(p * channels, channels));
        }

        float inv = 1f / pixels;
        for (int c = 0; c < channels; c++)
        {
            pooled[c] *= inv;
        }

        for (int k = 0; k < NumClasses; k++)
        {
            logits[k] = _linearBias[k] + Dot(_linearWeight.AsSpan(k * channels, channels), pooled);
        }
    }

    private static void Stem(PreparedLayer layer, ReadOnlySpan<float> input, Span<float> output)
    {
        ConvLayer l = layer.Shape;
        int cin = l.InChannels, cout = l.OutChannels, h = l.InHeight, w = l.InWidth;
        for (int oy = 0; oy < l.OutHeight; oy++)
        {
            for (int ox = 0; ox < l.OutWidth; ox++)
            {
                Span<float> acc = output.Slice(((oy * l.OutWidth) + ox) * cout, cout);
                layer.Bias.CopyTo(acc);
                for (int ky = 0; ky < 3; ky++)
                {
                    int iy = (oy * l.Stride) - 1 + ky;
                    if (iy < 0 || iy >= h)
                    {
                        continue;
                    }

                    for (int kx = 0; kx < 3; kx++)
                    {
                        int ix = (ox * l.Stride) - 1 + kx;
                        if (ix < 0 || ix >= w)
                        {
                            continue;
                        }

                        for (int ci = 0; ci < cin; ci++)
                        {
                            float x = input[(((ci * h) + iy) * w) + ix];
                            MultiplyAdd(acc, layer.Weight.AsSpan((((ky * 3) + kx) * cin + ci) * cout, cout), x);
                        }
                    }
                }
            }
        }
    }

    private static void Depthwise(PreparedLayer layer, ReadOnlySpan<float> input, Span<float> output)
    {
        ConvLayer l = layer.Shape;
        int c = l.OutChannels, h = l.InHeight, w = l.InWidth;
        for (int oy = 0; oy < l.OutHeight; oy++)
        {
            for (int ox = 0; ox < l.OutWidth; ox++)
            {
                Span<float> acc = output.Slice(((oy * l.OutWidth) + ox) * c, c);
                layer.Bias.CopyTo(acc);
                for (int ky = 0; ky < 3; ky++)
                {
                    int iy = (oy * l.Stride) - 1 + ky;
                    if (iy < 0 || iy >= h)
                    {
                        continue;
                    }

                    for (int kx = 0; kx < 3; kx++)
                    {
                        int ix = (ox * l.Stride) - 1 + kx;
                        if (ix < 0 || ix >= w)
                        {
                            continue;
                        }

                        MultiplyAddElementwise(acc, layer.Weight.AsSpan(((ky * 3) + kx) * c, c), input.Slice(((iy * w) + ix) * c, c));
                    }
                }
            }
        }
    }

    private static void Pointwise(PreparedLayer layer, ReadOnlySpan<float> input, Span<float> output)
    {
        ConvLayer l = layer.Shape;
        int cin = l.InChannels, cout = l.OutChannels, pixels = l.OutHeight * l.OutWidth;
        int p = 0;

        // Four pixels at a time: each weight row is read once for four accumulators (the rows, Cin x Cout floats, are
        // what the loop streams).
        for (; p + 4 <= pixels; p += 4)
        {
            Span<float> acc = output.Slice(p * cout, 4 * cout);
            for (int j = 0; j < 4; j++)
            {
                layer.Bias.CopyTo(acc.Slice(j * cout, cout));
            }

            ReadOnlySpan<float> x = input.Slice(p * cin, 4 * cin);
            for (int ci = 0; ci < cin; ci++)
            {
                float x0 = x[ci], x1 = x[cin + ci], x2 = x[(2 * cin) + ci], x3 = x[(3 * cin) + ci];
                if (x0 == 0f && x1 == 0f && x2 == 0f && x3 == 0f)
                {
                    continue;
                }

                MultiplyAdd4(acc, cout, layer.Weight.AsSpan(ci * cout, cout), x0, x1, x2, x3);
            }
        }

        for (; p < pixels; p++)
        {
            Span<float> acc = output.Slice(p * cout, cout);
            layer.Bias.CopyTo(acc);
            ReadOnlySpan<float> x = input.Slice(p * cin, cin);
            for (int ci = 0; ci < cin; ci++)
            {
                // Inputs are post-ReLU: about half are zero.
                if (x[ci] != 0f)
                {
                    MultiplyAdd(acc, layer.Weight.AsSpan(ci * cout, cout), x[ci]);
                }
            }
        }
    }

    // x *= sigmoid(expand(relu(reduce(mean_hw(x))))) per channel (the layer's ReLU follows).
    private static void SqueezeExcite(PreparedLayer layer, Span<float> x)
    {
        ConvLayer l = layer.Shape;
        int c = l.OutChannels, r = l.SeReducedChannels, pixels = l.OutHeight * l.OutWidth;
        float[] mean = new float[c];
        for (int p = 0; p < pixels; p++)
        {
            Add(mean, x.Slice(p * c, c));
        }

        float inv = 1f / pixels;
        for (int i = 0; i < c; i++)
        {
            mean[i] *= inv;
        }

        float[] hidden = new float[r];
        for (int j = 0; j < r; j++)
        {
            hidden[j] = Math.Max(0f, layer.SeReduceBias![j] + Dot(layer.SeReduceWeight.AsSpan(j * c, c), mean));
        }

        float[] gate = new float[c];
        for (int i = 0; i < c; i++)
        {
            float e = layer.SeExpandBias![i] + Dot(layer.SeExpandWeight.AsSpan(i * r, r), hidden);
            gate[i] = 1f / (1f + MathF.Exp(-e));
        }

        for (int p = 0; p < pixels; p++)
        {
            Multiply(x.Slice(p * c, c), gate);
        }
    }

    private static void MultiplyAdd(Span<float> acc, ReadOnlySpan<float> w, float x)
    {
        int i = 0;
        if (Vector.IsHardwareAccelerated && acc.Length >= Vector<float>.Count)
        {
            Span<Vector<float>> va = MemoryMarshal.Cast<float, Vector<float>>(acc);
            ReadOnlySpan<Vector<float>> vw = MemoryMarshal.Cast<float, Vector<float>>(w);
            var vx = new Vector<float>(x);
            for (int k = 0; k < va.Length; k++)
            {
                va[k] += vw[k] * vx;
            }

            i = va.Length * Vector<float>.Count;
        }

        for (; i < acc.Length; i++)
        {
            acc[i] += w[i] * x;
        }
    }

    // acc[j·n + k] += w[k] · x_j for the four rows j of acc.
    private static void MultiplyAdd4(Span<float> acc, int n, ReadOnlySpan<float> w, float x0, float x1, float x2, float x3)
    {
        int i = 0;
        if (Vector.IsHardwareAccelerated && n >= Vector<float>.Count)
        {
            Span<Vector<float>> a0 = MemoryMarshal.Cast<float, Vector<float>>(acc.Slice(0, n));
            Span<Vector<float>> a1 = MemoryMarshal.Cast<float, Vector<float>>(acc.Slice(n, n));
            Span<Vector<float>> a2 = MemoryMarshal.Cast<float, Vector<float>>(acc.Slice(2 * n, n));
            Span<Vector<float>> a3 = MemoryMarshal.Cast<float, Vector<float>>(acc.Slice(3 * n, n));
            ReadOnlySpan<Vector<float>> vw = MemoryMarshal.Cast<float, Vector<float>>(w);
            Vector<float> v0 = new(x0), v1 = new(x1), v2 = new(x2), v3 = new(x3);
            for (int k = 0; k < vw.Length; k++)
            {
                Vector<float> wk = vw[k];
                a0[k] += wk * v0;
                a1[k] += wk * v1;
                a2[k] += wk * v2;
                a3[k] += wk * v3;
            }

            i = vw.Length * Vector<float>.Count;
        }

        for (; i < n; i++)
        {
            acc[i] += w[i] * x0;
            acc[n + i] += w[i] * x1;
            acc[(2 * n) + i] += w[i] * x2;
            acc[(3 * n) + i] += w[i] * x3;
        }
    }

    private static void MultiplyAddElementwise(Span<float> acc, ReadOnlySpan<float> w, ReadOnlySpan<float> x)
    {
        int i = 0;
        if (Vector.IsHardwareAccelerated && acc.Length >= Vector<float>.Count)
        {
            Span<Vector<float>> va = MemoryMarshal.Cast<float, Vector<float>>(acc);
            ReadOnlySpan<Vector<float>> vw = MemoryMarshal.Cast<float, Vector<float>>(w);
            ReadOnlySpan<Vector<float>> vx = MemoryMarshal.Cast<float, Vector<float>>(x);
            for (int k = 0; k < va.Length; k++)
            {
                va[k] += vw[k] * vx[k];
            }

            i = va.Length * Vector<float>.Count;
        }

        for (; i < acc.Length; i++)
        {
            acc[i] += w[i] * x[i];
        }
    }

    private static void Add(Span<float> acc, ReadOnlySpan<float> x)
    {
        int i = 0;
        if (Vector.IsHardwareAccelerated && acc.Length >= Vector<float>.Count)
        {
            Span<Vector<float>> va = MemoryMarshal.Cast<float, Vector<float>>(acc);
            ReadOnlySpan<Vector<float>> vx = MemoryMarshal.Cast<float, Vector<float>>(x);
            for (int k = 0; k < va.Length; k++)
            {
                va[k] += vx[k];
            }

            i = va.Length * Vector<float>.Count;
        }

        for (; i < acc.Length; i++)
        {
            acc[i] += x[i];
        }
    }

    private static void Multiply(Span<float> x, ReadOnlySpan<float> factor)
    {
        int i = 0;
        if (Vector.IsHardwareAccelerated && x.Length >= Vector<float>.Count)
        {
            Span<Vector<float>> vx = MemoryMarshal.Cast<float, Vector<float>>(x);
            ReadOnlySpan<Vector<float>> vf = MemoryMarshal.Cast<float, Vector<float>>(factor);
            for (int k = 0; k < vx.Length; k++)
            {
                vx[k] *= vf[k];
            }

            i = vx.Length * Vector<float>.Count;
        }

        for (; i < x.Length; i++)
        {
            x[i] *= factor[i];
        }
    }

    private static void Relu(Span<float> x)
    {
        int i = 0;
        if (Vector.IsHardwareAccelerated && x.Length >= Vector<float>.Count)
        {
            Span<Vector<float>> vx = MemoryMarshal.Cast<float, Vector<float>>(x);
            for (int k = 0; k < vx.Length; k++)
            {
                vx[k] = Vector.Max(vx[k], Vector<float>.Zero);
            }

            i = vx.Length * Vector<float>.Count;
        }

        for (; i < x.Length; i++)
        {
            x[i] = Math.Max(x[i], 0f);
        }
    }

    private static float Dot(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        int i = 0;
        float sum = 0;
        if (Vector.IsHardwareAccelerated && a.Length >= Vector<float>.Count)
        {
            ReadOnlySpan<Vector<float>> va = MemoryMarshal.Cast<float, Vector<float>>(a);
            ReadOnlySpan<Vector<float>> vb = MemoryMarshal.Cast<float, Vector<float>>(b);
            Vector<float> acc = Vector<float>.Zero;
            for (int k = 0; k < va.Length; k++)
            {
                acc += va[k] * vb[k];
            }

            sum = Vector.Sum(acc);
            i = va.Length * Vector<float>.Count;
        }

        for (; i < a.Length; i++)
        {
            sum += a[i] * b[i];
        }

        return sum;
    }

    /// <summary>One convolution's weights in the order its loop reads them.</summary>
    private sealed class PreparedLayer
    {
        public PreparedLayer(ConvLayer shape, FusedNetwork network)
        {
            Shape = shape;
            float[] w = network[shape.Name + ".reparam_conv.weight"];
            Bias = network[shape.Name + ".reparam_conv.bias"];
            int cout = shape.OutChannels;
            switch (shape.Kind)
            {
                case ConvLayerKind.Stem:
                    // [out][in][ky][kx] -> [ky][kx][in][out]
                    int cin = shape.InChannels;
                    Weight = new float[w.Length];
                    for (int o = 0; o < cout; o++)
                    {
                        for (int i = 0; i < cin; i++)
                        {
                            for (int k = 0; k < 9; k++)
                            {
                                Weight[(((k * cin) + i) * cout) + o] = w[(((o * cin) + i) * 9) + k];
                            }
                        }
                    }

                    break;
                case ConvLayerKind.Depthwise:
                    // [c][1][ky][kx] -> [ky][kx][c]
                    Weight = new float[w.Length];
                    for (int c = 0; c < cout; c++)
                    {
                        for (int k = 0; k < 9; k++)
                        {
                            Weight[(k * cout) + c] = w[(c * 9) + k];
                        }
                    }

                    break;
                default:
                    // [out][in] -> [in][out]
                    int n = shape.InChannels;
                    Weight = new float[w.Length];
                    for (int o = 0; o < cout; o++)
                    {
                        for (int i = 0; i < n; i++)
                        {
                            Weight[(i * cout) + o] = w[(o * n) + i];
                        }
                    }

                    break;
            }

            if (shape.HasSe)
            {
                SeReduceWeight = network[shape.Name + ".se.reduce.weight"];
                SeReduceBias = network[shape.Name + ".se.reduce.bias"];
                SeExpandWeight = network[shape.Name + ".se.expand.weight"];
                SeExpandBias = network[shape.Name + ".se.expand.bias"];
            }
        }

        public ConvLayer Shape { get; }

        public float[] Weight { get; }

        public float[] Bias { get; }

        public float[]? SeReduceWeight { get; }

        public float[]? SeReduceBias { get; }

        public float[]? SeExpandWeight { get; }

        public float[]? SeExpandBias { get; }
    }
}
