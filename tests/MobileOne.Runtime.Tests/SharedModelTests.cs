using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Text;
using MobileOne.Formats.Safetensors;
using MobileOne.Model;
using MobileOne.Runtime;
using Xunit;

namespace MobileOne.Runtime.Tests;

/// <summary>
/// The runtime on the shared model (<c>src/Shared/Model</c>): <see cref="WeightReader"/> applies
/// <see cref="TensorNames.Canonicalize"/>'s naming rule and widens through <see cref="DTypes"/>, and
/// <see cref="PackedSize"/> is <see cref="PackedLayout"/> with int range checks.
/// </summary>
public sealed class SharedModelTests
{
    private static readonly TensorDescriptor[] TinyNet =
    {
        new("stage0.reparam_conv.weight", new[] { 2, 1, 3, 3 }),
        new("stage0.reparam_conv.bias", new[] { 2 }),
        new("linear.weight", new[] { 3, 2 }),
        new("linear.bias", new[] { 3 }),
    };

    private static readonly Dictionary<string, string> TimmName = new(StringComparer.Ordinal)
    {
        ["stage0.reparam_conv.weight"] = "stem.reparam_conv.weight",
        ["stage0.reparam_conv.bias"] = "stem.reparam_conv.bias",
        ["linear.weight"] = "head.fc.weight",
        ["linear.bias"] = "head.fc.bias",
    };

    // ---- (a) the naming rule -------------------------------------------------------------------------------------

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void AFileInOneNamingLoads(bool timm)
    {
        byte[] file = Safetensors(TinyNet.Select(t => (timm ? TimmName[t.Name] : t.Name, t)));
        using WeightReader reader = WeightReader.FromStream(new MemoryStream(file), TinyNet);
        foreach (TensorDescriptor t in TinyNet)
        {
            Assert.Equal(Values(t), reader.Read(t.Name).ToArray());
        }
    }

