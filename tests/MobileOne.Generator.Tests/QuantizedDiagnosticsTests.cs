using System;
using System.Collections.Generic;
using System.Linq;
using MobileOne.Conversion.Quantization;
using MobileOne.Generator.Tests.Infrastructure;
using MobileOne.TestSupport;
using Xunit;

namespace MobileOne.Generator.Tests;

/// <summary>
/// A quantized weight file (docs/quantization.md) that the generator must refuse: each broken in one way, each an
/// error with its ID at the file, and no source. MO0018: the <c>mobileone.quantization</c> metadata; MO0019: the int8
/// weights and weight scales (read at build time, as the runtime would at load); MO0020: a tensor in the wrong dtype.
/// </summary>
public class QuantizedDiagnosticsTests
{
    private static readonly MobileOneArchitecture Tiny = TestNets.TinySe;

    [Fact]
    public void ValidFileGeneratesAnInt8Class()
    {
        using var models = new TempModels();
        string path = Write(models, "tiny_se_int8.safetensors", (_, _) => { });
        GeneratorRun run = GeneratorHarness.Run(path);
        RunAssert.NoGeneratorException(run);
        Assert.Empty(run.GeneratorDiagnostics);
        string source = run.Source("TestApp.TinySeInt8.g.cs");
        Assert.Contains("PointwiseConvInt8.Run(", source, StringComparison.Ordinal);
        Assert.Contains("TensorPacking.Int8Pointwise", source, StringComparison.Ordinal);
        Assert.Contains("QuantizedLayers => s_quantizedLayers", source, StringComparison.Ordinal);

        // The int8 class as a person reads it (Snapshots/TinySeInt8.verified.cs): the same layer walk as FP32, an int8
        // kernel per line, the build-time scales in the comments.
        SnapshotAssert.Matches(source, "TinySeInt8");
    }

    [Theory]
    [InlineData("missing scale", "'activationScales' has no scale for layer 'stage2.1'")]
    [InlineData("zero scale", "the activation scale of 'stage1.0' is 0; scales must be positive and finite")]
    [InlineData("negative input scale", "'inputScale' is -0.5; scales must be positive and finite")]
    [InlineData("infinite scale", "the activation scale of 'stage1.0' is Infinity; scales must be positive and finite")]
    [InlineData("unknown layer", "'activationScales' has 'stage9.9', which is not a convolution of this network")]
    [InlineData("format 2", "format 2 is not supported")]
    [InlineData("not json", "is not valid: ")]
    [InlineData("other weight scheme", "'weights' must be \"int8-symmetric-per-channel\"")]
    public void MO0018_QuantizationMetadata(string breakage, string fragment)
    {
        using var models = new TempModels();
        string path = Write(models, "broken_int8.safetensors", (_, metadata) =>
        {
            string json = metadata["mobileone.quantization"];
            metadata["mobileone.quantization"] = breakage switch
            {
                "missing scale" => RemoveScale(json, "stage2.1"),
                "zero scale" => ReplaceScale(json, "stage1.0", "0"),
                "negative input scale" => System.Text.RegularExpressions.Regex.Replace(json, "\"inputScale\": [^,]+", "\"inputScale\": -0.5"),
                "infinite scale" => ReplaceScale(json, "stage1.0", "1e999"),
                "unknown layer" => json.Replace("\"activationScales\": {", "\"activationScales\": {\"stage9.9\": 0.1, ", StringComparison.Ordinal),
                "format 2" => json.Replace("\"format\": 1", "\"format\": 2", StringComparison.Ordinal),
                "not json" => json.Substring(0, json.Length / 2),
                _ => json.Replace("int8-symmetric-per-channel", "int4", StringComparison.Ordinal),
            };
        });
        RunAssert.SingleError(GeneratorHarness.Run(path), "MO0018", path, "'broken_int8.safetensors' is not a valid quantized MobileOne: its 'mobileone.quantization' metadata");
        Assert.Contains(fragment, Message(path), StringComparison.Ordinal);
    }

    [Fact]
    public void MO0019_WeightOfMinus128()
    {
        using var models = new TempModels();
        string path = Write(models, "q.safetensors", (entries, _) => Tensor(entries, "stage2.0.reparam_conv.weight").data[5] = unchecked((byte)(sbyte)-128));
        RunAssert.SingleError(GeneratorHarness.Run(path), "MO0019", path, "Tensor 'stage2.0.reparam_conv.weight' in 'q.safetensors' has -128 at element 5; int8 weights are symmetric, in [-127, 127]");
    }

    [Fact]
    public void MO0019_PointwisePairBeyond128()
    {
        using var models = new TempModels();
        string path = Write(models, "q.safetensors", (entries, _) =>
        {
            // stage2.1 is 8 -> 16: output channel 3, input channels 4 and 5 (pair 2), both large and positive.
            byte[] w = Tensor(entries, "stage2.1.reparam_conv.weight").data;
            w[(3 * 8) + 4] = 100;
            w[(3 * 8) + 5] = 29;
        });
        RunAssert.SingleError(GeneratorHarness.Run(path), "MO0019", path, "Tensor 'stage2.1.reparam_conv.weight' in 'q.safetensors' breaks the pair rule: output channel 3 has input channels 4 and 5 whose same-sign weights sum beyond ±128");
    }

