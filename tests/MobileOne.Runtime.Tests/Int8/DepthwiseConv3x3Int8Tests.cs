using System;
using System.Collections.Generic;
using System.Linq;
using MobileOne.Runtime;
using Xunit;

namespace MobileOne.Runtime.Tests.Int8;

/// <summary><see cref="DepthwiseConv3x3Int8"/> at every level, bit-exact against <see cref="Int8Reference"/>, with 1 and 2 threads.</summary>
[Collection(SimdCollection.Name)]
public sealed unsafe class DepthwiseConv3x3Int8Tests
{
    private static readonly object[][] s_shapes =
    {
        // channels, height, width, stride
        new object[] { 1, 1, 1, 1 },
        new object[] { 15, 1, 1, 2 },
        new object[] { 15, 2, 2, 1 },
        new object[] { 16, 2, 2, 2 },
        new object[] { 17, 7, 5, 1 },
        new object[] { 48, 8, 6, 2 },
        new object[] { 130, 7, 7, 1 },
        new object[] { 130, 13, 11, 2 },
        new object[] { 17, 1, 7, 2 },
        new object[] { 15, 9, 1, 1 },
        new object[] { 16, 14, 14, 1 },
        new object[] { 48, 28, 28, 1 },   // threads split the rows
        new object[] { 48, 29, 27, 2 },
        new object[] { 96, 17, 16, 2 },   // stride-2 row pairs and a last single row
        new object[] { 512, 14, 14, 1 },  // MobileOne-S1's 14x14 layers
    };

    public static IEnumerable<object[]> Shapes() => Cases.WithLevels(
        from shape in s_shapes
        from dequantize in new[] { false, true }
        select shape.Append(dequantize).ToArray());

    public static IEnumerable<object[]> Strides() => Cases.WithLevels(new[] { new object[] { 1 }, new object[] { 2 } });

    [Int8Theory]
    [MemberData(nameof(Shapes))]
    public void MatchesReference(SimdLevel level, int channels, int height, int width, int stride, bool dequantize)
    {
        var rng = new Random((channels * 1000) + (height * 37) + (width * 11) + stride);
        byte[] input = Int8Data.RandomBytes(rng, channels * height * width);
        sbyte[] weights = Int8Data.RandomWeights(rng, channels * 9);
        int[] bias = Int8Data.RandomInts(rng, channels, 50_000);
        int[] acc = Int8Reference.DepthwiseSums(input, channels, height, width, weights, bias, stride, out int oh, out int ow);
        float[] scale = Int8Data.Multipliers(rng, channels, acc.Max(a => Math.Abs((long)a)));
        AssertMatches(level, input, channels, height, width, weights, bias, scale, stride, acc, oh, ow, dequantize);
    }

    [Int8Theory]
    [MemberData(nameof(Strides))]
    public void ExtremeValuesStayExact(SimdLevel level, int stride)
    {
        // All activations 255 and weights +-127: nine products of 32,385 per output, and a bias near the int32 limits of
        // what a float holds exactly, so (float)acc must round (to nearest even) exactly as the contract's int conversion.
        const int channels = 48, height = 9, width = 10;
        byte[] input = Enumerable.Repeat((byte)255, channels * height * width).ToArray();
        sbyte[] weights = Enumerable.Range(0, channels * 9).Select(i => (sbyte)((i / 9 % 3) switch { 0 => 127, 1 => -127, _ => (i % 2 == 0 ? 127 : -127) })).ToArray();
        int[] bias = Enumerable.Range(0, channels).Select(c => (c % 4) switch { 0 => 0, 1 => 16_777_217, 2 => -16_777_219, _ => 123 }).ToArray();
        int[] acc = Int8Reference.DepthwiseSums(input, channels, height, width, weights, bias, stride, out int oh, out int ow);
        float[] ones = Enumerable.Repeat(1f, channels).ToArray();
        AssertMatches(level, input, channels, height, width, weights, bias, ones, stride, acc, oh, ow, dequantize: true);
        float[] m = Enumerable.Range(0, channels).Select(c => (c % 5) switch { 0 => 1f / 1024, 1 => 0.5f, 2 => 1e6f, 3 => 3e4f, _ => 1e-5f }).ToArray();
        AssertMatches(level, input, channels, height, width, weights, bias, m, stride, acc, oh, ow, dequantize: false);
    }

    [Int8Theory]
    [MemberData(nameof(Strides))]
    public void WeightsBeyondInt8StillMatchTheScalarLevel(SimdLevel level, int stride)
    {
        // An integer weight outside [-128, 127] (not int8, yet every sum stays exact in float) cannot be packed for the
        // AVX-VNNI path, which then leaves the call to the float path: every level writes the scalar level's bytes.
        const int cp = 32, height = 9, width = 10;
        var rng = new Random(stride);
        byte[] input = Int8Data.RandomBytes(rng, height * width * cp);
        float[] weights = Enumerable.Range(0, 9 * cp).Select(_ => (float)rng.Next(-127, 128)).ToArray();
        weights[(4 * cp) + 5] = 300f;
        int[] bias = Int8Data.RandomInts(rng, cp, 50_000);
        float[] m = Enumerable.Repeat(1f / 4096, cp).ToArray();
        int oh = ((height - 1) / stride) + 1, ow = ((width - 1) / stride) + 1;
        Assert.Equal(Run(SimdLevel.Scalar), Run(level));

        byte[] Run(SimdLevel at)
        {
            using var simd = new SimdScope(at);
            byte[] y = new byte[oh * ow * cp];
            DepthwiseConv3x3Int8.Run(input, height, width, cp, weights, bias, m, y, oh, ow, stride);
            return y;
        }
    }