    [Fact]
    public void AFileMixingAppleAndTimmNamesIsRejected()
    {
        // Stem under Apple's names, classifier under timm's: every tensor is there exactly once, but the file mixes the
        // two conventions, which the generator refuses too (MO0011).
        byte[] file = Safetensors(TinyNet.Select(t => (t.Name.StartsWith("linear.", StringComparison.Ordinal) ? TimmName[t.Name] : t.Name, t)));
        WeightFileException e = Assert.Throws<WeightFileException>(() => WeightReader.FromStream(new MemoryStream(file), TinyNet));
        Assert.Equal(
            "The weight stream is not a valid MobileOne weight file: it mixes Apple's tensor names ('stage0.reparam_conv.weight') with timm's ('head.fc.weight').",
            e.Message);

        // The same through FromFile.
        string path = Path.Combine(Path.GetTempPath(), "mixed-" + Guid.NewGuid().ToString("N") + ".safetensors");
        try
        {
            File.WriteAllBytes(path, file);
            e = Assert.Throws<WeightFileException>(() => WeightReader.FromFile(path, TinyNet));
            Assert.Contains("mixes Apple's tensor names ('stage0.reparam_conv.weight') with timm's ('head.fc.weight')", e.Message, StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void TwoNamesForOneTensorAreRejected()
    {
        // stage0.reparam_conv.bias and stem.reparam_conv.bias are the same tensor; Canonicalize reports the duplicate.
        var entries = TinyNet.Select(t => (t.Name, t)).ToList();
        entries.Add(("stem.reparam_conv.bias", TinyNet[1]));
        WeightFileException e = Assert.Throws<WeightFileException>(() => WeightReader.FromStream(new MemoryStream(Safetensors(entries)), TinyNet));
        Assert.Contains("two names for tensor 'stage0.reparam_conv.bias': 'stage0.reparam_conv.bias' and 'stem.reparam_conv.bias'", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ANameOfNeitherConventionIsStillAnExtraTensor()
    {
        var entries = TinyNet.Select(t => (t.Name, t)).ToList();
        entries.Add(("num_batches_tracked", new TensorDescriptor("x", new[] { 1 })));
        WeightFileException e = Assert.Throws<WeightFileException>(() => WeightReader.FromStream(new MemoryStream(Safetensors(entries)), TinyNet));
        Assert.Contains("has tensor 'num_batches_tracked' [1], which this network does not have", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ANonFloatDtypeIsRejectedBeforeReading()
    {
        // I32 has a size in the shared table (4) but is not a weight dtype.
        byte[] file = Safetensors(TinyNet.Select(t => (t.Name, t)), dtypeOf: name => name == "linear.bias" ? "I32" : "F32");
        WeightFileException e = Assert.Throws<WeightFileException>(() => WeightReader.FromStream(new MemoryStream(file), TinyNet));
        Assert.Contains("has dtype I32; F32, F16 and BF16 are supported", e.Message, StringComparison.Ordinal);

        // FromEmbedded with a build-time list naming I32: refused when opened, not when read.
        TensorDescriptor[] recorded = Recorded(file);
        Assert.Equal("I32", recorded.Single(t => t.Name == "linear.bias").DType);
        Assert.Throws<WeightFileException>(() => WeightReader.FromEmbedded(new MemoryStream(file), "tiny", recorded, file.LongLength, SafetensorsHeader.HashHeader(HeaderOf(file))));

        byte[] ok = Safetensors(TinyNet.Select(t => (t.Name, t)));
        using WeightReader reader = WeightReader.FromEmbedded(new MemoryStream(ok), "tiny", Recorded(ok), ok.LongLength, SafetensorsHeader.HashHeader(HeaderOf(ok)));
        Assert.Equal(Values(TinyNet[2]), reader.Read("linear.weight").ToArray());
    }

    [Fact]
    public void ReadAfterDisposeThrows()
    {
        byte[] file = Safetensors(TinyNet.Select(t => (t.Name, t)));
        WeightReader reader = WeightReader.FromStream(new MemoryStream(file), TinyNet);
        Assert.Equal(Values(TinyNet[0]), reader.Read(TinyNet[0].Name).ToArray());
        reader.Dispose();
        Assert.Throws<ObjectDisposedException>(() => reader.Read(TinyNet[0].Name).Length);
        reader.Dispose(); // idempotent
    }

    // ---- (b) widening ---------------------------------------------------------------------------------------------

    [Fact]
    public void HalfToSingleMatchesDotNetForEveryBitPattern()
    {
        for (int h = 0; h <= ushort.MaxValue; h++)
        {
            float expected = (float)BitConverter.UInt16BitsToHalf((ushort)h);
            float actual = DTypes.HalfToSingle((ushort)h);
            if (BitConverter.SingleToInt32Bits(expected) != BitConverter.SingleToInt32Bits(actual))
            {
                Assert.Fail($"0x{h:X4}: expected 0x{BitConverter.SingleToInt32Bits(expected):X8} ({expected}), got 0x{BitConverter.SingleToInt32Bits(actual):X8} ({actual})");
            }
        }
    }

    [Fact]
    public void Bf16WideningIsTheTopHalfOfAnF32ForEveryBitPattern()
    {
        byte[] bytes = EveryPattern();
        float[] widened = new float[65536];
        DTypes.Widen(bytes, "BF16", widened);
        for (int b = 0; b <= ushort.MaxValue; b++)
        {
            int expected = BitConverter.SingleToInt32Bits(BitConverter.Int32BitsToSingle(b << 16));
            Assert.True(expected == BitConverter.SingleToInt32Bits(widened[b]), $"0x{b:X4}: expected 0x{expected:X8}, got 0x{BitConverter.SingleToInt32Bits(widened[b]):X8}");
        }
    }

    [Theory]
    [InlineData("F16")]
    [InlineData("BF16")]
    [InlineData("F32")]
    public void WeightReaderWidensEveryBitPatternThroughTheSharedTable(string dtype)
    {
        // One tensor holding all 65,536 16-bit patterns (for F32: those patterns in the top half, and in the bottom half
        // with a fixed exponent), read back through WeightReader at an odd (unaligned) data offset.
        var tensor = new TensorDescriptor("linear.bias", new[] { 65536 });
        byte[] data = dtype == "F32" ? EveryPatternAsF32() : EveryPattern();
        byte[] file = SafetensorsRaw(new[] { ("linear.bias", dtype, new long[] { 65536 }, data) }, leadingPad: 3);
        using WeightReader reader = WeightReader.FromStream(new MemoryStream(file), new[] { tensor });
        float[] read = reader.Read("linear.bias").ToArray();
        for (int i = 0; i < 65536; i++)
        {
            float expected = dtype switch
            {
                "F16" => (float)BitConverter.UInt16BitsToHalf((ushort)i),
                "BF16" => BitConverter.Int32BitsToSingle(i << 16),
                _ => BitConverter.Int32BitsToSingle(BitConverter.ToInt32(data, 4 * i)),
            };
            Assert.True(BitConverter.SingleToInt32Bits(expected) == BitConverter.SingleToInt32Bits(read[i]), $"{dtype} element {i}");
        }
    }

    [Fact]
    public void SizesComeFromTheSharedTable()
    {
        foreach (string dtype in new[] { "F64", "F32", "F16", "BF16", "I64", "I32", "I16", "I8", "U8", "BOOL", "F8_E4M3", "F8_E5M2", "U16", "U32", "U64", "Q4", string.Empty })
        {
            Assert.Equal(DTypes.Size(dtype), SafetensorsHeader.ElementSize(dtype));
            Assert.Equal(DTypes.IsWeightFloat(dtype) ? DTypes.Size(dtype) : 0, NonFiniteValues.ElementSize(dtype));
        }
    }

    // ---- (c) packed sizes -----------------------------------------------------------------------------------------

    public static IEnumerable<object[]> Shapes()
    {
        foreach (string name in Presets.Names)
        {
            yield return new object[] { name };
        }

        yield return new object[] { "s1/10 classes" };
        yield return new object[] { "odd" };
    }

    [Theory]
    [MemberData(nameof(Shapes))]
    public void PackedSizeAgreesWithThePackedLayoutRegions(string name)
    {
        NetworkShape network = name switch
        {
            "s1/10 classes" => Presets.Get("s1")!.WithNumClasses(10),
            // Widths that are not multiples of 16, SE on every block, 3 input channels, 7 classes.
            "odd" => new NetworkShape(3, 64, 48, 13, new[] { 17, 33, 70, 101 }, new[] { 1, 2, 3, 2 }, new[] { 1, 2, 3, 2 }, 7),
            _ => Presets.Get(name)!,
        };
        Assert.Null(network.ValidationError());

        var regions = PackedLayout.Regions(network).ToDictionary(r => r.Name, StringComparer.Ordinal);
        long total = 0;
        foreach (LayerShape l in network.Layers())
        {
            int expectedWeight = l.Type switch
            {
                LayerType.Stem => PackedSize.Stem(l.OutChannels, l.InChannels),
                LayerType.Depthwise => PackedSize.Depthwise(l.OutChannels),
                _ => PackedSize.Pointwise(l.OutChannels, l.InChannels),
            };
            total += Check(l.Identifier + "_Weight", expectedWeight);
            total += Check(l.Identifier + "_Bias", PackedSize.Bias(l.OutChannels));
            if (l.HasSe)
            {
                total += Check(l.Identifier + "_SeReduceWeight", PackedSize.SeReduce(l.SeReduced, l.OutChannels));
                total += Check(l.Identifier + "_SeReduceBias", PackedSize.SeReduceBias(l.SeReduced));
                total += Check(l.Identifier + "_SeExpandWeight", PackedSize.SeExpand(l.OutChannels, l.SeReduced));
                total += Check(l.Identifier + "_SeExpandBias", PackedSize.Bias(l.OutChannels));
            }
        }

        total += Check("Linear_Weight", PackedSize.Linear(network.NumClasses, network.FeatureChannels));
        total += Check("Linear_Bias", PackedSize.Bias(network.NumClasses));
        PackedRegion last = PackedLayout.Regions(network)[^1];
        Assert.Equal(total, last.Offset + last.Length);

        long Check(string region, int size)
        {
            Assert.True(regions.TryGetValue(region, out PackedRegion r), region);
            Assert.Equal(r.Length, size);
            Assert.Equal(0, r.Offset % 16); // 64-byte aligned
            Assert.Equal(0, size % 16);
            regions.Remove(region);
            return size;
        }

        Assert.Empty(regions); // no region PackedSize has no size for
    }

    [Fact]
    public void PackedSizeKeepsItsArgumentAndOverflowChecks()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => PackedSize.RoundUp16(-1));
        Assert.Throws<ArgumentOutOfRangeException>(() => PackedSize.RoundUp16(int.MaxValue - 14));
        Assert.Equal(int.MaxValue - 15, PackedSize.RoundUp16(int.MaxValue - 15));
        Assert.Throws<ArgumentOutOfRangeException>(() => PackedSize.Stem(-1, 3));
        Assert.Throws<ArgumentOutOfRangeException>(() => PackedSize.Stem(16, -1));
        Assert.Throws<ArgumentOutOfRangeException>(() => PackedSize.Depthwise(int.MaxValue));
        Assert.Throws<ArgumentOutOfRangeException>(() => PackedSize.Pointwise(16, -1));
        Assert.Throws<ArgumentOutOfRangeException>(() => PackedSize.Bias(-5));
        Assert.Throws<ArgumentOutOfRangeException>(() => PackedSize.SeReduce(-1, 16));
        Assert.Throws<ArgumentOutOfRangeException>(() => PackedSize.SeReduceBias(-1));
        Assert.Throws<ArgumentOutOfRangeException>(() => PackedSize.SeExpand(16, -1));
        Assert.Throws<ArgumentOutOfRangeException>(() => PackedSize.Linear(10, -1));

        // Sizes beyond int: OverflowException, as the checked int arithmetic threw before.
        Assert.Throws<OverflowException>(() => PackedSize.Stem(65536, 65536));
        Assert.Throws<OverflowException>(() => PackedSize.Depthwise(int.MaxValue - 15));
        Assert.Throws<OverflowException>(() => PackedSize.Pointwise(65536, 65536));
        Assert.Throws<OverflowException>(() => PackedSize.SeReduce(65536, 65536));
        Assert.Throws<OverflowException>(() => PackedSize.SeExpand(65536, 65536));
        Assert.Throws<OverflowException>(() => PackedSize.Linear(1_000_000, 1_000_000));
        Assert.Equal(16 * 65535, PackedSize.Pointwise(16, 65535));

        // RoundUp16(c)·cin·9 beyond long: 2147483568 · 1908874425 · 9 wraps, modulo 2^64, to 2147432368, which fits an int.
        // PackedLayout's arithmetic is checked, so this is an overflow and not a wrong size.
        Assert.Throws<OverflowException>(() => PackedSize.Stem(2147483568, 1908874425));
        Assert.Throws<OverflowException>(() => PackedLayout.Stem(2147483568, 1908874425));
    }

    // ---- helpers --------------------------------------------------------------------------------------------------

    /// <summary>Distinct, exactly representable values for a tensor: 0.5·(i+1), negated for odd i.</summary>
    private static float[] Values(TensorDescriptor t) =>
        Enumerable.Range(0, (int)t.ElementCount).Select(i => (i % 2 == 0 ? 0.5f : -0.5f) * (i + 1) + t.Name.Length).ToArray();

    /// <summary>A safetensors file with the given (name in the file, tensor) entries, values from <see cref="Values"/>.</summary>
    private static byte[] Safetensors(IEnumerable<(string FileName, TensorDescriptor Tensor)> entries, Func<string, string>? dtypeOf = null) =>
        SafetensorsRaw(entries.Select(e =>
        {
            string dtype = dtypeOf?.Invoke(e.Tensor.Name) ?? "F32";
            float[] values = Values(e.Tensor);
            byte[] data = new byte[values.Length * 4];
            for (int i = 0; i < values.Length; i++)
            {
                int bits = dtype == "F32" ? BitConverter.SingleToInt32Bits(values[i]) : (int)values[i];
                BitConverter.TryWriteBytes(data.AsSpan(4 * i), bits);
            }

            return (e.FileName, dtype, e.Tensor.Shape.Select(d => (long)d).ToArray(), data);
        }));

    /// <summary>u64 header length, JSON header (space padded), data; <paramref name="leadingPad"/> unused bytes first in the data.</summary>
    private static byte[] SafetensorsRaw(IEnumerable<(string Name, string DType, long[] Shape, byte[] Data)> tensors, int leadingPad = 0)
    {
        var json = new StringBuilder("{");
        var data = new MemoryStream();
        data.Write(new byte[leadingPad]);
        foreach (var (name, dtype, shape, bytes) in tensors)
        {
            long begin = data.Length;
            data.Write(bytes);
            json.Append(json.Length > 1 ? "," : string.Empty)
                .Append(CultureInfo.InvariantCulture, $"\"{name}\":{{\"dtype\":\"{dtype}\",\"shape\":[{string.Join(",", shape)}],\"data_offsets\":[{begin},{data.Length}]}}");
        }

        json.Append('}');
        while ((json.Length + leadingPad) % 8 != 0)
        {
            json.Append(' ');
        }

        byte[] header = Encoding.UTF8.GetBytes(json.ToString());
        var file = new MemoryStream();
        file.Write(BitConverter.GetBytes((ulong)header.Length));
        file.Write(header);
        file.Write(data.ToArray());
        return file.ToArray();
    }

    /// <summary>The build-time descriptors (dtype and offsets from the header) the generator records for FromEmbedded.</summary>
    private static TensorDescriptor[] Recorded(byte[] file)
    {
        byte[] header = HeaderOf(file);
        SafetensorsHeader parsed = SafetensorsHeader.Parse(header, file.LongLength - 8 - header.Length);
        return parsed.Tensors.Select(t => new TensorDescriptor(t.Name, t.Shape.Select(d => (int)d).ToArray(), t.DType, t.Begin, t.End)).ToArray();
    }

    private static byte[] HeaderOf(byte[] file) => file.AsSpan(8, (int)BitConverter.ToUInt64(file, 0)).ToArray();

    /// <summary>The 65,536 16-bit patterns, little-endian, in order.</summary>
    private static byte[] EveryPattern()
    {
        byte[] bytes = new byte[2 * 65536];
        for (int i = 0; i < 65536; i++)
        {
            bytes[2 * i] = (byte)i;
            bytes[(2 * i) + 1] = (byte)(i >> 8);
        }

        return bytes;
    }

    /// <summary>F32 elements: pattern i in the top half (even i), or in the bottom half under exponent 0x3F8 (odd i).</summary>
    private static byte[] EveryPatternAsF32()
    {
        byte[] bytes = new byte[4 * 65536];
        for (int i = 0; i < 65536; i++)
        {
            int bits = i % 2 == 0 ? i << 16 : 0x3F800000 | i;
            BitConverter.TryWriteBytes(bytes.AsSpan(4 * i), bits);
        }

        return bytes;
    }
}
