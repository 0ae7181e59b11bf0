using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using MobileOne.Conversion.Quantization;
using MobileOne.TestSupport;
using Xunit;
using Xunit.Abstractions;

namespace MobileOne.TestSupport.Tests;

/// <summary>
/// <see cref="Int8Reference"/> against hand-computed values (docs/quantization.md, "The formulas") and, as a whole
/// network, against <see cref="DoubleReference"/> (the INT8 result must approximate the FP32 network it was quantized from).
/// </summary>
public class Int8ReferenceTests
{
    private readonly ITestOutputHelper _out;

    public Int8ReferenceTests(ITestOutputHelper output) => _out = output;

    [Fact]
    public void InputQuantizationRoundsHalfToEvenAndClampsToPlusMinus127()
    {
        const float inv = 2f; // s_input = 0.5
        (float X, sbyte Q)[] cases =
        {
            (0f, 0), (1.25f, 2), (1.75f, 4), (-1.25f, -2), (-1.75f, -4), (0.25f, 0), (0.75f, 2),
            (63.25f, 126), (63.75f, 127), (-63.75f, -127), (-64f, -127), (100f, 127), (-100f, -127), (-1e30f, -127), (1e30f, 127),
        };
        foreach ((float x, sbyte q) in cases)
        {
            Assert.True(q == Int8Reference.QuantizeInput(x, inv), $"x = {x.ToString(CultureInfo.InvariantCulture)}: expected {q}, got {Int8Reference.QuantizeInput(x, inv)}");
        }
    }

    [Fact]
    public void RequantizationRoundsHalfToEvenAndClampsTo0And255()
    {
        const float m = 0.5f;
        (int Acc, byte Q)[] cases =
        {
            (0, 0), (1, 0), (3, 2), (5, 2), (7, 4), (9, 4), (-1, 0), (-3, 0), (-1000, 0), (int.MinValue, 0),
            (508, 254), (509, 254), (510, 255), (511, 255), (600, 255), (int.MaxValue, 255),
        };
        foreach ((int acc, byte q) in cases)
        {
            Assert.True(q == Int8Reference.Requantize(acc, m), $"acc = {acc}: expected {q}, got {Int8Reference.Requantize(acc, m)}");
        }

        // The activation quantization after squeeze-excite: x * inv_out, clamp, round half to even.
        Assert.Equal(2, Int8Reference.QuantizeActivation(1.25f, 2f));
        Assert.Equal(4, Int8Reference.QuantizeActivation(1.75f, 2f));
        Assert.Equal(0, Int8Reference.QuantizeActivation(-3f, 2f));
        Assert.Equal(255, Int8Reference.QuantizeActivation(127.75f, 2f));
    }

    [Theory]
    // s_in, s_w, s_out (float bits), acc, the contract's byte, the byte a float-computed multiplier would give.
    // 1: m = (float)((double)s_in * s_w / s_out) gives y = 96.5 exactly → 96 (half to even; away from zero gives 97);
    //    the all-float m = s_in * s_w / s_out is one ulp higher: y = 96.500008 → 97.
    [InlineData(0x3d1de96au, 0x3b3e1005u, 0x3db135edu, 74682, 96, 97)]
    // 2: y = 169.5 → 170 (even); the float m is one ulp lower: 169.49998 → 169.
    [InlineData(0x3cb238e8u, 0x3c01bf3au, 0x3db7f443u, 88369, 170, 169)]
    public void TheMultiplierIsComputedInDoubleAndRoundedToFloatOnce(uint inBits, uint weightBits, uint outBits, int acc, byte expected, byte allFloat)
    {
        float sIn = BitConverter.UInt32BitsToSingle(inBits), sW = BitConverter.UInt32BitsToSingle(weightBits), sOut = BitConverter.UInt32BitsToSingle(outBits);
        float m = Int8Reference.Multiplier(sIn, sW, sOut);
        Assert.Equal(expected, Int8Reference.Requantize(acc, m));
        float floatOnly = sIn * sW / sOut;
        Assert.NotEqual(floatOnly, m);
        Assert.Equal(allFloat, Int8Reference.Requantize(acc, floatOnly));
        Assert.Equal((float)((double)sIn * sW), Int8Reference.DequantizeFactor(sIn, sW));
    }

