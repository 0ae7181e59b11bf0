using System;
using System.Globalization;
using System.Linq;
using System.Reflection;
using MobileOne.Training;
using Xunit;
using Xunit.Abstractions;

namespace MobileOne.Training.Tests;

/// <summary>
/// The head of <see cref="MobileOneNet"/> on its own: global average pool → linear → mean softmax cross-entropy, and
/// <see cref="MobileOneNet.Backward"/>'s gradients with respect to the linear weight, the linear bias and the head's
/// input (the gradient handed to the last block), all against a plain double-precision implementation written here:
/// <list type="bullet">
/// <item>forward: features = mean over pixels of the last block's output, z = W f + b, L = mean_i (logsumexp(z_i) − z_i[y_i]);</item>
/// <item>closed form: D = (softmax(z) − onehot(y)) / B, ∂L/∂b = Σ_i D_i, ∂L/∂W = Dᵀ F, ∂L/∂f = D W, ∂L/∂(block output) = ∂L/∂f / pixels;</item>
/// <item>the closed form is itself checked against double central differences of the double loss, entry by entry;</item>
/// <item>and the net's W and b gradients against central differences of the net's own float forward and loss.</item>
/// </list>
/// </summary>
public sealed unsafe class LinearCrossEntropyGradientTests
{
    private readonly ITestOutputHelper _output;

    public LinearCrossEntropyGradientTests(ITestOutputHelper output) => _output = output;

    // 1x72x40 → last feature map 3x2 (6 pixels, so the pooling's 1/pixels matters), 32 features, 7 classes.
    private static readonly TrainingArchitecture Arch = new(1, 72, 40, 16, new[] { 16, 16, 16, 32 }, new[] { 1, 1, 1, 1 }, new[] { 0, 0, 0, 0 }, 7, 1);

    private const int Batch = 5;