    [Fact]
    public void MO0019_PairOfExactly128IsAccepted()
    {
        using var models = new TempModels();
        string path = Write(models, "q_int8.safetensors", (entries, _) =>
        {
            byte[] w = Tensor(entries, "stage2.1.reparam_conv.weight").data;
            w[(3 * 8) + 4] = 127;
            w[(3 * 8) + 5] = 1;
            w[(4 * 8) + 6] = unchecked((byte)(sbyte)-127);
            w[(4 * 8) + 7] = unchecked((byte)(sbyte)-1);
        });
        GeneratorRun run = GeneratorHarness.Run(path);
        Assert.Empty(run.GeneratorDiagnostics);
    }

    [Theory]
    [InlineData(0f, "has scale 0 for output channel 2; weight scales must be positive and finite")]
    [InlineData(-1f, "has scale -1 for output channel 2")]
    [InlineData(float.NaN, "has scale NaN for output channel 2")]
    public void MO0019_WeightScaleNotPositiveAndFinite(float scale, string fragment)
    {
        using var models = new TempModels();
        string path = Write(models, "q.safetensors", (entries, _) => BitConverter.TryWriteBytes(Tensor(entries, "stage3.1.reparam_conv.weight_scale").data.AsSpan(8, 4), scale));
        GeneratorRun run = GeneratorHarness.Run(path);
        RunAssert.NoGeneratorException(run);
        var error = Assert.Single(run.GeneratorDiagnostics, d => d.Id == "MO0019");
        RunAssert.Error(error, "MO0019", path, "Tensor 'stage3.1.reparam_conv.weight_scale' in 'q.safetensors' " + fragment);
        Assert.Empty(run.HintNames);
    }

    [Fact]
    public void MO0020_BiasStoredAsFloat()
    {
        using var models = new TempModels();
        string path = Write(models, "q.safetensors", (entries, _) =>
        {
            int i = entries.FindIndex(e => e.name == "stage1.1.reparam_conv.bias");
            var e = entries[i];
            entries[i] = (e.name, "F32", e.shape, e.data);
        });

        // The int32 bits read as floats may also be NaN (warning MO0017); the error is what stops the build.
        GeneratorRun run = GeneratorHarness.Run(path);
        RunAssert.NoGeneratorException(run);
        RunAssert.Error(Assert.Single(run.GeneratorDiagnostics, d => d.Id == "MO0020"), "MO0020", path, "Tensor 'stage1.1.reparam_conv.bias' in 'q.safetensors' has dtype F32; a quantized MobileOne stores it as I32");
        Assert.Empty(run.HintNames);
    }

    [Fact]
    public void MO0020_WeightStoredAsFloat()
    {
        using var models = new TempModels();
        string path = Write(models, "q.safetensors", (entries, _) =>
        {
            int i = entries.FindIndex(e => e.name == "stage0.reparam_conv.weight");
            var e = entries[i];
            entries[i] = (e.name, "F32", e.shape, new byte[e.data.Length * 4]);
        });
        RunAssert.SingleError(GeneratorHarness.Run(path), "MO0020", path, "Tensor 'stage0.reparam_conv.weight' in 'q.safetensors' has dtype F32; a quantized MobileOne stores it as I8");
    }

    [Fact]
    public void MO0007_MissingWeightScale()
    {
        using var models = new TempModels();
        string path = Write(models, "q.safetensors", (entries, _) => entries.RemoveAll(e => e.name == "stage4.0.reparam_conv.weight_scale"));
        RunAssert.SingleError(GeneratorHarness.Run(path), "MO0007", path, "'q.safetensors' has no tensor 'stage4.0.reparam_conv.weight_scale' (expected shape [16])");
    }

    [Fact]
    public void MO0006_Int8WeightsWithoutQuantizationMetadata()
    {
        using var models = new TempModels();
        string path = Write(models, "q.safetensors", (_, metadata) => metadata.Remove("mobileone.quantization"));
        GeneratorRun run = GeneratorHarness.Run(path);
        RunAssert.NoGeneratorException(run);
        Assert.Contains(run.GeneratorDiagnostics, d => d.Id is "MO0006" or "MO0008");
        Assert.Empty(run.HintNames);
    }

    private static string Write(TempModels models, string fileName, Action<List<(string name, string dtype, long[] shape, byte[] data)>, Dictionary<string, string>> tamper)
    {
        var (entries, metadata) = QuantizedTestModels.Parts(QuantizedTestModels.Create(Tiny, seed: 7));
        tamper(entries, metadata);
        return TestNets.WriteRaw(models.PathOf(fileName), entries, metadata);
    }

    private static (string name, string dtype, long[] shape, byte[] data) Tensor(List<(string name, string dtype, long[] shape, byte[] data)> entries, string name) =>
        entries.Single(e => e.name == name);

    private static string RemoveScale(string json, string layer) =>
        System.Text.RegularExpressions.Regex.Replace(json, "\"" + System.Text.RegularExpressions.Regex.Escape(layer) + "\": [^,}]+(, )?", string.Empty);

    private static string ReplaceScale(string json, string layer, string value) =>
        System.Text.RegularExpressions.Regex.Replace(json, "(\"" + System.Text.RegularExpressions.Regex.Escape(layer) + "\": )[^,}]+", "${1}" + value);

    private static string Message(string path) =>
        GeneratorHarness.Run(path).GeneratorDiagnostics.Single().GetMessage(System.Globalization.CultureInfo.InvariantCulture);
}