    [Fact]
    public void StrideTwoConvolutionWithPaddingByHand()
    {
        // One 4x4 input channel (values 1..16), 3x3 stride 2 pad 1, two output channels → 2x2 each.
        int[] input = Enumerable.Range(1, 16).ToArray();
        var weight = new sbyte[18];
        for (int i = 0; i < 9; i++)
        {
            weight[i] = 1; // channel 0: window sums
        }

        weight[9 + 4] = -1; // channel 1: -centre
        weight[9 + 0] = 2;  //            + 2 x top-left
        int[] acc = Int8Reference.Accumulate(input, 1, 4, 4, weight, new[] { 10, 3 }, 2, 3, 2, 1, out int ho, out int wo);
        Assert.Equal((2, 2), (ho, wo));
        // Centres (0,0), (0,2), (2,0), (2,2): windows 1+2+5+6, 2+3+4+6+7+8, 5+6+9+10+13+14, 6+7+8+10+11+12+14+15+16;
        // channel 1: -1, -3, -9, -11 + 2 x 6 (the only top-left neighbour inside the image).
        Assert.Equal(new[] { 24, 40, 67, 109, 2, 0, -6, 4 }, acc);
        byte[] q = acc.Select((a, i) => Int8Reference.Requantize(a, i < 4 ? 0.25f : 0.5f)).ToArray();
        Assert.Equal(new byte[] { 6, 10, 17, 27, 1, 0, 0, 2 }, q); // 16.75 → 17, 27.25 → 27, 0.5 → 0 (even), -3 → 0
    }

    [Fact]
    public void PointwiseAndDepthwiseByHand()
    {
        // Pointwise: 3 input channels of 2 pixels (uint8 values), 2 output channels.
        int[] x = { 10, 200, 255, 0, 3, 7 };
        sbyte[] w = { 1, -1, 2, 0, 2, -3 };
        int[] acc = Int8Reference.Accumulate(x, 3, 1, 2, w, new[] { 5, -1 }, 2, 1, 1, 1, out _, out _);
        Assert.Equal(new[] { 5 + 10 - 255 + 6, 5 + 200 - 0 + 14, -1 + 0 + 510 - 9, -1 + 0 + 0 - 21 }, acc);

        // Depthwise (groups = channels): channel 0 copies its input (centre 1), channel 1 sums its 3x3 neighbourhood.
        int[] d = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 9, 8, 7, 6, 5, 4, 3, 2, 1 };
        var dw = new sbyte[18];
        dw[4] = 1;
        for (int i = 9; i < 18; i++)
        {
            dw[i] = 1;
        }

