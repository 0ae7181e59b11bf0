using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using MobileOne.Conversion;
using MobileOne.Generator.Tests.Infrastructure;
using MobileOne.Runtime;
using MobileOne.TestSupport;
using Xunit;
using Xunit.Abstractions;

namespace MobileOne.Conversion.Tests;

/// <summary>
/// Proof of the fusion: a train-time net run branch by branch in double precision (BN in eval mode) agrees with its fused
/// weights run by the double reference and by the generated class, within max|Δlogit| ≤ 1e-4·max|logit| + 1e-5; two
/// inputs' logits differ by ≥ 100x that tolerance; and a fold that ignores the BN statistics misses by far more.
/// </summary>
public class FusionAgreementTests
{
    private readonly ITestOutputHelper _output;

    public FusionAgreementTests(ITestOutputHelper output) => _output = output;

    public static IEnumerable<object[]> Cases() =>
        new[] { "s0@224", "s1@96", "s2@96", "s3@96", "s4@224", "odd", "gray", "k3" }.Select(n => new object[] { n });

    /// <summary>S0 and S4 at full 224x224; S1–S3 at 96x96 (same widths, depths and branches) to keep the double reference fast.</summary>
    public static (MobileOneArchitecture Arch, int K) CaseOf(string name)
    {
        string[] parts = name.Split('@');
        if (parts[0] is "s0" or "s1" or "s2" or "s3" or "s4")
        {
            int size = int.Parse(parts[1], System.Globalization.CultureInfo.InvariantCulture);
            var preset = MobileOneArchitecture.Preset(parts[0]);
            return (preset with { InputHeight = size, InputWidth = size }, parts[0] == "s0" ? 4 : 1);
        }

        return name switch
        {
            // odd widths, odd non-square input, SE in stages 3 and 4, k = 2
            "odd" => (new MobileOneArchitecture(3, 37, 45, 13, new[] { 21, 35, 50, 70 }, new[] { 1, 2, 2, 1 }, new[] { 0, 0, 1, 1 }, 10), 2),
            // one input channel, SE everywhere, equal widths so the pointwise skip appears in every stage
            "gray" => (new MobileOneArchitecture(1, 65, 33, 24, new[] { 24, 40, 40, 100 }, new[] { 2, 1, 3, 2 }, new[] { 1, 1, 3, 2 }, 10), 1),
            // k = 3, S0-like first pointwise 16 -> 16 with a skip
            "k3" => (new MobileOneArchitecture(3, 48, 48, 16, new[] { 16, 32, 48, 64 }, new[] { 2, 2, 2, 1 }, new[] { 0, 0, 0, 0 }, 7), 3),
            _ => throw new ArgumentException(name),
        };
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void TrainTimeForwardAgreesWithFusedReferenceAndGeneratedClass(string caseName)
    {
        var (arch, k) = CaseOf(caseName);
        int seed = TestData.StableSeed(caseName) + 10;
        TrainTimeNet train = TrainTimeNet.Create(arch, k, seed);
        float[] inputA = TestData.RandomInput(arch, seed + 1), inputB = TestData.RandomInput(arch, seed + 2);
        double[] refA = train.Forward(inputA), refB = train.Forward(inputB);
        var distinct = LogitComparison.AssertDistinguishable(refA, refB, caseName);

        // Fuse through the library (timm names for the customs, Apple's for the presets).
        NamingConvention naming = caseName.StartsWith('s') ? NamingConvention.Apple : NamingConvention.Timm;
        MobileOneCheckpoint cp = MobileOneCheckpoint.Analyze(train.ToStateDict(naming), arch.InputHeight, arch.InputWidth);
        Assert.Equal(CheckpointForm.TrainTime, cp.Form);
        Assert.Equal(naming, cp.Naming);
        Assert.Equal(k, cp.NumConvBranches);
        Assert.Equal(1, cp.ConvBranches["stage0"]);
        Assert.Equal(arch.ToConversion(), cp.Architecture);
        FusedNetwork fused = Reparameterizer.Fuse(cp);
        FusedWeights fw = TrainTimeNet.ToFusedWeights(arch, fused);
        var vsDouble = LogitComparison.AssertClose(refA, DoubleReference.Run(arch, fw, inputA), caseName + " fused double reference vs train-time");

        // A fold that forgets the BN statistics (kernels and betas summed as they are) is far off.
        var naive = LogitComparison.Compare(refA, DoubleReference.Run(arch, NaiveFold(train), inputA), "naive fold");
        Assert.True(naive.MaxAbsDiff > 100 * naive.Tolerance, naive.Describe());

        // The generated class, compiled from the fused safetensors `mobileone fuse` would write.
        string dir = Directory.CreateTempSubdirectory("mobileone-conversion-tests-").FullName;
        Directory.CreateDirectory(dir);
        try
        {
            string file = Path.Combine(dir, "fused_" + caseName.Replace("@", "_", StringComparison.Ordinal) + ".safetensors");
            fused.WriteSafetensors(file, "F32", NamingConvention.Apple, "test");
            GeneratorRun run = GeneratorHarness.Run(file);
            Assert.Empty(run.GeneratorDiagnostics);
            using LoadedAssembly loaded = GeneratorHarness.CompileAndLoad(run);
            string typeName = "TestApp." + string.Concat(Path.GetFileNameWithoutExtension(file).Split('_').Select(w => char.ToUpperInvariant(w[0]) + w[1..]));
            IMobileOneNetwork net = loaded.Default(typeName);
            float[] a = new float[arch.NumClasses], b = new float[arch.NumClasses];
            net.Run(inputA, a);
            net.Run(inputB, b);
            var vsClass = LogitComparison.AssertClose(refA, a, caseName + " generated class vs train-time (input A)");
            LogitComparison.AssertClose(refB, b, caseName + " generated class vs train-time (input B)");
            _output.WriteLine(distinct.Describe());
            _output.WriteLine(vsDouble.Describe());
            _output.WriteLine(vsClass.Describe());
            _output.WriteLine(naive.Describe());
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void EpsIsHonoured()
    {
        var (arch, _) = CaseOf("odd");
        TrainTimeNet train = TrainTimeNet.Create(arch, 2, 5, eps: 1e-3);
        float[] input = TestData.RandomInput(arch, 9);
        double[] reference = train.Forward(input);
        MobileOneCheckpoint cp = MobileOneCheckpoint.Analyze(train.ToStateDict(), arch.InputHeight, arch.InputWidth);
        LogitComparison.AssertClose(reference, DoubleReference.Run(arch, TrainTimeNet.ToFusedWeights(arch, Reparameterizer.Fuse(cp, 1e-3)), input), "eps 1e-3");
        var wrong = LogitComparison.Compare(reference, DoubleReference.Run(arch, TrainTimeNet.ToFusedWeights(arch, Reparameterizer.Fuse(cp)), input), "eps 1e-5 on a 1e-3 net");
        Assert.False(wrong.Passed, wrong.Describe());
    }

    /// <summary>Sums kernels and BN betas without folding the statistics: what a missed fold computes.</summary>
    private static FusedWeights NaiveFold(TrainTimeNet train)
    {
        MobileOneArchitecture arch = train.Architecture;
        var w = new FusedWeights(arch);
        foreach (LayerInfo l in arch.Layers())
        {
            float[] kernel = w[l.Name + ".reparam_conv.weight"], bias = w[l.Name + ".reparam_conv.bias"];
            int cpg = l.InChannels / l.Groups, ks = l.KernelSize, perOut = cpg * ks * ks, centre = (ks / 2) * ks + ks / 2;
            for (int j = 0; j < train.BranchesOf(l); j++)
            {
                float[] kj = train.Tensors[$"{l.Name}.rbr_conv.{j}.conv.weight"], bj = train.Tensors[$"{l.Name}.rbr_conv.{j}.bn.bias"];
                for (int i = 0; i < kernel.Length; i++)
                {
                    kernel[i] += kj[i];
                }

                for (int c = 0; c < bias.Length; c++)
                {
                    bias[c] += bj[c];
                }
            }

            if (ks > 1)
            {
                float[] s = train.Tensors[$"{l.Name}.rbr_scale.conv.weight"];
                for (int c = 0; c < l.OutChannels; c++)
                {
                    for (int i = 0; i < cpg; i++)
                    {
                        kernel[c * perOut + i * ks * ks + centre] += s[c * cpg + i];
                    }
                }
            }

            if (l.InChannels == l.OutChannels && l.Stride == 1)
            {
                for (int c = 0; c < l.OutChannels; c++)
                {
                    kernel[c * perOut + (c % cpg) * ks * ks + centre] += 1;
                }
            }

            foreach (string part in new[] { ".se.reduce.weight", ".se.reduce.bias", ".se.expand.weight", ".se.expand.bias" })
            {
                if (w.Contains(l.Name + part))
                {
                    w.Set(l.Name + part, (float[])train.Tensors[l.Name + part].Clone());
                }
            }
        }

        w.Set("linear.weight", (float[])train.Tensors["linear.weight"].Clone());
        w.Set("linear.bias", (float[])train.Tensors["linear.bias"].Clone());
        return w;
    }
}
