using System;
using System.Collections.Generic;
using System.Linq;
using MobileOne.Model;
using Xunit;

namespace MobileOne.Model.Tests;

/// <summary>Architecture JSON, dtypes and the packed layout.</summary>
public class FormatTests
{
    [Fact]
    public void Json_written_for_a_shape_reads_back_as_that_shape()
    {
        var widths = new Dictionary<string, int>();
        var custom = new NetworkShape(1, 40, 36, 16, new[] { 16, 32, 48, 64 }, new[] { 1, 2, 3, 1 }, new[] { 0, 1, 2, 0 }, 10, widths);
        string json = ArchitectureJson.Write(custom, new[] { 0.5f }, new[] { 0.25f }, new[] { "a \"b\"", "é<" });
        Assert.Equal(
            "{\"inputChannels\": 1, \"inputSize\": [40, 36], \"stemChannels\": 16, \"stageChannels\": [16, 32, 48, 64], \"stageBlocks\": [1, 2, 3, 1], " +
            "\"seBlocks\": [0, 1, 2, 0], \"numClasses\": 10, \"mean\": [0.5], \"std\": [0.25], \"labels\": [\"a \\\"b\\\"\", \"\\u00E9\\u003C\"]}",
            json);
        var errors = new List<ArchitectureJsonError>();
        ArchitectureDocument doc = ArchitectureJson.Read(json, errors)!;
        Assert.Empty(errors);
        Assert.Equal(custom, doc.ToShape());
        Assert.Equal(new[] { "a \"b\"", "é<" }, doc.Labels);
        Assert.Equal(System.Text.Json.JsonSerializer.Serialize("é<+&'"), Escaped("é<+&'"));

        Assert.StartsWith("{\"variant\": \"s4\", ", ArchitectureJson.Write(Presets.Get("s4")!));
    }

    [Theory]
    [InlineData("{\"inputSize\": 16}", "Invalid", 1, 15, "'inputSize' must be a whole number from 32 to 8192, not 16")]
    [InlineData("{\"variant\": \"s9\"}", "UnknownVariant", 1, 13, "s9")]
    [InlineData("{\"stageBlocks\": [1, 1, 1, 1],\n \"seBlocks\": [0, 2, 0, 0]}", "Invalid", 2, 14, "stage 2 has 1 blocks but 'seBlocks' asks for 2")]
    [InlineData("{\"colour\": 1}", "Invalid", 1, 12, "unknown property 'colour'")]
    [InlineData("{\"mean\": [", "Syntax", 1, 11, "")]
    public void Json_errors_say_what_and_where(string json, string kind, int line, int column, string fragment)
    {
        var errors = new List<ArchitectureJsonError>();
        Assert.Null(ArchitectureJson.Read(json, errors));
        ArchitectureJsonError e = Assert.Single(errors);
        Assert.Equal((kind, line, column), (e.Kind.ToString(), e.Line, e.Column));
        Assert.Contains(fragment, e.Message);
    }

    [Fact]
    public void Every_half_widens_exactly_as_System_Half_does()
    {
        for (int h = 0; h <= ushort.MaxValue; h++)
        {
            float expected = (float)BitConverter.UInt16BitsToHalf((ushort)h), actual = DTypes.HalfToSingle((ushort)h);
            Assert.True(BitConverter.SingleToInt32Bits(expected) == BitConverter.SingleToInt32Bits(actual), $"0x{h:X4}: {expected} vs {actual}");
        }
    }

    [Fact]
    public void Widening_reads_unaligned_little_endian_bytes_of_each_float_type()
    {
        float[] values = { 1.5f, -2.25f, 0f, 65280f }; // each exact in F32, F16 and BF16
        byte[] f32 = new byte[1 + 16];
        for (int i = 0; i < 4; i++)
        {
            BitConverter.TryWriteBytes(f32.AsSpan(1 + 4 * i), values[i]);
        }

        float[] dst = new float[4];
        DTypes.Widen(f32.AsSpan(1), "F32", dst);
        Assert.Equal(values, dst);
        byte[] f16 = values.SelectMany(v => BitConverter.GetBytes(BitConverter.HalfToUInt16Bits((Half)v))).ToArray();
        DTypes.Widen(f16, "F16", dst);
        Assert.Equal(values, dst);
        byte[] bf16 = values.SelectMany(v => BitConverter.GetBytes((ushort)(BitConverter.SingleToInt32Bits(v) >> 16))).ToArray();
        DTypes.Widen(bf16, "BF16", dst);
        Assert.Equal(values, dst);
        Assert.Throws<ArgumentException>(() => DTypes.Widen(f16, "I8", dst));
        Assert.Equal((4, 2, 2, 1, 0), (DTypes.Size("F32"), DTypes.Size("BF16"), DTypes.Size("F16"), DTypes.Size("F8_E4M3"), DTypes.Size("Q4")));
    }

    [Fact]
    public void Packed_regions_are_contiguous_64_byte_aligned_and_sized_as_documented()
    {
        NetworkShape s4 = Presets.Get("s4")!;
        IReadOnlyList<PackedRegion> regions = PackedLayout.Regions(s4);
        long offset = 0;
        foreach (PackedRegion r in regions)
        {
            Assert.Equal(offset, r.Offset);
            Assert.Equal(0, r.Offset % 16);
            offset += r.Length;
        }

        // Hand-computed: stem [64/16][3][3][3][16] = 1728; stage1.0 depthwise [9][64] = 576; stage1.1 pointwise [192/16][64][16] = 12288;
        // stage3.19's SE reduce [56][896]; the head [2048][1008].
        Assert.Equal(1728, regions.Single(r => r.Name == "Stage0_Weight").Length);
        Assert.Equal(576, regions.Single(r => r.Name == "Stage1_0_Weight").Length);
        Assert.Equal(12288, regions.Single(r => r.Name == "Stage1_1_Weight").Length);
        Assert.Equal(56 * 896, regions.Single(r => r.Name == "Stage3_19_SeReduceWeight").Length);
        Assert.Equal(64, regions.Single(r => r.Name == "Stage3_19_SeReduceBias").Length);
        Assert.Equal(2048 * 1008, regions.Single(r => r.Name == "Linear_Weight").Length);
        Assert.Equal("linear.bias", regions[^1].Tensor);
    }

    private static string Escaped(string s)
    {
        var sb = new System.Text.StringBuilder();
        ArchitectureJson.AppendString(sb, s);
        return sb.ToString();
    }
}
