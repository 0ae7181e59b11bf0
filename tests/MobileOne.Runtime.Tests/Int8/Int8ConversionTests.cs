using System;
using System.Collections.Generic;
using System.Linq;
using MobileOne.Runtime;
using Xunit;

namespace MobileOne.Runtime.Tests.Int8;

/// <summary>
/// The INT8 network's conversions at every level, bit-exact against <see cref="Int8Reference"/>: the stem's
/// requantization (and the whole INT8 stem: input quantization, the FP32 stem on integers, requantization), activation
/// quantization after squeeze-excite, global average pooling and feature maps.
/// </summary>
[Collection(SimdCollection.Name)]
public sealed unsafe class Int8ConversionTests
{
    public static IEnumerable<object[]> Levels() => Cases.WithLevels(new[] { Array.Empty<object>() });

    public static IEnumerable<object[]> PixelsAndChannels() => Cases.WithLevels(new[]
    {
        new object[] { 1, 1 },
        new object[] { 7, 15 },
        new object[] { 49, 130 },
        new object[] { 196, 17 },
        new object[] { 3136, 48 },
        new object[] { 12544, 32 },   // 112 x 112: large enough to be split across threads
    });

    [Int8Theory]
    [MemberData(nameof(PixelsAndChannels))]
    public void RequantizeAccumulatorsMatchesReference(SimdLevel level, int pixels, int channels)
    {
        var rng = new Random((pixels * 31) + channels);
        int cp = Int8Data.RoundUp16(channels);
        int[] sums = Int8Data.RandomInts(rng, channels * pixels, 500_000);
        int[] bias = Int8Data.RandomInts(rng, channels, 100_000);
        bias[0] = 16_777_000; // acc beyond 2^24: (float)acc must round to nearest even
        float[] m = Int8Data.Multipliers(rng, channels, 600_000);
        var acc = new int[sums.Length];
        for (int c = 0; c < channels; c++)
        {
            for (int p = 0; p < pixels; p++)
            {
                acc[(c * pixels) + p] = sums[(c * pixels) + p] + bias[c];
            }
        }

        byte[] expected = Int8Reference.RequantizeChw(acc, channels, pixels, m);
        using var x = new NativeArray<float>(Int8Data.ChwToNhwc16(sums.Select(v => (float)v).ToArray(), channels, pixels));
        using var b = new NativeArray<int>(Int8Data.Pad(bias, cp));
        using var s = new NativeArray<float>(Int8Data.Pad(m, cp));
        using var simd = new SimdScope(level);
        foreach (int threads in new[] { 1, 2 })
        {
            using var scope = new ThreadScope(threads);
            using var y = new NativeArray<byte>(pixels * cp);
            RequantizeAccumulators.Run(x.Ptr, pixels, cp, b.Ptr, s.Ptr, y.Ptr);
            y.AssertGuardsIntact();
            Int8Data.AssertBytesEqual(expected, Int8Data.Nhwc16ToChw<byte>(y.Data, channels, pixels), $"requantize {level}, {threads} thread(s)");
        }
    }

    [Int8Theory]
    [MemberData(nameof(Levels))]
    public void TheInt8StemMatchesTheIntegerReference(SimdLevel level)
    {
        // The stem as the network runs it: QuantizeInput, the FP32 StemConv3x3 on integer-valued input and weights with a
        // zero bias and no ReLU (exact: 27 products of at most 127 x 127), then RequantizeAccumulators.
        const int inChannels = 3, height = 17, width = 14, outChannels = 48, stride = 2;
        var rng = new Random(3);
        float[] image = Enumerable.Range(0, inChannels * height * width).Select(_ => (float)((rng.NextDouble() * 6) - 3)).ToArray();
        const float inv = 1f / 0.0207f;
        int[] q = image.Select(v => (int)Int8Reference.QuantizeInput(v, inv)).ToArray();
        sbyte[] weights = Int8Data.RandomWeights(rng, outChannels * inChannels * 9);
        int[] bias = Int8Data.RandomInts(rng, outChannels, 100_000);
        int[] acc = Int8Reference.StemSums(q, inChannels, height, width, weights, bias, outChannels, stride, out int oh, out int ow);
        float[] m = Int8Data.Multipliers(rng, outChannels, acc.Max(a => Math.Abs((long)a)));
        byte[] expected = Int8Reference.RequantizeChw(acc, outChannels, oh * ow, m);

        int cp = Int8Data.RoundUp16(outChannels);
        var packed = new float[PackedSize.Stem(outChannels, inChannels)];
        WeightPacking.PackStem(weights.Select(w => (float)w).ToArray(), outChannels, inChannels, packed);
        var quantized = new float[image.Length];
        var sums = new float[oh * ow * cp];
        var output = new byte[oh * ow * cp];
        using (new SimdScope(level))
        {
            QuantizeInput.Run(image, inv, quantized);
            StemConv3x3.Run(quantized, inChannels, height, width, packed, new float[cp], sums, cp, oh, ow, stride, relu: false);
            RequantizeAccumulators.Run(sums, oh * ow, cp, Int8Data.Pad(bias, cp), Int8Data.Pad(m, cp), output);
        }

        Int8Data.AssertBytesEqual(expected, Int8Data.Nhwc16ToChw<byte>(output, outChannels, oh * ow), $"int8 stem {level}");
    }

