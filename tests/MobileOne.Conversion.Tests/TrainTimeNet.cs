using System;
using System.Collections.Generic;
using System.Linq;
using MobileOne.Conversion;
using MobileOne.TestSupport;
using ConvTensor = MobileOne.Conversion.Tensor;

namespace MobileOne.Conversion.Tests;

/// <summary>
/// A random train-time (unfused) MobileOne: per layer k conv-BN branches (the stem 1), a 1x1 conv-BN scale branch on 3x3
/// layers, a BN-only skip where Cin = Cout and stride 1, SE and a linear head. BN statistics are far from identity
/// (running_mean ~ N(0, 0.5²), running_var ~ U(0.25, 4), γ ~ U(0.4, 1.6), β ~ N(0, 0.3²)), so a fold that forgets any
/// of them fails. The branches are drawn so that, folded, the net equals a calibrated <see cref="FusedWeights.Random"/>
/// (well-conditioned logits): branch 0's kernel and bias are solved for; the others are random.
/// </summary>
public sealed class TrainTimeNet
{
    private TrainTimeNet(MobileOneArchitecture arch, int k, double eps, Dictionary<string, float[]> tensors, Dictionary<string, int[]> shapes, List<string> order)
    {
        Architecture = arch;
        ConvBranches = k;
        Eps = eps;
        Tensors = tensors;
        Shapes = shapes;
        Order = order;
    }

    public MobileOneArchitecture Architecture { get; }

    /// <summary>Conv branches of the stage layers (the stem has 1).</summary>
    public int ConvBranches { get; }

    public double Eps { get; }

    /// <summary>Values by canonical (Apple) name.</summary>
    public Dictionary<string, float[]> Tensors { get; }

    public Dictionary<string, int[]> Shapes { get; }

    public List<string> Order { get; }

    public int BranchesOf(LayerInfo l) => l.Kind == LayerKind.Stem ? 1 : ConvBranches;

    /// <summary>The checkpoint as a state dict, with Apple's or timm's names (and optionally num_batches_tracked).</summary>
    public StateDict ToStateDict(NamingConvention naming = NamingConvention.Apple, bool batchCounters = true, string source = "train-time net")
    {
        var list = new List<ConvTensor>();
        foreach (string name in Order)
        {
            list.Add(new ConvTensor(MobileOneCheckpoint.Rename(name, naming), "F32", Shapes[name], Tensors[name]));
            if (batchCounters && name.EndsWith(".running_var", StringComparison.Ordinal))
            {
                string counter = name[..^"running_var".Length] + "num_batches_tracked";
                list.Add(new ConvTensor(MobileOneCheckpoint.Rename(counter, naming), "I64", Array.Empty<int>(), new[] { 1000f }));
            }
        }

        return new StateDict(list, source, "in memory");
    }

    /// <summary>A train-time net from tensors by Apple name (e.g. read from a fixture).</summary>
    public static TrainTimeNet FromTensors(MobileOneArchitecture arch, int k, double eps, Dictionary<string, float[]> tensors) =>
        new(arch, k, eps, tensors, new Dictionary<string, int[]>(), tensors.Keys.ToList());

