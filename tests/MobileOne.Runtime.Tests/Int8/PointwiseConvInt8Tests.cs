using System;
using System.Collections.Generic;
using System.Linq;
using MobileOne.Runtime;
using Xunit;

namespace MobileOne.Runtime.Tests.Int8;

/// <summary>
/// <see cref="PointwiseConvInt8"/> on every instruction set this CPU has, bit-exact against <see cref="Int8Reference"/>:
/// odd shapes, pixel and channel splits with 1 and 2 threads, extreme values, and the pair rule's reason to exist.
/// </summary>
[Collection(SimdCollection.Name)]
public sealed unsafe class PointwiseConvInt8Tests
{
    private static readonly object[][] s_shapes =
    {
        // pixels, inChannels, outChannels
        new object[] { 1, 1, 1 },
        new object[] { 7, 15, 17 },
        new object[] { 49, 16, 48 },
        new object[] { 196, 17, 130 },
        new object[] { 3136, 48, 16 },    // several 192 KB chunks? no: one chunk; a pixel split across threads
        new object[] { 49, 130, 15 },
        new object[] { 7, 48, 130 },
        new object[] { 1, 130, 48 },
        new object[] { 196, 1, 16 },
        new object[] { 13, 130, 130 },    // row tails of every tile (13 = 8 + 5 = 6 + 6 + 1 = 4 x 3 + 1)
        new object[] { 196, 130, 130 },   // a pixel split across threads
        new object[] { 49, 130, 520 },    // weights outweigh activations: a split by output channels
        new object[] { 3136, 16, 17 },
        new object[] { 4100, 48, 33 },    // 4100 x 48 bytes: two L2 chunks
    };

    public static IEnumerable<object[]> Shapes() => Int8Cases.WithIsas(
        from shape in s_shapes
        from dequantize in new[] { false, true }
        select shape.Append(dequantize).ToArray());

    public static IEnumerable<object[]> IsasOnly() => Int8Cases.Isas().Select(isa => new object[] { isa });

    public static IEnumerable<object[]> LevelShapes() => Cases.WithLevels(new[]
    {
        new object[] { 7, 48, 130 },
        new object[] { 196, 17, 33 },
    });

    [Int8Theory]
    [MemberData(nameof(Shapes))]
    public void MatchesReference(Int8Isa isa, int pixels, int inChannels, int outChannels, bool dequantize)
    {
        var rng = new Random((pixels * 7919) + (inChannels * 101) + outChannels);
        byte[] input = Int8Data.RandomBytes(rng, inChannels * pixels);
        sbyte[] weights = Int8Data.PairSafeWeights(rng, outChannels, inChannels);
        int[] bias = Int8Data.RandomInts(rng, outChannels, 30_000);
        int[] acc = Int8Reference.PointwiseSums(input, pixels, inChannels, weights, bias, outChannels);
        float[] scale = Int8Data.Multipliers(rng, outChannels, acc.Max(a => Math.Abs((long)a)));
        AssertMatches(isa, input, pixels, inChannels, weights, bias, scale, outChannels, acc, dequantize);
    }

    [Int8Theory]
    [MemberData(nameof(IsasOnly))]
    public void AllMaxActivationsWithPairSumsOfExactly128DoNotSaturate(Int8Isa isa)
    {
        // Every activation 255 and every pair at the rule's limit: 255 x 128 = 32,640 per vpmaddubsw lane, the most the
        // AVX2 and AVX-512BW paths ever see. Channels 0 mod 3 have only +128 pairs, 1 mod 3 only -128 pairs, the rest mix
        // them with lone +-127 weights; the sums reach +-2,121,600 (130 channels), exact in float too.
        (int, int)[] positive = { (127, 1), (1, 127), (64, 64), (100, 28), (0, 127), (127, 0) };
        (int, int)[] negative = { (-127, -1), (-1, -127), (-64, -64), (-28, -100), (-127, 0) };
        (int, int)[] mixed = { (127, -127), (-127, 127), (64, 64), (-64, -64), (127, 1), (-1, -127) };
        const int pixels = 49, inChannels = 130, outChannels = 48;
        var weights = new sbyte[outChannels * inChannels];
        for (int o = 0; o < outChannels; o++)
        {
            (int, int)[] pattern = (o % 3) switch { 0 => positive, 1 => negative, _ => mixed };
            for (int j = 0; j < inChannels / 2; j++)
            {
                (int a, int b) = pattern[(o + j) % pattern.Length];
                weights[(o * inChannels) + (2 * j)] = (sbyte)a;
                weights[(o * inChannels) + (2 * j) + 1] = (sbyte)b;
            }
        }

        Assert.Equal((-1, -1), Int8Packing.FindPairOverflow(weights, outChannels, inChannels));
        byte[] input = Enumerable.Repeat((byte)255, inChannels * pixels).ToArray();
        int[] bias = Enumerable.Range(0, outChannels).Select(o => (o - 24) * 1000).ToArray();
        int[] acc = Int8Reference.PointwiseSums(input, pixels, inChannels, weights, bias, outChannels);
        Assert.Contains(acc, a => a > 2_000_000);
        Assert.Contains(acc, a => a < -2_000_000);

        // Dequantized with d = 1 the output is the int32 sum itself (exact in float below 2^24).
        float[] ones = Enumerable.Repeat(1f, outChannels).ToArray();
        AssertMatches(isa, input, pixels, inChannels, weights, bias, ones, outChannels, acc, dequantize: true);
        float[] m = Enumerable.Range(0, outChannels).Select(o => (o % 4) switch { 0 => 0.5f, 1 => 1f / 8192, 2 => 1.2e-4f, _ => 1f / 16384 }).ToArray();
        AssertMatches(isa, input, pixels, inChannels, weights, bias, m, outChannels, acc, dequantize: false);

        // Multipliers that put y = acc * m far outside int32 (an integer conversion of it would overflow): 255 or 0.
        float[] huge = Enumerable.Range(0, outChannels).Select(o => (o % 3) switch { 0 => 1e6f, 1 => 3e4f, _ => 1e-9f }).ToArray();
        AssertMatches(isa, input, pixels, inChannels, weights, bias, huge, outChannels, acc, dequantize: false);
    }