    [Int8Theory]
    [MemberData(nameof(Levels))]
    public void QuantizeInputMatchesReference(SimdLevel level)
    {
        var rng = new Random(11);
        const float inv = 1f / 0.0207f;
        var values = new List<float> { 0f, -0f, -0.001f, 0.001f, 1e9f, -1e9f, 2.6f, -2.6f, 2.63f, -2.63f };
        for (int k = -130; k <= 130; k++)
        {
            values.Add((k + 0.5f) / inv); // near ties (x * inv rounds)
        }

        while (values.Count < (3 * 19 * 7) + 3)
        {
            values.Add((float)((rng.NextDouble() * 8) - 4));
        }

        values.AddRange(new[] { -0.3f / inv, -0.5f / inv, -0f }); // the scalar tail (count % 16) too must write +0
        float[] x = values.ToArray();
        float[] expected = x.Select(v => Int8Reference.QuantizeInput(v, inv)).ToArray();
        float[] ties = Enumerable.Range(-260, 521).Select(k => k / 2f).Concat(new[] { -0.5f, -0.25f, -0f }).ToArray(); // exact halves with inv = 1
        float[] expectedTies = ties.Select(v => Int8Reference.QuantizeInput(v, 1f)).ToArray();
        using (new SimdScope(level))
        {
            var y = new float[x.Length];
            QuantizeInput.Run(x, inv, y);
            Int8Data.AssertBitsEqual(expected, y, $"quantize input {level}");
            var t = new float[ties.Length];
            QuantizeInput.Run(ties, 1f, t);
            Int8Data.AssertBitsEqual(expectedTies, t, $"quantize input ties {level}");
            QuantizeInput.Run(ties, 1f, ties); // in place
            Int8Data.AssertBitsEqual(expectedTies, ties, $"quantize input in place {level}");
        }
    }

    [Int8Theory]
    [MemberData(nameof(PixelsAndChannels))]
    public void QuantizeActivationsMatchesReference(SimdLevel level, int pixels, int channels)
    {
        var rng = new Random((pixels * 17) + channels);
        const float inv = 1f / 0.031f;
        float[] chw = Enumerable.Range(0, channels * pixels).Select(i => (i % 7) switch
        {
            0 => (((i % 600) - 50) + 0.5f) / inv,   // near ties of x * inv
            1 => -0f,
            _ => (float)((rng.NextDouble() * 10) - 2),
        }).ToArray();
        byte[] expected = chw.Select(v => Int8Reference.QuantizeActivation(v, inv)).ToArray();
        int cp = Int8Data.RoundUp16(channels);
        var output = new byte[pixels * cp];
        var ties = Enumerable.Range(0, 16 * 33).Select(i => (i % 520) / 2f - 2f).ToArray(); // exact halves with inv = 1
        var tieBytes = new byte[ties.Length];
        using (new SimdScope(level))
        {
            QuantizeActivations.Run(Int8Data.ChwToNhwc16(chw, channels, pixels), pixels, cp, inv, output);
            QuantizeActivations.Run(ties, 33, 16, 1f, tieBytes);
        }

        Int8Data.AssertBytesEqual(expected, Int8Data.Nhwc16ToChw<byte>(output, channels, pixels), $"quantize activations {level}");
        Int8Data.AssertBytesEqual(ties.Select(v => Int8Reference.QuantizeActivation(v, 1f)).ToArray(), tieBytes, $"quantize activation ties {level}");
    }