    public static TrainTimeNet Create(MobileOneArchitecture arch, int k, int seed, double eps = 1e-5)
    {
        FusedWeights target = FusedWeights.Random(arch, seed);
        var rng = new Random(seed * 7 + 3);
        var tensors = new Dictionary<string, float[]>(StringComparer.Ordinal);
        var shapes = new Dictionary<string, int[]>(StringComparer.Ordinal);
        var order = new List<string>();
        void Add(string name, int[] shape, float[] values)
        {
            tensors[name] = values;
            shapes[name] = shape;
            order.Add(name);
        }

        foreach (LayerInfo l in arch.Layers())
        {
            int kl = l.Kind == LayerKind.Stem ? 1 : k;
            int cout = l.OutChannels, cpg = l.InChannels / l.Groups, ks = l.KernelSize, perOut = cpg * ks * ks;
            int centre = (ks / 2) * ks + ks / 2;
            float[] wStar = target[l.Name + ".reparam_conv.weight"], bStar = target[l.Name + ".reparam_conv.bias"];
            double rms = Math.Sqrt(wStar.Sum(v => (double)v * v) / wStar.Length);

            // Folded contributions of every branch but conv 0.
            var wOther = new double[wStar.Length];
            var bOther = new double[cout];
            var bns = new List<(string Prefix, float[] G, float[] B, float[] M, float[] V)>();
            (float[] G, float[] B, float[] M, float[] V) RandomBn(int c, double gLo, double gHi) => (
                Fill(c, () => gLo + (gHi - gLo) * rng.NextDouble()),
                Fill(c, () => 0.3 * TestData.NextGaussian(rng)),
                Fill(c, () => 0.5 * TestData.NextGaussian(rng)),
                Fill(c, () => 0.25 + 3.75 * rng.NextDouble()));

            var kernels = new float[kl][];
            var bn = new (float[] G, float[] B, float[] M, float[] V)[kl];
            for (int j = 0; j < kl; j++)
            {
                bn[j] = RandomBn(cout, 0.4, 1.6);
                if (j == 0)
                {
                    continue;
                }

                kernels[j] = Fill(wStar.Length, () => 0.5 * rms * TestData.NextGaussian(rng));
                Accumulate(kernels[j], bn[j], eps, perOut, wOther, bOther, (c, i) => c * perOut + i, perOut);
            }

            float[]? scale = null;
            (float[] G, float[] B, float[] M, float[] V) scaleBn = default;
            if (l.KernelSize > 1)
            {
                scale = Fill(cout * cpg, () => 0.5 * rms * TestData.NextGaussian(rng));
                scaleBn = RandomBn(cout, 0.4, 1.6);
                Accumulate(scale, scaleBn, eps, cpg, wOther, bOther, (c, i) => c * perOut + i * ks * ks + centre, cpg);
            }

            (float[] G, float[] B, float[] M, float[] V) skipBn = default;
            bool skip = l.InChannels == l.OutChannels && l.Stride == 1;
            if (skip)
            {
                skipBn = RandomBn(cout, 0.1, 0.5);
                for (int c = 0; c < cout; c++)
                {
                    double s = skipBn.G[c] / Math.Sqrt(skipBn.V[c] + eps);
                    wOther[c * perOut + (c % cpg) * ks * ks + centre] += s;
                    bOther[c] += skipBn.B[c] - skipBn.M[c] * s;
                }
            }

            // Solve conv 0 so that the fold equals the target: W0·γ0/σ0 = W* − others; β0 − μ0·γ0/σ0 = b* − others.
            var w0 = new float[wStar.Length];
            var (g0, _, m0, v0) = bn[0];
            var beta0 = new float[cout];
            for (int c = 0; c < cout; c++)
            {
                double s0 = g0[c] / Math.Sqrt(v0[c] + eps);
                for (int i = 0; i < perOut; i++)
                {
                    w0[c * perOut + i] = (float)((wStar[c * perOut + i] - wOther[c * perOut + i]) / s0);
                }

                beta0[c] = (float)(bStar[c] - bOther[c] + m0[c] * s0);
            }

            kernels[0] = w0;
            bn[0] = (g0, beta0, m0, v0);
            for (int j = 0; j < kl; j++)
            {
                Add($"{l.Name}.rbr_conv.{j}.conv.weight", l.WeightShape, kernels[j]);
                AddBn($"{l.Name}.rbr_conv.{j}.bn.", bn[j], cout);
            }

            if (scale != null)
            {
                Add($"{l.Name}.rbr_scale.conv.weight", new[] { cout, cpg, 1, 1 }, scale);
                AddBn($"{l.Name}.rbr_scale.bn.", scaleBn, cout);
            }

            if (skip)
            {
                AddBn($"{l.Name}.rbr_skip.", skipBn, cout);
            }

            if (l.HasSe)
            {
                foreach (string part in new[] { "se.reduce.weight", "se.reduce.bias", "se.expand.weight", "se.expand.bias" })
                {
                    string n = $"{l.Name}.{part}";
                    Add(n, target.Shape(n), (float[])target[n].Clone());
                }
            }

            void AddBn(string prefix, (float[] G, float[] B, float[] M, float[] V) p, int c)
            {
                Add(prefix + "weight", new[] { c }, p.G);
                Add(prefix + "bias", new[] { c }, p.B);
                Add(prefix + "running_mean", new[] { c }, p.M);
                Add(prefix + "running_var", new[] { c }, p.V);
            }
        }

        Add("linear.weight", target.Shape("linear.weight"), (float[])target["linear.weight"].Clone());
        Add("linear.bias", target.Shape("linear.bias"), (float[])target["linear.bias"].Clone());
        return new TrainTimeNet(arch, k, eps, tensors, shapes, order);

        float[] Fill(int n, Func<double> f)
        {
            var a = new float[n];
            for (int i = 0; i < n; i++)
            {
                a[i] = (float)f();
            }

            return a;
        }
    }

    private static void Accumulate(float[] kernel, (float[] G, float[] B, float[] M, float[] V) bn, double eps, int perOutSrc,
        double[] w, double[] b, Func<int, int, int> at, int count)
    {
        for (int c = 0; c < bn.G.Length; c++)
        {
            double s = bn.G[c] / Math.Sqrt(bn.V[c] + eps);
            for (int i = 0; i < count; i++)
            {
                w[at(c, i)] += kernel[c * perOutSrc + i] * s;
            }

            b[c] += bn.B[c] - bn.M[c] * s;
        }
    }

    /// <summary>The train-time forward pass in BN eval mode, in double (<see cref="TrainTimeReference"/>).</summary>
    public double[] Forward(float[] input, double? eps = null) =>
        TrainTimeReference.Forward(Architecture, ConvBranches, eps ?? Eps, Tensors, input);

    /// <summary>Fused weights as TestSupport's <see cref="FusedWeights"/> (for <see cref="DoubleReference"/>).</summary>
    public static FusedWeights ToFusedWeights(MobileOneArchitecture arch, FusedNetwork net)
    {
        var w = new FusedWeights(arch);
        foreach (string name in w.Names)
        {
            w.Set(name, (float[])net[name].Clone());
        }

        return w;
    }
}
