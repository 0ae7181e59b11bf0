using System;
using System.Collections.Generic;
using System.IO;
using System.Text;
using MobileOne.Runtime;
using Xunit;

namespace MobileOne.Runtime.Tests;

/// <summary>
/// Generated forward passes slice each packed tensor with its own length (<c>w.Slice(offset, length)</c>), and
/// <see cref="WeightPacking.PackAll"/> packs each row of the tensor table into its own range: a layer that would
/// read or write past its tensor is stopped by a length check instead of running on into the next tensor.
/// </summary>
public sealed class BoundedWeightSliceTests
{
    [Fact]
    public void KernelRejectsABoundedWeightSliceTooShortForTheLayer()
    {
        // Two packed tensors back to back: a 16 -> 16 pointwise weight (256 floats), then its bias (16 floats).
        float[] packed = new float[256 + 16];
        float[] input = new float[4 * 16];
        float[] output = new float[4 * 32];
        ReadOnlySpan<float> w = packed;

        // A layer that believes it has 32 output channels needs 512 weight floats. The open-ended slice lets it run
        // into the bias and beyond the array's end only by chance of the buffer size; the bounded slice is caught.
        var e = Assert.Throws<ArgumentException>(() => PointwiseConv.Run(
            input, pixels: 4, inChannels: 16, inChannelsPadded: 16,
            weights: packed.AsSpan(0, 256), bias: packed.AsSpan(256, 16), output: output, outChannelsPadded: 32, relu: true));
        Assert.Equal("weights", e.ParamName);
        Assert.Contains("512", e.Message, StringComparison.Ordinal);

        // The right shape over the same bounded slices runs.
        PointwiseConv.Run(input, pixels: 4, inChannels: 16, inChannelsPadded: 16, weights: w.Slice(0, 256), bias: w.Slice(256, 16), output: output.AsSpan(0, 4 * 16), outChannelsPadded: 16, relu: true);
    }

    [Fact]
    public void PackAllPacksEachRowIntoItsRangeLikeTheSingleTensorPackers()
    {
        float[] weight = Sequence(32 * 16, 1);
        float[] bias = Sequence(32, 1000);
        using WeightReader reader = Reader(("stage1.1.reparam_conv.weight", new[] { 32, 16, 1, 1 }, weight), ("stage1.1.reparam_conv.bias", new[] { 32 }, bias));
        var table = new List<TensorDescriptor>
        {
            new("stage1.1.reparam_conv.weight", new[] { 32, 16, 1, 1 }, TensorPacking.Pointwise, 0, PackedSize.Pointwise(32, 16)),
            new("stage1.1.reparam_conv.bias", new[] { 32 }, TensorPacking.Bias, 512, PackedSize.Bias(32)),
        };

        float[] packed = new float[512 + 32];
        WeightPacking.PackAll(reader, table, packed);

        float[] expected = new float[512 + 32];
        WeightPacking.PackPointwise(weight, 32, 16, expected.AsSpan(0, 512));
        WeightPacking.PackBias(bias, 32, expected.AsSpan(512, 32));
        Assert.Equal(expected, packed);
    }

    [Fact]
    public void PackAllRejectsARangeTooShortForItsPackedLayout()
    {
        float[] weight = Sequence(32 * 16, 1);
        using WeightReader reader = Reader(("stage1.1.reparam_conv.weight", new[] { 32, 16, 1, 1 }, weight));
        var table = new[] { new TensorDescriptor("stage1.1.reparam_conv.weight", new[] { 32, 16, 1, 1 }, TensorPacking.Pointwise, 0, 511) };
        float[] packed = new float[1024];

        var e = Assert.Throws<ArgumentException>(() => WeightPacking.PackAll(reader, table, packed));
        Assert.Equal("dst", e.ParamName);
        Assert.All(packed.AsSpan(511).ToArray(), v => Assert.Equal(0f, v));
    }

    [Fact]
    public void PackAllRejectsARangeOutsideTheBuffer()
    {
        using WeightReader reader = Reader(("stage1.1.reparam_conv.bias", new[] { 16 }, Sequence(16, 1)));
        var table = new[] { new TensorDescriptor("stage1.1.reparam_conv.bias", new[] { 16 }, TensorPacking.Bias, 8, 16) };
        Assert.Throws<ArgumentOutOfRangeException>(() => WeightPacking.PackAll(reader, table, new float[16]));
    }

    [Fact]
    public void PackAllRejectsAShapeOfTheWrongRankForItsPacking()
    {
        using WeightReader reader = Reader(("stage1.1.reparam_conv.weight", new[] { 16, 16 }, Sequence(256, 1)));
        var table = new[] { new TensorDescriptor("stage1.1.reparam_conv.weight", new[] { 16, 16 }, TensorPacking.Pointwise, 0, 256) };
        var e = Assert.Throws<ArgumentException>(() => WeightPacking.PackAll(reader, table, new float[256]));
        Assert.Contains("stage1.1.reparam_conv.weight", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void DescriptorWithoutPackingIsSkippedAndDefaultsToNone()
    {
        var plain = new TensorDescriptor("x", new[] { 4 });
        Assert.Equal(TensorPacking.None, plain.Packing);
        Assert.Equal(-1, plain.PackedOffset);
        Assert.Equal(0, plain.PackedLength);
        Assert.Throws<ArgumentOutOfRangeException>(() => new TensorDescriptor("x", new[] { 4 }, TensorPacking.Bias, -1, 16));
    }

    private static float[] Sequence(int n, float start)
    {
        var a = new float[n];
        for (int i = 0; i < n; i++)
        {
            a[i] = start + i;
        }

        return a;
    }

    /// <summary>An in-memory F32 safetensors file, opened with its own tensors as the expected list.</summary>
    private static WeightReader Reader(params (string Name, int[] Shape, float[] Data)[] tensors)
    {
        var header = new StringBuilder("{");
        long offset = 0;
        var expected = new List<TensorDescriptor>();
        foreach (var (name, shape, data) in tensors)
        {
            if (header.Length > 1)
            {
                header.Append(',');
            }

            long end = offset + (data.Length * 4L);
            header.Append(System.FormattableString.Invariant($"\"{name}\":{{\"dtype\":\"F32\",\"shape\":[{string.Join(",", shape)}],\"data_offsets\":[{offset},{end}]}}"));
            offset = end;
            expected.Add(new TensorDescriptor(name, shape));
        }

        header.Append('}');
        while ((header.Length % 8) != 0)
        {
            header.Append(' ');
        }

        byte[] json = Encoding.UTF8.GetBytes(header.ToString());
        var stream = new MemoryStream();
        stream.Write(BitConverter.GetBytes((ulong)json.Length));
        stream.Write(json);
        foreach (var (_, _, data) in tensors)
        {
            byte[] bytes = new byte[data.Length * 4];
            Buffer.BlockCopy(data, 0, bytes, 0, bytes.Length);
            stream.Write(bytes);
        }

        stream.Position = 0;
        return WeightReader.FromStream(stream, expected);
    }
}
