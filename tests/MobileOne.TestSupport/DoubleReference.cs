using System;
using System.Collections.Generic;
using System.Threading.Tasks;

namespace MobileOne.TestSupport;

/// <summary>Post-activation output of one layer of a reference run (CHW, double).</summary>
public sealed record LayerOutput(LayerInfo Layer, double[] Output);

/// <summary>All intermediate results of a reference run.</summary>
/// <param name="Layers">Post-ReLU (and post-SE) output of every conv layer, in order.</param>
/// <param name="Pooled">Global average pool of the last layer (length = stage-4 width).</param>
/// <param name="Logits">Linear head output.</param>
public sealed record ReferenceTrace(IReadOnlyList<LayerOutput> Layers, double[] Pooled, double[] Logits)
{
    /// <summary>Output of the layer with Apple name <paramref name="layerName"/> (e.g. <c>stage2.3</c>).</summary>
    public double[] this[string layerName]
    {
        get
        {
            foreach (LayerOutput l in Layers)
            {
                if (l.Layer.Name == layerName)
                {
                    return l.Output;
                }
            }

            throw new KeyNotFoundException($"No layer named '{layerName}'.");
        }
    }
}

/// <summary>
/// Plain double-precision forward pass of a fused MobileOne in CHW / OIHW with direct loops (no SIMD, no packing).
/// Each output channel is an independent sequential sum, so results do not depend on the thread count.
/// </summary>
public static class DoubleReference
{
    /// <summary>Logits for one CHW input.</summary>
    public static double[] Run(MobileOneArchitecture arch, FusedWeights weights, float[] inputChw)
        => Forward(arch, weights, inputChw, keep: false, stopAfter: null).Logits;

    /// <summary>Every layer's output, the pooled features and the logits.</summary>
    public static ReferenceTrace Trace(MobileOneArchitecture arch, FusedWeights weights, float[] inputChw)
        => Forward(arch, weights, inputChw, keep: true, stopAfter: null);

    /// <summary>Post-activation CHW output of layer <paramref name="layerName"/> (Apple name, e.g. <c>stage3.4</c>).</summary>
    public static double[] RunUpTo(MobileOneArchitecture arch, FusedWeights weights, float[] inputChw, string layerName)
        => Forward(arch, weights, inputChw, keep: false, stopAfter: layerName).Layers[^1].Output;

    private static ReferenceTrace Forward(MobileOneArchitecture arch, FusedWeights weights, float[] inputChw, bool keep, string? stopAfter)
    {
        ArgumentNullException.ThrowIfNull(arch);
        ArgumentNullException.ThrowIfNull(weights);
        ArgumentNullException.ThrowIfNull(inputChw);
        if (inputChw.Length != arch.InputLength)
        {
            throw new ArgumentException($"Input has {inputChw.Length} floats, expected {arch.InputLength} (CHW {arch.InputChannels}x{arch.InputHeight}x{arch.InputWidth}).");
        }

        double[] x = new double[inputChw.Length];
        for (int i = 0; i < x.Length; i++)
        {
            x[i] = inputChw[i];
        }

        var outputs = new List<LayerOutput>();
        IReadOnlyList<LayerInfo> layers = arch.Layers();
        foreach (LayerInfo layer in layers)
        {
            x = Layer(layer, weights, x);
            if (keep)
            {
                outputs.Add(new LayerOutput(layer, x));
            }

            if (stopAfter is not null && layer.Name == stopAfter)
            {
                return new ReferenceTrace(new[] { new LayerOutput(layer, x) }, Array.Empty<double>(), Array.Empty<double>());
            }
        }
        if (stopAfter is not null)
        {
            throw new KeyNotFoundException($"No layer named '{stopAfter}'.");
        }

        LayerInfo last = layers[^1];
        double[] pooled = GlobalAveragePool(x, last.OutChannels, last.OutHeight * last.OutWidth);
        double[] logits = Linear(pooled, weights["linear.weight"], weights["linear.bias"], arch.NumClasses);
        return new ReferenceTrace(outputs, pooled, logits);
    }

