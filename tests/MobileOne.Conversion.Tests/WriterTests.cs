using System;
using System.IO;
using System.Linq;
using MobileOne.Conversion;
using MobileOne.TestSupport;
using Xunit;

namespace MobileOne.Conversion.Tests;

/// <summary>The safetensors writer (dtypes, metadata, whole-or-absent output) and the shared ONNX writer.</summary>
public class WriterTests
{
    private static FusedNetwork Tiny(out MobileOneArchitecture arch, out FusedWeights weights)
    {
        arch = new MobileOneArchitecture(3, 40, 36, 12, new[] { 12, 20, 28, 40 }, new[] { 1, 2, 1, 1 }, new[] { 0, 0, 1, 1 }, 6);
        weights = FusedWeights.Random(arch, 4);
        return OnnxGraph.ToNetwork(arch, weights);
    }

    [Theory]
    [InlineData("F32", NamingConvention.Apple)]
    [InlineData("F16", NamingConvention.Timm)]
    [InlineData("BF16", NamingConvention.Apple)]
    public void SafetensorsRoundTripWithArchitectureMetadata(string dtype, NamingConvention naming)
    {
        FusedNetwork net = Tiny(out MobileOneArchitecture arch, out FusedWeights weights);
        using var dir = new TempDir();
        net.WriteSafetensors(dir["n.safetensors"], dtype, naming, "test");
        Assert.Single(Directory.GetFiles(dir.Directory));
        StateDict sd = Checkpoint.Load(dir["n.safetensors"]);
        Assert.Equal(net.Architecture.ToJson(), sd.Metadata[FusedNetwork.ArchitectureMetadataKey]);
        Assert.Contains("\"inputSize\": [40, 36]", sd.Metadata[FusedNetwork.ArchitectureMetadataKey], StringComparison.Ordinal);
        Assert.True(ArchitectureMetadata.TryReadInputSize(sd.Metadata, out int h, out int w) && h == 40 && w == 36);
        MobileOneCheckpoint cp = MobileOneCheckpoint.Analyze(sd, h, w);
        Assert.Equal(naming, cp.Naming);
        Assert.Equal(CheckpointForm.Fused, cp.Form);
        Assert.Equal(OnnxGraph.ToConversion(arch), cp.Architecture);
        FusedWeights rounded = weights.RoundedTo(dtype);
        foreach (string name in rounded.Names)
        {
            Assert.Equal(rounded[name], cp[name].Values);
            Assert.Equal(dtype, cp[name].DType);
        }
    }

    [Fact]
    public void OutputIsWholeOrAbsent()
    {
        using var dir = new TempDir();
        string path = dir["out.safetensors"];
        File.WriteAllText(path, "previous content");

        // A writer that fails half way leaves the previous file untouched and no temporary file behind.
        Assert.Throws<InvalidOperationException>(() => AtomicFile.Write(path, s =>
        {
            s.Write(new byte[1000]);
            throw new InvalidOperationException("disk full (simulated)");
        }));
        Assert.Equal("previous content", File.ReadAllText(path));
        Assert.Single(Directory.GetFiles(dir.Directory));

        // A missing folder is an output error, with nothing created.
        var e = Assert.Throws<ConversionException>(() => Tiny(out _, out _).WriteSafetensors(Path.Combine(dir.Directory, "no", "such", "x.safetensors")));
        Assert.Equal(ConversionErrorKind.Output, e.Kind);
        Assert.False(Directory.Exists(Path.Combine(dir.Directory, "no")));
    }

    [Fact]
    public void TestSupportOnnxGraphIsTheConversionWriter()
    {
        FusedNetwork net = Tiny(out MobileOneArchitecture arch, out FusedWeights weights);
        Onnx.ModelProto viaTests = OnnxGraph.BuildModel(arch, weights);
        Onnx.ModelProto viaLibrary = OnnxExport.BuildModel(net, producer: viaTests.ProducerName);
        Assert.Equal(viaLibrary, viaTests);
        Assert.Equal(OnnxExport.Build(net, producer: "MobileOne.TestSupport"), OnnxGraph.Build(arch, weights));

        // ONNX Runtime on the exported model agrees with the double reference.
        float[] input = TestData.RandomInput(arch, 5);
        using var ort = new OrtRunner(OnnxExport.Build(net));
        LogitComparison.AssertClose(DoubleReference.Run(arch, weights, input), ort.Run(input), "ONNX Runtime");
    }
}
