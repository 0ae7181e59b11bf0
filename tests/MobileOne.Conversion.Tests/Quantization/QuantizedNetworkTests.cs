using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using MobileOne.Conversion.Quantization;
using MobileOne.TestSupport;
using Xunit;

namespace MobileOne.Conversion.Tests.Quantization;

/// <summary><see cref="QuantizedNetwork"/>: write → read gives the same network; a file breaking docs/quantization.md is refused with the reason.</summary>
public class QuantizedNetworkTests
{
    private static readonly Lazy<(QuantizedNetwork Network, byte[] File)> Sample = new(() =>
    {
        MobileOneArchitecture arch = QuantizationTestData.SeArch;
        FusedNetwork net = QuantizationTestData.Network(arch, 8);
        string json = net.Architecture.ToJson(new[] { 0.5f, 0.4f, 0.3f }, new[] { 0.2f, 0.2f, 0.2f }, new[] { "a", "b", "c", "d", "e" });
        QuantizationResult r = Quantizer.Run(net, QuantizationTestData.Calibration(arch, 4, 2), new QuantizationOptions(), json);
        using var stream = new MemoryStream();
        r.Network.WriteTo(stream, "test");
        return (r.Network, stream.ToArray());
    });

    [Fact]
    public void WriteThenReadGivesTheSameNetwork()
    {
        (QuantizedNetwork expected, byte[] file) = Sample.Value;
        QuantizedNetwork read = QuantizedNetwork.Read(file, "sample.safetensors");
        Assert.Equal(expected.ArchitectureJson, read.ArchitectureJson);
        Assert.Equal(expected.Architecture, read.Architecture);
        Assert.Equal(expected.InputScale, read.InputScale);
        Assert.Equal("percentile", read.Method);
        Assert.Equal(QuantizationOptions.DefaultPercentile, read.Percentile);
        Assert.Equal(4, read.CalibrationImages);
        Assert.Equal(expected.Layers.Count, read.Layers.Count);
        for (int i = 0; i < expected.Layers.Count; i++)
        {
            QuantizedLayer a = expected.Layers[i], b = read.Layers[i];
            Assert.Equal(a.Name, b.Name);
            Assert.Equal(a.Kind, b.Kind);
            Assert.Equal(a.WeightShape, b.WeightShape);
            Assert.Equal(a.Weight, b.Weight);
            Assert.Equal(a.WeightScale, b.WeightScale);
            Assert.Equal(a.Bias, b.Bias);
            Assert.Equal(a.OutputScale, b.OutputScale);
        }

        Assert.Equal(expected.FloatTensors.Keys.Order(), read.FloatTensors.Keys.Order());
        Assert.All(expected.FloatTensors, kv => Assert.Equal(kv.Value, read.FloatTensors[kv.Key]));
        Assert.Contains(read.FloatTensors.Keys, k => k.Contains(".se.", StringComparison.Ordinal));

        // The file has the contract's dtypes and metadata.
        var (tensors, metadata) = QuantizationTestData.Parse(file);
        Assert.Equal("I8", tensors.Single(t => t.Name == "stage0.reparam_conv.weight").DType);
        Assert.Equal("I32", tensors.Single(t => t.Name == "stage4.1.reparam_conv.bias").DType);
        Assert.Equal("F32", tensors.Single(t => t.Name == "stage4.1.reparam_conv.weight_scale").DType);
        Assert.Contains("\"activationScales\": {\"stage0\": ", metadata["mobileone.quantization"], StringComparison.Ordinal);
        Assert.Equal("test", metadata["mobileone.producer"]);
    }

    [Fact]
    public void WriteIsAtomicAndReadOfAPathWorks()
    {
        using var dir = new TempDir();
        string path = dir["q.safetensors"];
        Sample.Value.Network.Write(path);
        Assert.Equal(Sample.Value.Network.InputScale, QuantizedNetwork.Read(path).InputScale);
        Assert.True(QuantizedNetwork.IsQuantizedFile(path));
        Assert.Single(Directory.GetFiles(dir.Directory));
        var e = Assert.Throws<ConversionException>(() => Sample.Value.Network.Write(Path.Combine(dir.Directory, "missing", "q.safetensors")));
        Assert.Equal(ConversionErrorKind.Output, e.Kind);
    }