    [Int8Theory]
    [MemberData(nameof(IsasOnly))]
    public void APairBeyond128SaturatesOnlyOnTheMaddubswPaths(Int8Isa isa)
    {
        // Why the pair rule exists: 255 x 127 + 255 x 127 = 64,770 does not fit vpmaddubsw's int16, which saturates at
        // 32,767. VNNI (vpdpbusd) and the scalar loops add in int32 and get it right; the AVX2 and AVX-512BW paths rely
        // on the loader rejecting such weights (Int8Packing.FindPairOverflow).
        const int inChannels = 4, outChannels = 1;
        sbyte[] weights = { 127, 127, 0, 0 };
        Assert.Equal((0, 0), Int8Packing.FindPairOverflow(weights, outChannels, inChannels));
        byte[] input = { 255, 255, 255, 255 };
        var packed = new sbyte[Int8Packing.PackedPointwiseLength(outChannels, inChannels)];
        Int8Packing.PackPointwise(weights, outChannels, inChannels, packed);
        var output = new float[16];
        PointwiseConvInt8.RunDequantized(
            Int8Data.Pad(input, 16), 1, inChannels, 16, packed, new int[16], Int8Data.Pad(new[] { 1f }, 16), output, 16, isa);

        float expected = isa is Int8Isa.Avx2 or Int8Isa.Avx512BW ? short.MaxValue : 2 * 255 * 127;
        Assert.Equal(expected, output[0]);
    }

    [Int8Theory]
    [MemberData(nameof(LevelShapes))]
    public void TheDefaultInstructionSetOfEveryLevelMatchesReference(SimdLevel level, int pixels, int inChannels, int outChannels)
    {
        var rng = new Random(pixels + inChannels + outChannels);
        byte[] input = Int8Data.RandomBytes(rng, inChannels * pixels);
        sbyte[] weights = Int8Data.PairSafeWeights(rng, outChannels, inChannels);
        int[] bias = Int8Data.RandomInts(rng, outChannels, 30_000);
        int[] acc = Int8Reference.PointwiseSums(input, pixels, inChannels, weights, bias, outChannels);
        float[] m = Int8Data.Multipliers(rng, outChannels, acc.Max(a => Math.Abs((long)a)));
        int cinP = Int8Data.RoundUp16(inChannels), coutP = Int8Data.RoundUp16(outChannels);
        var packed = new sbyte[Int8Packing.PackedPointwiseLength(outChannels, inChannels)];
        Int8Packing.PackPointwise(weights, outChannels, inChannels, packed);
        var output = new byte[pixels * coutP];
        var floats = new float[pixels * coutP];
        using (new SimdScope(level))
        {
            PointwiseConvInt8.Run(Int8Data.ChwToNhwc16(input, inChannels, pixels), pixels, inChannels, cinP, packed, Int8Data.Pad(bias, coutP), Int8Data.Pad(m, coutP), output, coutP);
            PointwiseConvInt8.RunDequantized(Int8Data.ChwToNhwc16(input, inChannels, pixels), pixels, inChannels, cinP, packed, Int8Data.Pad(bias, coutP), Int8Data.Pad(m, coutP), floats, coutP);
        }

        Int8Data.AssertBytesEqual(Int8Reference.RequantizeChw(acc, outChannels, pixels, m), Int8Data.Nhwc16ToChw<byte>(output, outChannels, pixels), $"pointwise int8 at {level}");
        Int8Data.AssertBitsEqual(Int8Reference.DequantizeChw(acc, outChannels, pixels, m), Int8Data.Nhwc16ToChw<float>(floats, outChannels, pixels), $"dequantized pointwise int8 at {level}");
    }