    /// <summary>One fused block: conv → SE (if any) → ReLU.</summary>
    public static double[] Layer(LayerInfo layer, FusedWeights weights, double[] input)
    {
        ArgumentNullException.ThrowIfNull(layer);
        ArgumentNullException.ThrowIfNull(weights);
        double[] z = Conv(input, layer.InChannels, layer.InHeight, layer.InWidth,
            weights[layer.Name + ".reparam_conv.weight"], weights[layer.Name + ".reparam_conv.bias"],
            layer.OutChannels, layer.KernelSize, layer.Stride, layer.Groups, out _, out _);
        if (layer.HasSe)
        {
            SqueezeExcite(z, layer.OutChannels, layer.OutHeight * layer.OutWidth, layer.SeReducedChannels,
                weights[layer.Name + ".se.reduce.weight"], weights[layer.Name + ".se.reduce.bias"],
                weights[layer.Name + ".se.expand.weight"], weights[layer.Name + ".se.expand.bias"]);
        }
        Relu(z);
        return z;
    }

    /// <summary>
    /// 2-D convolution, CHW input, OIHW weight <c>[Cout, Cin/groups, k, k]</c>, symmetric zero padding k/2,
    /// bias added, no activation. Output CHW.
    /// </summary>
    public static double[] Conv(double[] input, int inChannels, int inHeight, int inWidth, float[] weight, float[] bias,
        int outChannels, int kernelSize, int stride, int groups, out int outHeight, out int outWidth)
    {
        ArgumentNullException.ThrowIfNull(input);
        ArgumentNullException.ThrowIfNull(weight);
        ArgumentNullException.ThrowIfNull(bias);
        int pad = kernelSize / 2;
        int ho = (inHeight + 2 * pad - kernelSize) / stride + 1;
        int wo = (inWidth + 2 * pad - kernelSize) / stride + 1;
        outHeight = ho; outWidth = wo;
        int cinPerGroup = inChannels / groups, coutPerGroup = outChannels / groups;
        if (input.Length != inChannels * inHeight * inWidth)
        {
            throw new ArgumentException("input length");
        }

        if (weight.Length != outChannels * cinPerGroup * kernelSize * kernelSize)
        {
            throw new ArgumentException("weight length");
        }

        if (bias.Length != outChannels)
        {
            throw new ArgumentException("bias length");
        }

        int inPlane = inHeight * inWidth, outPlane = ho * wo;
        double[] output = new double[outChannels * outPlane];
        bool pointwise = kernelSize == 1 && stride == 1;
        Parallel.For(0, outChannels, co =>
        {
            Span<double> acc = output.AsSpan(co * outPlane, outPlane);
            acc.Fill(bias[co]);
            int g = co / coutPerGroup;
            for (int ci = 0; ci < cinPerGroup; ci++)
            {
                int inC = g * cinPerGroup + ci;
                ReadOnlySpan<double> plane = input.AsSpan(inC * inPlane, inPlane);
                if (pointwise)
                {
                    double wv = weight[co * cinPerGroup + ci];
                    for (int p = 0; p < outPlane; p++)
                    {
                        acc[p] += wv * plane[p];
                    }

                    continue;
                }
                for (int ky = 0; ky < kernelSize; ky++)
                {
                    for (int kx = 0; kx < kernelSize; kx++)
                    {
                        double wv = weight[((co * cinPerGroup + ci) * kernelSize + ky) * kernelSize + kx];
                        for (int oy = 0; oy < ho; oy++)
                        {
                            int iy = oy * stride - pad + ky;
                            if (iy < 0 || iy >= inHeight)
                            {
                                continue;
                            }

                            for (int ox = 0; ox < wo; ox++)
                            {
                                int ix = ox * stride - pad + kx;
                                if (ix < 0 || ix >= inWidth)
                                {
                                    continue;
                                }

                                acc[oy * wo + ox] += wv * plane[iy * inWidth + ix];
                            }
                        }
                    }
                }
            }
        });
        return output;
    }