    [Fact]
    public void SpansThatAreTooShortAreRejectedByName()
    {
        const int h = 3, w = 4, cp = 32, oh = 2, ow = 2, stride = 2;
        byte[] input = new byte[h * w * cp];
        float[] weights = new float[9 * cp];
        int[] bias = new int[cp];
        float[] m = new float[cp];
        byte[] output = new byte[oh * ow * cp];
        float[] floats = new float[oh * ow * cp];
        DepthwiseConv3x3Int8.Run(input, h, w, cp, weights, bias, m, output, oh, ow, stride);
        DepthwiseConv3x3Int8.RunDequantized(input, h, w, cp, weights, bias, m, floats, oh, ow, stride);

        PointwiseConvInt8Tests.AssertParam("input", () => DepthwiseConv3x3Int8.Run(input.AsSpan(1), h, w, cp, weights, bias, m, output, oh, ow, stride));
        PointwiseConvInt8Tests.AssertParam("weights", () => DepthwiseConv3x3Int8.Run(input, h, w, cp, weights.AsSpan(1), bias, m, output, oh, ow, stride));
        PointwiseConvInt8Tests.AssertParam("bias", () => DepthwiseConv3x3Int8.Run(input, h, w, cp, weights, bias.AsSpan(1), m, output, oh, ow, stride));
        PointwiseConvInt8Tests.AssertParam("multipliers", () => DepthwiseConv3x3Int8.Run(input, h, w, cp, weights, bias, m.AsSpan(1), output, oh, ow, stride));
        PointwiseConvInt8Tests.AssertParam("output", () => DepthwiseConv3x3Int8.Run(input, h, w, cp, weights, bias, m, output.AsSpan(1), oh, ow, stride));
        PointwiseConvInt8Tests.AssertParam("scales", () => DepthwiseConv3x3Int8.RunDequantized(input, h, w, cp, weights, bias, m.AsSpan(1), floats, oh, ow, stride));
        PointwiseConvInt8Tests.AssertParam("output", () => DepthwiseConv3x3Int8.RunDequantized(input, h, w, cp, weights, bias, m, floats.AsSpan(1), oh, ow, stride));
        Assert.Equal("outHeight", Assert.Throws<ArgumentOutOfRangeException>(() => DepthwiseConv3x3Int8.Run(input, h, w, cp, weights, bias, m, new byte[3 * ow * cp], 3, ow, stride)).ParamName);
    }

    private static void AssertMatches(
        SimdLevel level, byte[] input, int channels, int height, int width, sbyte[] weights, int[] bias, float[] scale, int stride,
        int[] acc, int oh, int ow, bool dequantize)
    {
        int cp = Int8Data.RoundUp16(channels);
        using var packed = new NativeArray<float>(Int8Packing.PackedDepthwiseLength(channels));
        Int8Packing.PackDepthwise(weights, channels, packed.Data);
        byte[] nhwc = Int8Data.ChwToNhwc16(input, channels, height * width);
        using var x = new NativeArray<byte>(nhwc);
        using var b = new NativeArray<int>(Int8Data.Pad(bias, cp));
        using var s = new NativeArray<float>(Int8Data.Pad(scale, cp));
        using var simd = new SimdScope(level);
        foreach (int threads in new[] { 1, 2 })
        {
            string what = $"depthwise int8 {level} {channels}x{height}x{width} stride {stride}, {threads} thread(s)";
            using var scope = new ThreadScope(threads);
            if (dequantize)
            {
                using var y = new NativeArray<float>(oh * ow * cp);
                DepthwiseConv3x3Int8.RunDequantized(x.Ptr, height, width, cp, packed.Ptr, b.Ptr, s.Ptr, y.Ptr, oh, ow, stride);
                y.AssertGuardsIntact();
                Int8Data.AssertBitsEqual(Int8Reference.DequantizeChw(acc, channels, oh * ow, scale), Int8Data.Nhwc16ToChw<float>(y.Data, channels, oh * ow), what);
            }
            else
            {
                using var y = new NativeArray<byte>(oh * ow * cp);
                DepthwiseConv3x3Int8.Run(x.Ptr, height, width, cp, packed.Ptr, b.Ptr, s.Ptr, y.Ptr, oh, ow, stride);
                y.AssertGuardsIntact();
                Int8Data.AssertBytesEqual(Int8Reference.RequantizeChw(acc, channels, oh * ow, scale), Int8Data.Nhwc16ToChw<byte>(y.Data, channels, oh * ow), what);
            }

            Assert.Equal(nhwc, x.ToArray());
        }
    }
}