    [Int8Theory]
    [MemberData(nameof(PixelsAndChannels))]
    public void GlobalAvgPoolMatchesReference(SimdLevel level, int pixels, int channels)
    {
        var rng = new Random(pixels + channels);
        byte[] chw = Int8Data.RandomBytes(rng, channels * pixels);
        AssertPool(level, chw, pixels, channels, 0.044f / pixels);
    }

    [Int8Theory]
    [MemberData(nameof(Levels))]
    public void GlobalAvgPoolSumsStayExactBeyond2To24(SimdLevel level)
    {
        // 520 x 520 pixels of 255 sum to 68,952,000, and each of the kernel's four float accumulators would pass 2^24 on
        // its own (where odd partial sums no longer fit): the float partial sums must be flushed to integers in time.
        const int pixels = 520 * 520, channels = 17;
        byte[] chw = Enumerable.Range(0, channels * pixels).Select(i => i < pixels * 16 ? (byte)255 : (byte)(i % 251)).ToArray();
        AssertPool(level, chw, pixels, channels, 0.05f / pixels);
    }

    [Fact]
    public void FeatureMapMatchesReference()
    {
        var rng = new Random(5);
        const int pixels = 49, channels = 130;
        const float scale = 0.027f;
        byte[] chw = Int8Data.RandomBytes(rng, channels * pixels);
        float[] expected = chw.Select(q => q * scale).ToArray();
        var output = new float[channels * pixels];
        FeatureMapInt8ToChw.Run(Int8Data.ChwToNhwc16(chw, channels, pixels), pixels, channels, Int8Data.RoundUp16(channels), scale, output);
        Int8Data.AssertBitsEqual(expected, output, "feature map");
        PointwiseConvInt8Tests.AssertParam("output", () => FeatureMapInt8ToChw.Run(new byte[pixels * 144], pixels, channels, 144, scale, new float[(channels * pixels) + 1]));
        PointwiseConvInt8Tests.AssertParam("input", () => FeatureMapInt8ToChw.Run(new byte[(pixels * 144) - 1], pixels, channels, 144, scale, output));
    }

    [Fact]
    public void SpansThatAreTooShortAreRejectedByName()
    {
        PointwiseConvInt8Tests.AssertParam("input", () => RequantizeAccumulators.Run(new float[31], 2, 16, new int[16], new float[16], new byte[32]));
        PointwiseConvInt8Tests.AssertParam("bias", () => RequantizeAccumulators.Run(new float[32], 2, 16, new int[15], new float[16], new byte[32]));
        PointwiseConvInt8Tests.AssertParam("multipliers", () => RequantizeAccumulators.Run(new float[32], 2, 16, new int[16], new float[15], new byte[32]));
        PointwiseConvInt8Tests.AssertParam("output", () => RequantizeAccumulators.Run(new float[32], 2, 16, new int[16], new float[16], new byte[31]));
        PointwiseConvInt8Tests.AssertParam("output", () => QuantizeInput.Run(new float[20], 1f, new float[19]));
        PointwiseConvInt8Tests.AssertParam("input", () => QuantizeActivations.Run(new float[31], 2, 16, 1f, new byte[32]));
        PointwiseConvInt8Tests.AssertParam("output", () => QuantizeActivations.Run(new float[32], 2, 16, 1f, new byte[31]));
        PointwiseConvInt8Tests.AssertParam("input", () => GlobalAvgPoolInt8.Run(new byte[31], 2, 16, 1f, new float[16]));
        PointwiseConvInt8Tests.AssertParam("output", () => GlobalAvgPoolInt8.Run(new byte[32], 2, 16, 1f, new float[15]));
    }

    private static void AssertPool(SimdLevel level, byte[] chw, int pixels, int channels, float k)
    {
        var expected = new float[Int8Data.RoundUp16(channels)];
        for (int c = 0; c < channels; c++)
        {
            int sum = 0;
            for (int p = 0; p < pixels; p++)
            {
                sum += chw[(c * pixels) + p];
            }

            expected[c] = (float)sum * k;
        }

        int cp = Int8Data.RoundUp16(channels);
        using var x = new NativeArray<byte>(Int8Data.ChwToNhwc16(chw, channels, pixels));
        using var y = new NativeArray<float>(cp);
        using (new SimdScope(level))
        {
            GlobalAvgPoolInt8.Run(x.Ptr, pixels, cp, k, y.Ptr);
        }

        y.AssertGuardsIntact();
        Int8Data.AssertBitsEqual(expected, y.ToArray(), $"int8 global pool {level} {pixels}px");
    }
}