    /// <summary>
    /// In-place squeeze-excite on a CHW map: <c>x *= sigmoid(expand(relu(reduce(mean_hw(x)))))</c>, with reduce
    /// <c>[R, C, 1, 1]</c> and expand <c>[C, R, 1, 1]</c> 1x1 convs with bias.
    /// </summary>
    public static void SqueezeExcite(double[] x, int channels, int pixels, int reduced,
        float[] reduceWeight, float[] reduceBias, float[] expandWeight, float[] expandBias)
    {
        double[] gate = SeGate(x, channels, pixels, reduced, reduceWeight, reduceBias, expandWeight, expandBias, out _);
        for (int c = 0; c < channels; c++)
        {
            Span<double> plane = x.AsSpan(c * pixels, pixels);
            for (int p = 0; p < pixels; p++)
            {
                plane[p] *= gate[c];
            }
        }
    }

    /// <summary>The SE gate vector (after the sigmoid); <paramref name="preSigmoid"/> receives the expand output.</summary>
    public static double[] SeGate(double[] x, int channels, int pixels, int reduced,
        float[] reduceWeight, float[] reduceBias, float[] expandWeight, float[] expandBias, out double[] preSigmoid)
    {
        ArgumentNullException.ThrowIfNull(reduceWeight);
        ArgumentNullException.ThrowIfNull(reduceBias);
        ArgumentNullException.ThrowIfNull(expandWeight);
        ArgumentNullException.ThrowIfNull(expandBias);
        double[] mean = GlobalAveragePool(x, channels, pixels);
        double[] r = new double[reduced];
        for (int j = 0; j < reduced; j++)
        {
            double s = reduceBias[j];
            for (int c = 0; c < channels; c++)
            {
                s += reduceWeight[j * channels + c] * mean[c];
            }

            r[j] = s > 0 ? s : 0;
        }
        preSigmoid = new double[channels];
        double[] gate = new double[channels];
        for (int c = 0; c < channels; c++)
        {
            double s = expandBias[c];
            for (int j = 0; j < reduced; j++)
            {
                s += expandWeight[c * reduced + j] * r[j];
            }

            preSigmoid[c] = s;
            gate[c] = 1.0 / (1.0 + Math.Exp(-s));
        }
        return gate;
    }

    /// <summary>In-place max(x, 0).</summary>
    public static void Relu(double[] x)
    {
        ArgumentNullException.ThrowIfNull(x);
        for (int i = 0; i < x.Length; i++)
        {
            if (!(x[i] > 0))
            {
                x[i] = 0;
            }
        }
    }

    /// <summary>Mean over the spatial positions of each channel of a CHW map.</summary>
    public static double[] GlobalAveragePool(double[] x, int channels, int pixels)
    {
        ArgumentNullException.ThrowIfNull(x);
        double[] m = new double[channels];
        for (int c = 0; c < channels; c++)
        {
            double s = 0;
            for (int p = 0; p < pixels; p++)
            {
                s += x[c * pixels + p];
            }

            m[c] = s / pixels;
        }
        return m;
    }

    /// <summary><c>y = W x + b</c> with <c>W</c> of shape <c>[outFeatures, x.Length]</c>.</summary>
    public static double[] Linear(double[] x, float[] weight, float[] bias, int outFeatures)
    {
        ArgumentNullException.ThrowIfNull(x);
        ArgumentNullException.ThrowIfNull(weight);
        ArgumentNullException.ThrowIfNull(bias);
        int n = x.Length;
        double[] y = new double[outFeatures];
        for (int o = 0; o < outFeatures; o++)
        {
            double s = bias[o];
            for (int i = 0; i < n; i++)
            {
                s += weight[o * n + i] * x[i];
            }

            y[o] = s;
        }
        return y;
    }
}
