using System;
using System.Collections.Generic;
using System.Linq;
using MobileOne.Training;
using Xunit;
using Xunit.Abstractions;

namespace MobileOne.Training.Tests;

/// <summary>
/// The whole net's backward (<see cref="MobileOneNet.Backward"/> for the cross-entropy plus
/// <see cref="MobileOneNet.BackwardFromLogits"/> for a random projection of the logits, so every gradient has a useful
/// scale) against finite differences of its forward (<see cref="FiniteDifferences"/>): every parameter tensor
/// of small nets that hold each layer type — stem (conv + scale), depthwise s1/s2 (k convs + scale + skip), pointwise
/// (k convs, skip), BN, SE, linear — must pass; none may fail. The linear head and the cross-entropy on their own, with
/// tight tolerances, are in <see cref="LinearCrossEntropyGradientTests"/>.
/// </summary>
public sealed class GradientCheckTests
{
    private readonly ITestOutputHelper _output;

    public GradientCheckTests(ITestOutputHelper output) => _output = output;

    public static TheoryData<string> Nets => new() { "k2-se", "k1", "k3-3ch" };

    private static (TrainingArchitecture Arch, int Batch) Net(string name) => name switch
    {
        "k2-se" => (new TrainingArchitecture(1, 32, 32, 16, new[] { 16, 32, 16, 32 }, new[] { 2, 1, 1, 1 }, new[] { 1, 0, 0, 0 }, 5, 2), 4),
        "k1" => (new TrainingArchitecture(1, 32, 24, 16, new[] { 16, 16, 32, 32 }, new[] { 1, 2, 1, 1 }, new[] { 0, 0, 0, 0 }, 4, 1), 4),
        _ => (new TrainingArchitecture(3, 29, 35, 32, new[] { 16, 32, 32, 16 }, new[] { 1, 1, 1, 1 }, new[] { 0, 1, 0, 0 }, 3, 3), 3),
    };

    /// <summary>
    /// Scale-branch weights with one tap per output channel (depthwise layers, and the stem when the input has one
    /// channel). Their branch BN normalises <c>w·x</c> with its batch statistics, so the loss does not depend on |w| except
    /// through eps: the exact derivative is ~0, and for |w| near 0 (var(w·x) ~ eps) the loss is so curved that no float
    /// step resolves it. They are set away from 0 (|w| in [0.3, 1.3]), where the check is "analytic ≈ 0 ≈ numeric".
    /// </summary>
    private static bool SingleTapScaleWeights(Parameter p) =>
        p.Name.Contains("rbr_scale.conv", StringComparison.Ordinal) && p.Length == p.Shape[0];

    [Theory]
    [MemberData(nameof(Nets))]
    public void Parameter_gradients_match_finite_differences(string name)
    {
        var (arch, batch) = Net(name);
        var net = new MobileOneNet(arch, seed: 7);
        var random = new Random(11);
        foreach (Parameter p in net.Parameters)
        {
            bool bnOrSkip = p.Name.Contains(".bn.", StringComparison.Ordinal) || p.Name.Contains("rbr_skip", StringComparison.Ordinal);
            for (int i = 0; i < p.Length; i++)
            {
                if (bnOrSkip)
                {
                    // Non-trivial γ, β so every BN term matters.
                    p.Value[i] = p.Name.EndsWith(".weight", StringComparison.Ordinal) ? 0.5f + (float)random.NextDouble() : (float)(random.NextDouble() - 0.5) * 0.4f;
                }
                else if (SingleTapScaleWeights(p))
                {
                    p.Value[i] = (random.Next(2) == 0 ? -1 : 1) * (0.3f + (float)random.NextDouble());
                }
            }
        }

        foreach (BatchNorm bn in net.BatchNorms)
        {
            bn.UpdateRunningStats = false;
        }

        float[] input = Enumerable.Range(0, batch * arch.InputLength).Select(_ => (float)(random.NextDouble() * 2 - 1)).ToArray();
        float[] projection = Enumerable.Range(0, batch * arch.NumClasses).Select(_ => (float)(random.NextDouble() * 2 - 1)).ToArray();
        byte[] labels = Enumerable.Range(0, batch).Select(i => (byte)(i % arch.NumClasses)).ToArray();

        // Loss = CE(logits) + Σ projection · logits: the net's own cross-entropy backward plus a direct, well-scaled term.
        double Loss()
        {
            ReadOnlySpan<float> logits = net.Forward(input, batch, training: true);
            double l = net.Loss(labels, out _);
            for (int i = 0; i < projection.Length; i++)
            {
                l += projection[i] * (double)logits[i];
            }

            return l;
        }

        double loss0 = Loss();
        Perturbable[] tensors = net.Parameters.Select(p => new Perturbable(p.Name, p.Length, i => p.Value[i], (i, v) => p.Value[i] = v)).ToArray();
        double noise = FiniteDifferences.MeasureNoise(Loss, tensors, random);

        // Gradients of both terms, accumulated: the cross-entropy through the net's Backward, the projection directly.
        net.ZeroGrad();
        net.Forward(input, batch, training: true);
        net.Loss(labels, out _);
        net.Backward(labels);
        net.BackwardFromLogits(projection);
        float[][] grads = net.Parameters.Select(p => (float[])p.Grad.Clone()).ToArray();
        _output.WriteLine(FormattableString.Invariant($"{name}: loss {loss0:F6}, rounding bound per evaluation {noise:E2} (measured x {FiniteDifferences.NoiseMargin})"));

        var failures = new List<string>();
        var kinds = new HashSet<string>();
        int checkedTensors = 0;
        for (int t = 0; t < tensors.Length; t++)
        {
            float[] analytic = grads[t];
            FiniteDifferences.Result result = FiniteDifferences.Check(tensors[t], i => analytic[i], Loss, noise, random, samples: 8);
            _output.WriteLine(result.Describe());
            checkedTensors++;
            if (result.Passed)
            {
                kinds.Add(Kind(result.Name)); // a kind counts as covered only once one of its tensors passed
            }
            else
            {
                failures.Add(result.Describe());
            }
        }

        Assert.True(failures.Count == 0, $"{failures.Count} of {checkedTensors} parameter tensors have wrong gradients:\n" + string.Join("\n", failures));
        Assert.Equal(net.Parameters.Count, checkedTensors);
        string[] expected = name == "k2-se"
            ? new[] { "rbr_conv.conv", "rbr_scale.conv", "rbr_skip", "bn", "se", "linear" }
            : new[] { "rbr_conv.conv", "rbr_scale.conv", "rbr_skip", "bn", "linear" };
        Assert.All(expected, k => Assert.Contains(k, kinds));
    }

    private static string Kind(string name) =>
        name.Contains(".se.", StringComparison.Ordinal) ? "se"
        : name.StartsWith("linear", StringComparison.Ordinal) ? "linear"
        : name.Contains("rbr_skip", StringComparison.Ordinal) ? "rbr_skip"
        : name.Contains("rbr_scale.conv", StringComparison.Ordinal) ? "rbr_scale.conv"
        : name.Contains("rbr_conv", StringComparison.Ordinal) && name.Contains(".conv.", StringComparison.Ordinal) ? "rbr_conv.conv"
        : "bn";
}