    public static IEnumerable<object[]> Breakages() => new[]
    {
        new object[] { "wrong dtype", ConversionErrorKind.NotMobileOne, "Tensor 'stage1.1.reparam_conv.weight' in bad.safetensors is F32" },
        new object[] { "missing tensor", ConversionErrorKind.NotMobileOne, "has no tensor 'stage2.1.reparam_conv.weight_scale' (F32 [16])" },
        new object[] { "extra tensor", ConversionErrorKind.NotMobileOne, "has tensor 'stage9.bias', which is not part" },
        new object[] { "zero weight scale", ConversionErrorKind.InvalidFormat, "The weight scale of output channel 3 of 'stage1.0' is 0; scales must be positive and finite" },
        new object[] { "zero activation scale", ConversionErrorKind.InvalidFormat, "the activation scale of 'stage2.2' is 0; scales must be positive and finite" },
        new object[] { "negative input scale", ConversionErrorKind.InvalidFormat, "'inputScale' is -1" },
        new object[] { "missing activation scale", ConversionErrorKind.InvalidFormat, "has no scale for layer 'stage4.1'" },
        new object[] { "weight -128", ConversionErrorKind.InvalidFormat, "Weight 5 of 'stage2.0' is -128" },
        new object[] { "pair overflow", ConversionErrorKind.InvalidFormat, "Output channel 1 of 'stage3.1' has input channels 2 and 3 whose same-sign weights sum beyond ±128" },
        new object[] { "no quantization metadata", ConversionErrorKind.WrongForm, "is not a quantized MobileOne (no 'mobileone.quantization' metadata)" },
        new object[] { "no architecture metadata", ConversionErrorKind.NotMobileOne, "has no 'mobileone.architecture' metadata" },
        new object[] { "not safetensors", ConversionErrorKind.InvalidFormat, "is not a valid safetensors file" },
    };

    [Theory]
    [MemberData(nameof(Breakages))]
    public void AFileThatBreaksTheContractIsRefusedWithTheReason(string breakage, ConversionErrorKind kind, string message)
    {
        byte[] file = Break(Sample.Value.File, breakage);
        var e = Assert.Throws<ConversionException>(() => QuantizedNetwork.Read(file, "bad.safetensors"));
        Assert.Equal(kind, e.Kind);
        Assert.Contains(message, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void TheConstructorChecksTheSameRules()
    {
        QuantizedNetwork q = Sample.Value.Network;
        var layers = q.Layers.ToList();
        QuantizedLayer l = layers[3];
        layers[3] = l with { WeightScale = l.WeightScale.Select((s, i) => i == 0 ? float.PositiveInfinity : s).ToArray() };
        var e = Assert.Throws<ArgumentException>(() => new QuantizedNetwork(q.Architecture, q.ArchitectureJson, q.InputScale, layers, q.FloatTensors, q.Method, q.Percentile, q.CalibrationImages));
        Assert.Contains("output channel 0 of 'stage2.0' is Infinity", e.Message, StringComparison.Ordinal);
    }

    private static byte[] Break(byte[] file, string breakage)
    {
        var (tensors, metadata) = QuantizationTestData.Parse(file);
        int Find(string name) => tensors.FindIndex(t => t.Name == name);
        switch (breakage)
        {
            case "wrong dtype":
            {
                int i = Find("stage1.1.reparam_conv.weight");
                var t = tensors[i];
                tensors[i] = (t.Name, "F32", t.Shape, t.Data.SelectMany(b => BitConverter.GetBytes((float)(sbyte)b)).ToArray());
                break;
            }

            case "missing tensor":
                tensors.RemoveAt(Find("stage2.1.reparam_conv.weight_scale"));
                break;
            case "extra tensor":
                tensors.Add(("stage9.bias", "F32", new long[] { 1 }, new byte[4]));
                break;
            case "zero weight scale":
                Array.Clear(tensors[Find("stage1.0.reparam_conv.weight_scale")].Data, 3 * 4, 4);
                break;
            case "zero activation scale":
                metadata["mobileone.quantization"] = ReplaceScale(metadata["mobileone.quantization"], "stage2.2", "0");
                break;
            case "negative input scale":
            {
                string q = metadata["mobileone.quantization"];
                int at = q.IndexOf("\"inputScale\": ", StringComparison.Ordinal) + "\"inputScale\": ".Length;
                metadata["mobileone.quantization"] = q[..at] + "-1" + q[q.IndexOf(',', at)..];
                break;
            }

            case "missing activation scale":
            {
                string q = metadata["mobileone.quantization"];
                int at = q.IndexOf(", \"stage4.1\": ", StringComparison.Ordinal);
                metadata["mobileone.quantization"] = q[..at] + "}}";
                break;
            }

            case "weight -128":
                tensors[Find("stage2.0.reparam_conv.weight")].Data[5] = 0x80;
                break;
            case "pair overflow":
            {
                // stage3.1 is pointwise 16 -> 20: output channel 1, inputs 2 and 3 set to 100 and 29.
                byte[] w = tensors[Find("stage3.1.reparam_conv.weight")].Data;
                w[16 + 2] = 100;
                w[16 + 3] = 29;
                w[16 + 0] = w[16 + 1] = 0;
                break;
            }

            case "no quantization metadata":
                metadata.Remove("mobileone.quantization");
                break;
            case "no architecture metadata":
                metadata.Remove("mobileone.architecture");
                break;
            case "not safetensors":
                return file[..6];
            default:
                throw new ArgumentException(breakage);
        }

        return QuantizationTestData.Build(tensors, metadata);
    }

    private static string ReplaceScale(string json, string layer, string value)
    {
        string key = "\"" + layer + "\": ";
        int at = json.IndexOf(key, StringComparison.Ordinal) + key.Length;
        int end = json.IndexOfAny(new[] { ',', '}' }, at);
        return json[..at] + value + json[end..];
    }
}
