using System;
using System.Collections.Generic;

namespace MobileOne.Conversion;

/// <summary>
/// Folds a train-time MobileOne into one conv per layer (docs/mobileone.md, "Fusion"; Apple's <c>_get_kernel_bias</c>): per output
/// channel c, each conv-BN branch becomes <c>W·γ/σ</c>, <c>β − μ·γ/σ</c> with <c>σ = sqrt(running_var + eps)</c>; the 1x1
/// scale branch is folded and zero-padded to 3x3 (value at the centre); the BN-only skip branch is the identity kernel
/// (<c>I[i, i mod (Cin/groups), k/2, k/2] = 1</c>) folded with its BN; the k conv branches, the scale and the skip are summed.
/// Arithmetic is in double; the result is rounded to float once.
/// </summary>
public static class Reparameterizer
{
    /// <summary>PyTorch's BatchNorm2d default eps.</summary>
    public const double DefaultEps = 1e-5;

    /// <summary>Fuses a train-time checkpoint (a fused one is returned as is).</summary>
    public static FusedNetwork Fuse(MobileOneCheckpoint checkpoint, double eps = DefaultEps)
    {
        ArgumentNullException.ThrowIfNull(checkpoint);
        if (!(eps >= 0) || double.IsInfinity(eps))
        {
            throw new ArgumentOutOfRangeException(nameof(eps), eps, "eps must be a finite number ≥ 0.");
        }

        NetworkArchitecture arch = checkpoint.Architecture;
        var tensors = new Dictionary<string, float[]>(StringComparer.Ordinal);
        foreach (var (name, _) in arch.FusedTensors())
        {
            if (checkpoint.Form == CheckpointForm.Fused || name.StartsWith("linear.", StringComparison.Ordinal) || name.Contains(".se.", StringComparison.Ordinal))
            {
                tensors[name] = (float[])checkpoint[name].Values.Clone();
            }
        }

        if (checkpoint.Form == CheckpointForm.TrainTime)
        {
            foreach (ConvLayer layer in arch.Layers())
            {
                var (w, b) = FuseLayer(checkpoint, layer, checkpoint.ConvBranches[layer.Name], eps);
                tensors[layer.Name + ".reparam_conv.weight"] = w;
                tensors[layer.Name + ".reparam_conv.bias"] = b;
            }
        }

        return new FusedNetwork(arch, tensors);
    }

    /// <summary>The fused conv weight (OIHW) and bias of one layer.</summary>
    public static (float[] Weight, float[] Bias) FuseLayer(MobileOneCheckpoint checkpoint, ConvLayer layer, int convBranches, double eps = DefaultEps)
    {
        ArgumentNullException.ThrowIfNull(checkpoint);
        ArgumentNullException.ThrowIfNull(layer);
        int cout = layer.OutChannels, cpg = layer.InChannels / layer.Groups, k = layer.KernelSize;
        int perOut = cpg * k * k;
        var w = new double[cout * perOut];
        var b = new double[cout];
        string p = layer.Name;

        // 1. k conv-BN branches.
        for (int j = 0; j < convBranches; j++)
        {
            float[] kernel = checkpoint[$"{p}.rbr_conv.{j}.conv.weight"].Values;
            Bn bn = Bn.Read(checkpoint, $"{p}.rbr_conv.{j}.bn.", eps);
            for (int c = 0; c < cout; c++)
            {
                for (int i = 0; i < perOut; i++)
                {
                    w[c * perOut + i] += kernel[c * perOut + i] * bn.Scale[c];
                }

                b[c] += bn.Shift[c];
            }
        }

        // 2. 1x1 scale branch, zero-padded to kxk: its value lands on the centre tap.
        int centre = (k / 2) * k + k / 2;
        if (layer.HasScaleBranch)
        {
            float[] kernel = checkpoint[$"{p}.rbr_scale.conv.weight"].Values; // [Cout, Cin/g, 1, 1]
            Bn bn = Bn.Read(checkpoint, $"{p}.rbr_scale.bn.", eps);
            for (int c = 0; c < cout; c++)
            {
                for (int i = 0; i < cpg; i++)
                {
                    w[c * perOut + i * k * k + centre] += kernel[c * cpg + i] * bn.Scale[c];
                }

                b[c] += bn.Shift[c];
            }
        }

        // 3. BN-only skip: identity kernel I[c, c mod (Cin/g), k/2, k/2] = 1, folded with the skip BN.
        if (layer.HasSkipBranch)
        {
            Bn bn = Bn.Read(checkpoint, $"{p}.rbr_skip.", eps);
            for (int c = 0; c < cout; c++)
            {
                w[c * perOut + (c % cpg) * k * k + centre] += bn.Scale[c];
                b[c] += bn.Shift[c];
            }
        }

        return (Array.ConvertAll(w, v => (float)v), Array.ConvertAll(b, v => (float)v));
    }

    /// <summary>A BN in eval mode as a per-channel affine map: <c>x·Scale + Shift</c>.</summary>
    private readonly struct Bn
    {
        private Bn(double[] scale, double[] shift)
        {
            Scale = scale;
            Shift = shift;
        }

        public double[] Scale { get; }

        public double[] Shift { get; }

        public static Bn Read(MobileOneCheckpoint checkpoint, string prefix, double eps)
        {
            float[] gamma = checkpoint[prefix + "weight"].Values, beta = checkpoint[prefix + "bias"].Values;
            float[] mean = checkpoint[prefix + "running_mean"].Values, variance = checkpoint[prefix + "running_var"].Values;
            var scale = new double[gamma.Length];
            var shift = new double[gamma.Length];
            for (int c = 0; c < gamma.Length; c++)
            {
                double sigma = Math.Sqrt((double)variance[c] + eps);
                scale[c] = gamma[c] / sigma;
                shift[c] = beta[c] - mean[c] * scale[c];
            }

            return new Bn(scale, shift);
        }
    }
}
