using System;
using System.Collections.Generic;

namespace MobileOne.TestSupport;

/// <summary>
/// The train-time (unfused) MobileOne forward pass in BN eval mode, in double, branch by branch: per layer
/// Σ_j BN_j(conv_j(x)) + BN_s(conv1x1(x)) + BN_skip(x), then SE, then ReLU; global average pool; linear.
/// Written here, independent of MobileOne.Conversion's fusion and of the runtime's kernels, so it checks both.
/// </summary>
public static class TrainTimeReference
{
    /// <summary>Runs one CHW input through the train-time net whose tensors (Apple names) are <paramref name="tensors"/>.</summary>
    /// <param name="convBranches">k, the conv-BN branches of the stage layers (the stem has 1).</param>
    /// <param name="eps">The BatchNorm epsilon.</param>
    public static double[] Forward(MobileOneArchitecture arch, int convBranches, double eps, IReadOnlyDictionary<string, float[]> tensors, ReadOnlySpan<float> input)
    {
        ArgumentNullException.ThrowIfNull(arch);
        ArgumentNullException.ThrowIfNull(tensors);
        if (input.Length != arch.InputLength)
        {
            throw new ArgumentException($"Expected {arch.InputLength} input values, got {input.Length}.", nameof(input));
        }

        double[] x = new double[input.Length];
        for (int i = 0; i < x.Length; i++)
        {
            x[i] = input[i];
        }

        foreach (LayerInfo l in arch.Layers())
        {
            int pixels = l.OutHeight * l.OutWidth;
            var z = new double[l.OutChannels * pixels];
            var zeroBias = new float[l.OutChannels];
            int branches = l.Kind == LayerKind.Stem ? 1 : convBranches;
            for (int j = 0; j < branches; j++)
            {
                double[] y = DoubleReference.Conv(x, l.InChannels, l.InHeight, l.InWidth, tensors[$"{l.Name}.rbr_conv.{j}.conv.weight"], zeroBias,
                    l.OutChannels, l.KernelSize, l.Stride, l.Groups, out _, out _);
                AddBatchNorm(tensors, z, y, $"{l.Name}.rbr_conv.{j}.bn.", l.OutChannels, pixels, eps);
            }

            if (l.KernelSize > 1)
            {
                double[] y = DoubleReference.Conv(x, l.InChannels, l.InHeight, l.InWidth, tensors[$"{l.Name}.rbr_scale.conv.weight"], zeroBias,
                    l.OutChannels, 1, l.Stride, l.Groups, out int h1, out int w1);
                if (h1 * w1 != pixels)
                {
                    throw new InvalidOperationException("1x1 stride-s output differs from the 3x3 output size.");
                }

                AddBatchNorm(tensors, z, y, $"{l.Name}.rbr_scale.bn.", l.OutChannels, pixels, eps);
            }

            if (l.InChannels == l.OutChannels && l.Stride == 1)
            {
                AddBatchNorm(tensors, z, x, $"{l.Name}.rbr_skip.", l.OutChannels, pixels, eps);
            }

            if (l.HasSe)
            {
                DoubleReference.SqueezeExcite(z, l.OutChannels, pixels, l.SeReducedChannels,
                    tensors[l.Name + ".se.reduce.weight"], tensors[l.Name + ".se.reduce.bias"],
                    tensors[l.Name + ".se.expand.weight"], tensors[l.Name + ".se.expand.bias"]);
            }

            DoubleReference.Relu(z);
            x = z;
        }

        LayerInfo last = arch.Layers()[^1];
        double[] pooled = DoubleReference.GlobalAveragePool(x, last.OutChannels, last.OutHeight * last.OutWidth);
        return DoubleReference.Linear(pooled, tensors["linear.weight"], tensors["linear.bias"], arch.NumClasses);
    }

    private static void AddBatchNorm(IReadOnlyDictionary<string, float[]> tensors, double[] sum, double[] y, string prefix, int channels, int pixels, double eps)
    {
        float[] g = tensors[prefix + "weight"], b = tensors[prefix + "bias"], m = tensors[prefix + "running_mean"], v = tensors[prefix + "running_var"];
        for (int c = 0; c < channels; c++)
        {
            double inv = 1.0 / Math.Sqrt(v[c] + eps);
            for (int p = c * pixels; p < (c + 1) * pixels; p++)
            {
                sum[p] += (y[p] - m[c]) * inv * g[c] + b[c];
            }
        }
    }
}