        int[] a = Int8Reference.Accumulate(d, 2, 3, 3, dw, new[] { 0, 100 }, 2, 3, 1, 2, out int ho, out int wo);
        Assert.Equal((3, 3), (ho, wo));
        Assert.Equal(d.Take(9), a.Take(9));
        // Channel 1 corners see 4 values, edges 6, the centre all 9 (45).
        Assert.Equal(new[] { 100 + 9 + 8 + 6 + 5, 100 + 9 + 8 + 7 + 6 + 5 + 4, 100 + 8 + 7 + 5 + 4, 100 + 45 - 7 - 4 - 1, 100 + 45, 100 + 45 - 9 - 6 - 3, 100 + 6 + 5 + 3 + 2, 100 + 6 + 5 + 4 + 3 + 2 + 1, 100 + 5 + 4 + 2 + 1 }, a.Skip(9));
    }

    [Theory]
    [InlineData(3, 1, 1, 1)] // one pixel
    [InlineData(3, 2, 1, 2)] // one column, stride 2
    [InlineData(3, 1, 5, 1)]
    [InlineData(3, 7, 6, 2)]
    [InlineData(3, 6, 7, 1)]
    [InlineData(1, 5, 3, 1)]
    public void AccumulateEqualsADirectSum(int kernel, int height, int width, int stride)
    {
        // Every output as the textbook sum over the kernel window with explicit bounds, for full, grouped and depthwise
        // convolutions on small, odd shapes (the reference computes the same sums in another loop order).
        var rng = new Random(kernel * 1000 + height * 100 + width * 10 + stride);
        foreach ((int cin, int cout, int groups) in new[] { (3, 4, 1), (4, 4, 4), (6, 4, 2) })
        {
            int[] x = Enumerable.Range(0, cin * height * width).Select(_ => rng.Next(-127, 256)).ToArray();
            int per = cin / groups;
            sbyte[] w = Enumerable.Range(0, cout * per * kernel * kernel).Select(_ => (sbyte)rng.Next(-127, 128)).ToArray();
            int[] b = Enumerable.Range(0, cout).Select(_ => rng.Next(-100000, 100000)).ToArray();
            int[] acc = Int8Reference.Accumulate(x, cin, height, width, w, b, cout, kernel, stride, groups, out int ho, out int wo);
            int pad = kernel / 2;
            Assert.Equal(((height + (2 * pad) - kernel) / stride) + 1, ho);
            Assert.Equal(((width + (2 * pad) - kernel) / stride) + 1, wo);
            for (int o = 0; o < cout; o++)
            {
                for (int oy = 0; oy < ho; oy++)
                {
                    for (int ox = 0; ox < wo; ox++)
                    {
                        long sum = b[o];
                        for (int i = 0; i < per; i++)
                        {
                            int c = ((o / (cout / groups)) * per) + i;
                            for (int ky = 0; ky < kernel; ky++)
                            {
                                for (int kx = 0; kx < kernel; kx++)
                                {
                                    int iy = (oy * stride) + ky - pad, ix = (ox * stride) + kx - pad;
                                    if (iy >= 0 && iy < height && ix >= 0 && ix < width)
                                    {
                                        sum += x[(((c * height) + iy) * width) + ix] * w[(((((o * per) + i) * kernel) + ky) * kernel) + kx];
                                    }
                                }
                            }
                        }

                        Assert.Equal(sum, acc[(((o * ho) + oy) * wo) + ox]);
                    }
                }
            }
        }
    }

    [Fact]
    public void AnAccumulatorOutsideInt32IsRefused()
    {
        int[] x = { 255, 255 };
        sbyte[] w = { 127, 127 };
        Assert.Throws<OverflowException>(() => Int8Reference.Accumulate(x, 2, 1, 1, w, new[] { int.MaxValue - 100 }, 1, 1, 1, 1, out _, out _));
    }

    [Fact]
    public void NetworkTraceFollowsTheFormulasLayerByLayer()
    {
        (MobileOneArchitecture arch, _, QuantizedNetwork net, float[][] inputs) = TinySe();
        var reference = new Int8Reference(net);
        Int8Trace t = reference.Trace(inputs[0]);
        Assert.Equal(arch.Layers().Count, t.Layers.Count);

        // Input: every value quantized with inv = 1f / s_input.
        float inv = 1f / net.InputScale;
        Assert.Equal(inputs[0].Select(v => Int8Reference.QuantizeInput(v, inv)), t.Input);

        // Each layer from the previous layer's bytes: plain layers requantize with m[o]; SE layers (the test network
        // has its SE expand weights zeroed, so the gate is sigmoid(expand bias) per channel) dequantize with d[o], apply
        // the gate and ReLU, then quantize with inv_out.
        int[] x = t.Input.Select(v => (int)v).ToArray();
        float sIn = net.InputScale;
        int seLayers = 0;
        foreach (Int8LayerOutput l in t.Layers)
        {
            QuantizedLayer q = net[l.Layer.Name];
            LayerInfo s = l.Layer;
            Assert.Equal(sIn, l.InputScale);
            int[] acc = Int8Reference.Accumulate(x, s.InChannels, s.InHeight, s.InWidth, q.Weight, q.Bias, s.OutChannels, s.KernelSize, s.Stride, s.Groups, out int ho, out int wo);
            int pixels = ho * wo;
            var expected = new byte[acc.Length];
            for (int i = 0; i < acc.Length; i++)
            {
                int o = i / pixels;
                if (s.HasSe)
                {
                    float gate = (float)(1.0 / (1.0 + Math.Exp(-net.FloatTensors[s.Name + ".se.expand.bias"][o])));
                    float f = (float)acc[i] * Int8Reference.DequantizeFactor(sIn, q.WeightScale[o]) * gate;
                    expected[i] = Int8Reference.QuantizeActivation(Math.Max(f, 0f), 1f / q.OutputScale);
                }
                else
                {
                    expected[i] = Int8Reference.Requantize(acc[i], Int8Reference.Multiplier(sIn, q.WeightScale[o], q.OutputScale));
                }
            }

            seLayers += s.HasSe ? 1 : 0;
            Assert.True(expected.SequenceEqual(l.Output), $"{s.Name}: the trace differs from the formulas");
            Assert.True(l.Output.Any(v => v > 0) && l.Output.Any(v => v == 0), $"{s.Name}: expected a live ReLU output");
            x = l.Output.Select(v => (int)v).ToArray();
            sIn = q.OutputScale;
        }

        Assert.True(seLayers >= 2);

        // Pool: (float)sum * (s_last / pixels); head: the FP32 linear layer.
        LayerInfo last = t.Layers[^1].Layer;
        int n = last.OutHeight * last.OutWidth;
        float k = sIn / n;
        for (int c = 0; c < last.OutChannels; c++)
        {
            long sum = 0;
            for (int p = 0; p < n; p++)
            {
                sum += t.Layers[^1].Output[(c * n) + p];
            }

            Assert.Equal((float)sum * k, t.Pooled[c]);
        }

        double[] logits = DoubleReference.Linear(t.Pooled.Select(v => (double)v).ToArray(), net.FloatTensors["linear.weight"], net.FloatTensors["linear.bias"], arch.NumClasses);
        Assert.Equal(logits.Select(v => (float)v), t.Logits);
        Assert.Equal(t.Logits, reference.Run(inputs[0]));
    }

    [Fact]
    public void IntegerNetworkApproximatesTheFloatNetwork()
    {
        // The INT8 network tracks the FP32 network it was quantized from, layer by layer (dequantized bytes against the
        // double reference): this catches an indexing, stride, padding, group or SE mistake the formula tests cannot.
        (MobileOneArchitecture arch, FusedWeights w, QuantizedNetwork net, float[][] inputs) = Odd();
        var reference = new Int8Reference(net);
        foreach (float[] x in inputs)
        {
            Int8Trace t = reference.Trace(x);
            ReferenceTrace d = DoubleReference.Trace(arch, w, x);
            double worst = 1;
            for (int i = 0; i < t.Layers.Count; i++)
            {
                double c = Cosine(t.Layers[i].Output.Select(v => v * (double)t.Layers[i].OutputScale).ToArray(), d.Layers[i].Output);
                worst = Math.Min(worst, c);
                Assert.True(c > 0.98, $"{t.Layers[i].Layer.Name}: cosine {c} between INT8 and FP32 outputs");
            }

            double logits = Cosine(t.Logits.Select(v => (double)v).ToArray(), d.Logits);
            _out.WriteLine(string.Create(CultureInfo.InvariantCulture, $"worst layer cosine {worst:F5}, logits cosine {logits:F5}"));
            Assert.True(logits > 0.99, $"logits cosine {logits}");
        }
    }

    [Fact]
    public void BatchRunsEqualSingleRunsBitForBit()
    {
        (MobileOneArchitecture arch, _, QuantizedNetwork net, _) = Odd();
        var reference = new Int8Reference(net);
        float[] batch = TestData.RandomBatch(arch, 6, 77);
        float[] logits = reference.RunBatch(batch, 6);
        float[] oneThread = reference.RunBatch(batch, 6, maxThreads: 1);
        Assert.Equal(logits, oneThread);
        for (int n = 0; n < 6; n++)
        {
            Assert.Equal(reference.Run(batch.AsSpan(n * arch.InputLength, arch.InputLength).ToArray()), logits.AsSpan(n * arch.NumClasses, arch.NumClasses).ToArray());
        }

        Assert.Throws<ArgumentException>(() => reference.RunBatch(batch, 5));
        Assert.Throws<ArgumentException>(() => reference.Run(new float[3]));
        Assert.Throws<KeyNotFoundException>(() => reference.Trace(batch.AsSpan(0, arch.InputLength).ToArray())["stage9.0"]);
    }

    [Fact]
    public void TestQuantizerKeepsThePairRule()
    {
        // Two same-sign weights of the largest magnitude in one pair: the scale grows to (a + b) / 128, and no pair of
        // the result sums beyond ±128 steps.
        float[] w = { 1.0f, 0.99f, -0.5f, 0.1f, -1.0f, -1.0f, -1.0f, 0.2f, 0.0f, 0.3f };
        (sbyte[] q, float[] s) = Int8TestQuantizer.QuantizeWeights(w, 2, 5);
        Assert.Equal((float)(((double)1.0f + 0.99f) / 128), s[0]);
        Assert.Equal(2f / 128, s[1]);
        for (int o = 0; o < 2; o++)
        {
            for (int i = 0; i < 5; i += 2)
            {
                int a = q[(o * 5) + i], b = i + 1 < 5 ? q[(o * 5) + i + 1] : 0;
                Assert.InRange(Math.Max(a, 0) + Math.Max(b, 0), 0, 128);
                Assert.InRange(Math.Min(a, 0) + Math.Min(b, 0), -128, 0);
            }
        }

        // 1 / (1.99 / 128) = 64.3 → 64, 0.99 → 63.7 → 64, -0.5 → -32.2 → -32, 0.1 → 6.4 → 6, -1 → -64; row 1 at 1/64 steps.
        Assert.Equal(new sbyte[] { 64, 64, -32, 6, -64, -64, -64, 13, 0, 19 }, q);
    }

    private static double Cosine(double[] a, double[] b)
    {
        double ab = 0, aa = 0, bb = 0;
        for (int i = 0; i < a.Length; i++)
        {
            ab += a[i] * b[i];
            aa += a[i] * a[i];
            bb += b[i] * b[i];
        }

        return ab / Math.Sqrt(aa * bb);
    }

    /// <summary>A small network with SE in stages 2–4 whose SE expand weights are zero (gate = sigmoid(bias)).</summary>
    private static (MobileOneArchitecture, FusedWeights, QuantizedNetwork, float[][]) TinySe()
    {
        var arch = new MobileOneArchitecture(3, 20, 18, 8, new[] { 8, 12, 16, 20 }, new[] { 1, 1, 1, 1 }, new[] { 0, 1, 1, 1 }, 5);
        FusedWeights w = FusedWeights.Random(arch, 12);
        foreach (LayerInfo l in arch.Layers().Where(l => l.HasSe))
        {
            Array.Clear(w[l.Name + ".se.expand.weight"]);
        }

        float[][] inputs = { TestData.RandomInput(arch, 1), TestData.RandomInput(arch, 2) };
        return (arch, w, Int8TestQuantizer.Quantize(arch, w, inputs), inputs);
    }

    /// <summary>Odd widths (an odd pointwise input pairs with padding), a non-square input and SE in stages 3–4.</summary>
    private static (MobileOneArchitecture, FusedWeights, QuantizedNetwork, float[][]) Odd()
    {
        var arch = new MobileOneArchitecture(3, 37, 45, 13, new[] { 21, 35, 50, 70 }, new[] { 1, 2, 2, 1 }, new[] { 0, 0, 1, 1 }, 10);
        FusedWeights w = FusedWeights.Random(arch, 21);
        float[][] calibration = { TestData.RandomInput(arch, 3), TestData.RandomInput(arch, 4), TestData.RandomInput(arch, 5) };
        return (arch, w, Int8TestQuantizer.Quantize(arch, w, calibration), new[] { TestData.RandomInput(arch, 6), TestData.RandomInput(arch, 7) });
    }
}