    /// <param name="logitScale">Multiplier on the linear weights and bias: 1 gives logits below 1; 200 gives logits beyond
    /// ±100, where a softmax without the max shift overflows float (e^88.7) and the probabilities saturate.</param>
    [Theory]
    [InlineData(1.0)]
    [InlineData(200.0)]
    public void Linear_and_cross_entropy_gradients_match_the_double_reference(double logitScale)
    {
        var net = new MobileOneNet(Arch, seed: 3);
        var random = new Random(17);
        for (int i = 0; i < net.LinearWeight.Length; i++)
        {
            net.LinearWeight.Value[i] = (float)(net.LinearWeight.Value[i] * logitScale);
        }

        for (int i = 0; i < net.LinearBias.Length; i++)
        {
            net.LinearBias.Value[i] = (float)((random.NextDouble() - 0.5) * logitScale);
        }

        foreach (BatchNorm bn in net.BatchNorms)
        {
            bn.UpdateRunningStats = false;
        }

        float[] input = Enumerable.Range(0, Batch * Arch.InputLength).Select(_ => (float)(random.NextDouble() * 2 - 1)).ToArray();
        byte[] labels = { 3, 0, 6, 3, 1 }; // a repeated class, the first and the last class

        int k = Arch.NumClasses, c = Arch.FeatureChannels;
        BlockInfo last = net.Blocks[^1].Info;
        int pixels = last.OutHeight * last.OutWidth;
        Assert.Equal(6, pixels);

        // Forward in the net, then the reference forward in double from the last block's output.
        float[] logits = net.Forward(input, Batch, training: true).ToArray();
        double loss = net.Loss(labels, out int correct);
        float[] blockOut = net.Blocks[^1].Output.AsSpan((long)Batch * pixels * c).ToArray();
        double[] f = new double[Batch * c];
        for (int i = 0; i < Batch; i++)
        {
            for (int p = 0; p < pixels; p++)
            {
                for (int ch = 0; ch < c; ch++)
                {
                    f[(i * c) + ch] += blockOut[(((i * pixels) + p) * c) + ch] / (double)pixels;
                }
            }
        }

        double[] w = Array.ConvertAll(net.LinearWeight.Value, v => (double)v);
        double[] b = Array.ConvertAll(net.LinearBias.Value, v => (double)v);
        double[] z = Logits(w, b, f);
        double maxAbsZ = z.Max(Math.Abs);
        _output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"scale {logitScale}: max |logit| {maxAbsZ:F2}, loss {loss:F6}, {correct}/{Batch} correct"));
        Assert.True(f.Any(v => v != 0), "the last block's output is all zero: the head would see nothing");

        // The net's logits: float sums of 32 products, so within 1e-6 of Σ|W f| (≤ 1e-5 · max|z| + 1e-6 here).
        AssertClose(z, logits.Select(v => (double)v).ToArray(), 1e-5 * maxAbsZ + 1e-6, "logits");

        // The net's loss and top-1 count against the double definition (the loss is summed in double from float logits).
        double refLoss = CrossEntropy(z, labels);
        Assert.True(Math.Abs(loss - refLoss) <= 1e-5 * maxAbsZ + 1e-6, $"loss {loss:R} vs double reference {refLoss:R}");
        int refCorrect = Enumerable.Range(0, Batch).Count(i => ArgMax(z.AsSpan(i * k, k)) == labels[i]);
        Assert.Equal(refCorrect, correct);

        // Closed form in double.
        double[] d = new double[Batch * k];
        for (int i = 0; i < Batch; i++)
        {
            double[] prob = Softmax(z.AsSpan(i * k, k));
            for (int j = 0; j < k; j++)
            {
                d[(i * k) + j] = (prob[j] - (j == labels[i] ? 1 : 0)) / Batch;
            }
        }

        double[] gb = new double[k], gw = new double[k * c], gf = new double[Batch * c];
        for (int i = 0; i < Batch; i++)
        {
            for (int j = 0; j < k; j++)
            {
                gb[j] += d[(i * k) + j];
                for (int ch = 0; ch < c; ch++)
                {
                    gw[(j * c) + ch] += d[(i * k) + j] * f[(i * c) + ch];
                    gf[(i * c) + ch] += d[(i * k) + j] * w[(j * c) + ch];
                }
            }
        }

        // The closed form against double central differences of the double loss (h = 1e-6: truncation ~h² · L''' and
        // rounding ~1e-16 · L / h, both below 1e-9; allowed 1e-7 + 1e-6 relative).
        CheckClosedFormByDoubleDifferences(gw, x => CrossEntropy(Logits(x, b, f), labels), w, "∂L/∂W");
        CheckClosedFormByDoubleDifferences(gb, x => CrossEntropy(Logits(w, x, f), labels), b, "∂L/∂b");
        CheckClosedFormByDoubleDifferences(gf, x => CrossEntropy(Logits(w, b, x), labels), f, "∂L/∂f");

        // The net's backward (from a fresh forward, so nothing left over) against the closed form. Float: the
        // probabilities come from float logits (|Δz| within the tolerance above, so |Δp| ≤ that), and the products
        // and sums run in float; 1e-5 · max|z| + 1e-6 of the largest entry bounds both with room.
        net.ZeroGrad();
        net.Forward(input, Batch, training: true);
        net.Loss(labels, out _);
        net.Backward(labels);
        float[] lastGrad = LastBlockOutputGrad(net, Batch * pixels * c);
        double tol = 1e-5 * Math.Max(1, maxAbsZ) + 1e-6;
        AssertClose(gb, net.LinearBias.Grad.Select(v => (double)v).ToArray(), tol * gb.Max(Math.Abs), "linear.bias gradient");
        AssertClose(gw, net.LinearWeight.Grad.Select(v => (double)v).ToArray(), tol * gw.Max(Math.Abs), "linear.weight gradient");
        double[] gOut = new double[Batch * pixels * c];
        for (int i = 0; i < Batch; i++)
        {
            for (int p = 0; p < pixels; p++)
            {
                for (int ch = 0; ch < c; ch++)
                {
                    gOut[(((i * pixels) + p) * c) + ch] = gf[(i * c) + ch] / pixels;
                }
            }
        }

        AssertClose(gOut, lastGrad.Select(v => (double)v).ToArray(), tol * gOut.Max(Math.Abs), "gradient handed to the last block (∂L/∂f / pixels)");

        // And the net's W and b gradients against central differences of the net's own float forward + loss. The loss
        // is smooth in W and b (the blocks do not depend on them), so every entry of both is checked.
        float[] analyticW = (float[])net.LinearWeight.Grad.Clone(), analyticB = (float[])net.LinearBias.Grad.Clone();
        double Loss()
        {
            net.Forward(input, Batch, training: true);
            return net.Loss(labels, out _);
        }

        Perturbable[] tensors =
        {
            new(net.LinearWeight.Name, net.LinearWeight.Length, i => net.LinearWeight.Value[i], (i, v) => net.LinearWeight.Value[i] = v),
            new(net.LinearBias.Name, net.LinearBias.Length, i => net.LinearBias.Value[i], (i, v) => net.LinearBias.Value[i] = v),
        };
        double noise = FiniteDifferences.MeasureNoise(Loss, tensors, random);
        foreach ((Perturbable t, float[] g) in new[] { (tensors[0], analyticW), (tensors[1], analyticB) })
        {
            FiniteDifferences.Result r = FiniteDifferences.Check(t, i => g[i], Loss, noise, random, samples: t.Length);
            _output.WriteLine(r.Describe());
            Assert.True(r.Passed, r.Describe());
            Assert.Equal(t.Length, r.Entries.Count);
        }
    }

    /// <summary>∂L/∂(last block output) as computed by <see cref="MobileOneNet.BackwardFromLogits"/> (its private buffer).</summary>
    private static float[] LastBlockOutputGrad(MobileOneNet net, int length)
    {
        FieldInfo? field = typeof(MobileOneNet).GetField("_lastGrad", BindingFlags.NonPublic | BindingFlags.Instance);
        Assert.True(field is not null, "MobileOneNet no longer has the _lastGrad buffer this test reads the head's input gradient from; update the test.");
        var buffer = (FloatBuffer)field!.GetValue(net)!;
        return buffer.AsSpan(length).ToArray();
    }

    private static void CheckClosedFormByDoubleDifferences(double[] closedForm, Func<double[], double> loss, double[] at, string what)
    {
        const double h = 1e-6;
        double[] x = (double[])at.Clone();
        double worst = 0;
        for (int i = 0; i < x.Length; i++)
        {
            double saved = x[i];
            x[i] = saved + h;
            double plus = loss(x);
            x[i] = saved - h;
            double minus = loss(x);
            x[i] = saved;
            double numeric = (plus - minus) / (2 * h);
            double err = Math.Abs(numeric - closedForm[i]);
            worst = Math.Max(worst, err);
            Assert.True(err <= 1e-7 + (1e-6 * Math.Abs(numeric)),
                string.Create(CultureInfo.InvariantCulture, $"{what}[{i}]: closed form {closedForm[i]:E6}, double central difference {numeric:E6}"));
        }

        Assert.Contains(closedForm, v => Math.Abs(v) > 1e-4); // not trivially zero
    }

    private void AssertClose(double[] expected, double[] actual, double tolerance, string what)
    {
        Assert.Equal(expected.Length, actual.Length);
        int worstAt = 0;
        double worst = 0;
        for (int i = 0; i < expected.Length; i++)
        {
            double e = Math.Abs(actual[i] - expected[i]);
            if (!(e <= worst))
            {
                worst = e;
                worstAt = i;
            }
        }

        string line = string.Create(CultureInfo.InvariantCulture,
            $"{what}: max |Δ| {worst:E3} at [{worstAt}] (net {actual[worstAt]:E6}, double reference {expected[worstAt]:E6}), tolerance {tolerance:E3}");
        _output.WriteLine(line);
        Assert.True(worst <= tolerance, line);
    }

    private static double[] Logits(double[] w, double[] b, double[] f)
    {
        int k = b.Length, c = w.Length / k, n = f.Length / c;
        double[] z = new double[n * k];
        for (int i = 0; i < n; i++)
        {
            for (int j = 0; j < k; j++)
            {
                double s = b[j];
                for (int ch = 0; ch < c; ch++)
                {
                    s += w[(j * c) + ch] * f[(i * c) + ch];
                }

                z[(i * k) + j] = s;
            }
        }

        return z;
    }

    private static double CrossEntropy(double[] z, byte[] labels)
    {
        int n = labels.Length, k = z.Length / n;
        double total = 0;
        for (int i = 0; i < n; i++)
        {
            ReadOnlySpan<double> zi = z.AsSpan(i * k, k);
            double max = double.NegativeInfinity;
            foreach (double v in zi)
            {
                max = Math.Max(max, v);
            }

            double sum = 0;
            foreach (double v in zi)
            {
                sum += Math.Exp(v - max);
            }

            total += max + Math.Log(sum) - zi[labels[i]];
        }

        return total / n;
    }

    private static double[] Softmax(ReadOnlySpan<double> z)
    {
        double max = double.NegativeInfinity;
        foreach (double v in z)
        {
            max = Math.Max(max, v);
        }

        double[] p = new double[z.Length];
        double sum = 0;
        for (int j = 0; j < z.Length; j++)
        {
            p[j] = Math.Exp(z[j] - max);
            sum += p[j];
        }

        for (int j = 0; j < z.Length; j++)
        {
            p[j] /= sum;
        }

        return p;
    }

    private static int ArgMax(ReadOnlySpan<double> z)
    {
        int arg = 0;
        for (int j = 1; j < z.Length; j++)
        {
            if (z[j] > z[arg])
            {
                arg = j;
            }
        }

        return arg;
    }
}
