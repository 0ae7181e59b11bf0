using System;
using System.Collections.Generic;
using System.Linq;
using MobileOne.Training;
using Xunit;
using Xunit.Abstractions;

namespace MobileOne.Training.Tests;

/// <summary>
/// Backward passes against central finite differences of the forward pass (float, with a smooth random projection
/// of the logits as the loss so every gradient has a useful scale): every parameter tensor of small nets that hold
/// each layer type — stem (conv + scale), depthwise s1/s2 (k convs + scale + skip), pointwise (k convs, skip), BN,
/// SE, linear, cross-entropy.
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

    [Theory]
    [MemberData(nameof(Nets))]
    public void Parameter_gradients_match_finite_differences(string name)
    {
        var (arch, batch) = Net(name);
        var net = new MobileOneNet(arch, seed: 7);
        var random = new Random(11);
        foreach (Parameter p in net.Parameters.Where(p => p.Name.Contains(".bn.", StringComparison.Ordinal) || p.Name.Contains("rbr_skip", StringComparison.Ordinal)))
        {
            // Non-trivial γ, β so every BN term matters.
            for (int i = 0; i < p.Length; i++)
            {
                p.Value[i] = p.Name.EndsWith(".weight", StringComparison.Ordinal) ? 0.5f + (float)random.NextDouble() : (float)(random.NextDouble() - 0.5) * 0.4f;
            }
        }

        foreach (BatchNorm bn in net.BatchNorms)
        {
            bn.UpdateRunningStats = false;
        }

        float[] input = Enumerable.Range(0, batch * arch.InputLength).Select(_ => (float)(random.NextDouble() * 2 - 1)).ToArray();
        float[] projection = Enumerable.Range(0, batch * arch.NumClasses).Select(_ => (float)(random.NextDouble() * 2 - 1)).ToArray();
        byte[] labels = Enumerable.Range(0, batch).Select(i => (byte)(i % arch.NumClasses)).ToArray();

        // Loss = CE(logits) + Σ projection · logits: cross-entropy's backward plus a direct, well-scaled term.
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

        Loss();
        net.ZeroGrad();
        {
            net.Forward(input, batch, training: true);
            net.Loss(labels, out _);
            int k = arch.NumClasses;
            var probs = new float[batch * k];
            ReadOnlySpan<float> logits = net.Logits;
            for (int i = 0; i < batch; i++)
            {
                float max = float.NegativeInfinity;
                for (int j = 0; j < k; j++) max = Math.Max(max, logits[(i * k) + j]);
                double sum = 0;
                for (int j = 0; j < k; j++) sum += Math.Exp(logits[(i * k) + j] - max);
                for (int j = 0; j < k; j++)
                {
                    float p = (float)(Math.Exp(logits[(i * k) + j] - max) / sum);
                    probs[(i * k) + j] = ((p - (j == labels[i] ? 1f : 0f)) / batch) + projection[(i * k) + j];
                }
            }

            net.BackwardFromLogits(probs);
        }

        var failures = new List<string>();
        var kinds = new HashSet<string>();
        foreach (Parameter p in net.Parameters)
        {
            float[] analytic = (float[])p.Grad.Clone();
            var result = FiniteDifferences.Check(Loss, i => analytic[i], p.Length, i => p.Value[i], (i, v) => p.Value[i] = v, random, 1e-3f, samples: 8);
            kinds.Add(Kind(p.Name));
            string line = FormattableString.Invariant($"{p.Name,-40} {result.Agree}/{result.Total} agree, worst rel err {result.WorstRel:E2}");
            _output.WriteLine(line);
            if (!FiniteDifferences.Passes(result))
            {
                failures.Add(line);
            }
        }

        // Every tensor type is represented; a wrong backward fails all its entries, a ReLU kink crossed by the step only a few.
        Assert.True(failures.Count <= net.Parameters.Count / 20, "Gradients off:\n" + string.Join("\n", failures));
        Assert.Contains("rbr_conv.conv", kinds);
        Assert.Contains("rbr_scale.conv", kinds);
        Assert.Contains("rbr_skip", kinds);
        Assert.Contains("linear", kinds);
        if (name == "k2-se")
        {
            Assert.Contains("se", kinds);
        }
    }

    private static string Kind(string name) =>
        name.Contains(".se.", StringComparison.Ordinal) ? "se"
        : name.StartsWith("linear", StringComparison.Ordinal) ? "linear"
        : name.Contains("rbr_skip", StringComparison.Ordinal) ? "rbr_skip"
        : name.Contains("rbr_scale.conv", StringComparison.Ordinal) ? "rbr_scale.conv"
        : name.Contains("rbr_conv", StringComparison.Ordinal) && name.Contains(".conv.", StringComparison.Ordinal) ? "rbr_conv.conv"
        : "bn";
}