    [Fact]
    public void SpansThatAreTooShortAreRejectedByName()
    {
        const int pixels = 3, cin = 20, cinP = 32, coutP = 32;
        byte[] input = new byte[pixels * cinP];
        sbyte[] weights = new sbyte[coutP * cinP];
        int[] bias = new int[coutP];
        float[] m = new float[coutP];
        byte[] output = new byte[pixels * coutP];
        float[] floats = new float[pixels * coutP];
        PointwiseConvInt8.Run(input, pixels, cin, cinP, weights, bias, m, output, coutP);
        PointwiseConvInt8.RunDequantized(input, pixels, cin, cinP, weights, bias, m, floats, coutP);

        AssertParam("input", () => PointwiseConvInt8.Run(input.AsSpan(1), pixels, cin, cinP, weights, bias, m, output, coutP));
        AssertParam("weights", () => PointwiseConvInt8.Run(input, pixels, cin, cinP, weights.AsSpan(1), bias, m, output, coutP));
        AssertParam("bias", () => PointwiseConvInt8.Run(input, pixels, cin, cinP, weights, bias.AsSpan(1), m, output, coutP));
        AssertParam("multipliers", () => PointwiseConvInt8.Run(input, pixels, cin, cinP, weights, bias, m.AsSpan(1), output, coutP));
        AssertParam("output", () => PointwiseConvInt8.Run(input, pixels, cin, cinP, weights, bias, m, output.AsSpan(1), coutP));
        AssertParam("input", () => PointwiseConvInt8.RunDequantized(input.AsSpan(1), pixels, cin, cinP, weights, bias, m, floats, coutP));
        AssertParam("weights", () => PointwiseConvInt8.RunDequantized(input, pixels, cin, cinP, weights.AsSpan(1), bias, m, floats, coutP));
        AssertParam("bias", () => PointwiseConvInt8.RunDequantized(input, pixels, cin, cinP, weights, bias.AsSpan(1), m, floats, coutP));
        AssertParam("scales", () => PointwiseConvInt8.RunDequantized(input, pixels, cin, cinP, weights, bias, m.AsSpan(1), floats, coutP));
        AssertParam("output", () => PointwiseConvInt8.RunDequantized(input, pixels, cin, cinP, weights, bias, m, floats.AsSpan(1), coutP));
        Assert.Equal("inChannelsPadded", Assert.Throws<ArgumentOutOfRangeException>(() => PointwiseConvInt8.Run(input, pixels, 40, cinP, weights, bias, m, output, coutP)).ParamName);
        Assert.Equal("outChannelsPadded", Assert.Throws<ArgumentOutOfRangeException>(() => PointwiseConvInt8.Run(input, pixels, cin, cinP, weights, bias, m, output, 8)).ParamName);
        Assert.Equal("pixels", Assert.Throws<ArgumentOutOfRangeException>(() => PointwiseConvInt8.Run(input, 0, cin, cinP, weights, bias, m, output, coutP)).ParamName);
    }

    internal static void AssertParam(string name, Action action) =>
        Assert.Equal(name, Assert.Throws<ArgumentException>(action).ParamName);

    /// <summary>Packs, runs <paramref name="isa"/> with 1 and 2 threads, and compares with the reference sums' epilogue, bit for bit.</summary>
    private static void AssertMatches(
        Int8Isa isa, byte[] input, int pixels, int inChannels, sbyte[] weights, int[] bias, float[] scale, int outChannels, int[] acc, bool dequantize)
    {
        int cinP = Int8Data.RoundUp16(inChannels), coutP = Int8Data.RoundUp16(outChannels);
        using var packed = new NativeArray<sbyte>(Int8Packing.PackedPointwiseLength(outChannels, inChannels));
        Int8Packing.PackPointwise(weights, outChannels, inChannels, packed.Data);
        byte[] nhwc = Int8Data.ChwToNhwc16(input, inChannels, pixels);
        using var x = new NativeArray<byte>(nhwc);
        using var b = new NativeArray<int>(Int8Data.Pad(bias, coutP));
        using var s = new NativeArray<float>(Int8Data.Pad(scale, coutP));
        foreach (int threads in new[] { 1, 2 })
        {
            string what = $"pointwise int8 {isa} {pixels}px {inChannels}->{outChannels}, {threads} thread(s)";
            using var scope = new ThreadScope(threads);
            if (dequantize)
            {
                using var y = new NativeArray<float>(pixels * coutP);
                PointwiseConvInt8.RunDequantized(x.Data, pixels, inChannels, cinP, packed.Data, b.Data, s.Data, y.Data, coutP, isa);
                y.AssertGuardsIntact();
                Int8Data.AssertBitsEqual(Int8Reference.DequantizeChw(acc, outChannels, pixels, scale), Int8Data.Nhwc16ToChw<float>(y.Data, outChannels, pixels), what);
            }
            else
            {
                using var y = new NativeArray<byte>(pixels * coutP);
                PointwiseConvInt8.Run(x.Data, pixels, inChannels, cinP, packed.Data, b.Data, s.Data, y.Data, coutP, isa);
                y.AssertGuardsIntact();
                Int8Data.AssertBytesEqual(Int8Reference.RequantizeChw(acc, outChannels, pixels, scale), Int8Data.Nhwc16ToChw<byte>(y.Data, outChannels, pixels), what);
            }

            Assert.Equal(nhwc, x.ToArray());
        }
    }
}
