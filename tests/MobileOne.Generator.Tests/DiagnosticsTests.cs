using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Text;
using MobileOne.Generator.Tests.Infrastructure;
using MobileOne.TestSupport;
using Xunit;

namespace MobileOne.Generator.Tests;

/// <summary>
/// One or more cases per descriptor of DiagnosticDescriptors: exact ID, severity, location (file, and for JSON
/// files the 1-based line/column as a 0-based LinePosition), a key fragment of the message, no exception escaping
/// into the compiler, and no source for the failing model. MO0016 (internal error) is the catch-all for bugs and
/// has no input that reaches it; its descriptor is checked on its own, and GeneratorFaultTests injects exceptions to reach it.
/// </summary>
public class DiagnosticsTests
{
    private static readonly MobileOneArchitecture Tiny = TestNets.TinySe;

    // ---- MO0001 ----------------------------------------------------------------------------------------------

    [Fact]
    public void MO0001_WeightFileThatDoesNotExist()
    {
        using var models = new TempModels();
        string path = models.PathOf("gone.safetensors");
        RunAssert.SingleError(GeneratorHarness.Run(path), "MO0001", path, $"Cannot read model file '{path}': ");
    }

    // ---- MO0002 ----------------------------------------------------------------------------------------------

    [Fact]
    public void MO0002_FileShorterThanEightBytes()
    {
        using var models = new TempModels();
        string path = models.PathOf("short.safetensors");
        File.WriteAllBytes(path, new byte[] { 1, 2, 3, 4, 5 });
        RunAssert.SingleError(GeneratorHarness.Run(path), "MO0002", path, "'short.safetensors' is not a valid safetensors file: The file is 5 bytes long; a safetensors file starts with an 8-byte header length.");
    }

    [Fact]
    public void MO0002_HeaderLengthLargerThanTheFile()
    {
        using var models = new TempModels();
        string path = models.PathOf("truncated.safetensors");
        byte[] bytes = new byte[8 + 2];
        BitConverter.TryWriteBytes(bytes.AsSpan(0, 8), 1000UL);
        bytes[8] = (byte)'{';
        bytes[9] = (byte)'}';
        File.WriteAllBytes(path, bytes);
        RunAssert.SingleError(GeneratorHarness.Run(path), "MO0002", path, "The header length field says 1000 bytes, but the file has only 2 bytes after it (truncated file?)");
    }

    [Fact]
    public void MO0002_HeaderLengthOverTheLimit()
    {
        using var models = new TempModels();
        string path = models.PathOf("huge.safetensors");
        byte[] bytes = new byte[16];
        BitConverter.TryWriteBytes(bytes.AsSpan(0, 8), 1UL << 40);
        File.WriteAllBytes(path, bytes);
        RunAssert.SingleError(GeneratorHarness.Run(path), "MO0002", path, "more than the 104857600 accepted");
    }

    [Fact]
    public void MO0002_HeaderIsNotJson_LineAndColumnInMessage()
    {
        using var models = new TempModels();
        string secondLine = "  \"stage0.reparam_conv.weight\": nope";
        string path = TestNets.WriteWithHeader(models.PathOf("notjson.safetensors"), "{\n" + secondLine + "\n}", 0);
        int column = secondLine.IndexOf("nope", StringComparison.Ordinal) + 1;
        RunAssert.SingleError(GeneratorHarness.Run(path), "MO0002", path, $"The header is not valid JSON: Unexpected character 'n' (header JSON line 2, column {column})");
    }

    [Fact]
    public void MO0002_HeaderIsNotAnObject()
    {
        using var models = new TempModels();
        string path = TestNets.WriteWithHeader(models.PathOf("array.safetensors"), "[1, 2]", 0);
        RunAssert.SingleError(GeneratorHarness.Run(path), "MO0002", path, "The header must be a JSON object, not an array.");
    }

    [Fact]
    public void MO0002_DataOffsetsPastTheEnd()
    {
        using var models = new TempModels();
        string header = "{\"linear.bias\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]}}";
        string path = TestNets.WriteWithHeader(models.PathOf("past.safetensors"), header, 8);
        int column = header.IndexOf("[0,16]", StringComparison.Ordinal) + 1;
        RunAssert.SingleError(GeneratorHarness.Run(path), "MO0002", path,
            $"Tensor 'linear.bias' ends at byte 16 of the data section, but the data section has only 8 bytes (truncated file?). (header JSON line 1, column {column})");
    }

    [Fact]
    public void MO0002_OverlappingTensors()
    {
        using var models = new TempModels();
        string header = "{\"linear.weight\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]},"
                      + "\"linear.bias\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[8,24]}}";
        string path = TestNets.WriteWithHeader(models.PathOf("overlap.safetensors"), header, 24);
        RunAssert.SingleError(GeneratorHarness.Run(path), "MO0002", path, "Tensors 'linear.weight' and 'linear.bias' overlap in the data section.");
    }

    [Fact]
    public void MO0002_ByteCountDisagreesWithShape()
    {
        using var models = new TempModels();
        string header = "{\"linear.bias\":{\"dtype\":\"F16\",\"shape\":[4],\"data_offsets\":[0,16]}}";
        string path = TestNets.WriteWithHeader(models.PathOf("count.safetensors"), header, 16);
        RunAssert.SingleError(GeneratorHarness.Run(path), "MO0002", path, "Tensor 'linear.bias' (F16 [4]) needs 8 bytes but data_offsets span 16.");
    }

    // ---- MO0003 ----------------------------------------------------------------------------------------------

    [Fact]
    public void MO0003_ArchitectureFileSyntaxError_LocatedAtLineAndColumn()
    {
        using var models = new TempModels();
        string path = models.WriteText("net.mobileone.json", "{\n  \"variant\": \"s1\",\n  \"numClasses\": 10,,\n}\n");
        // Line 3 is `  "numClasses": 10,,`: the second comma is at column 20.
        RunAssert.SingleError(GeneratorHarness.Run(path), "MO0003", path, "Architecture 'net.mobileone.json' is not valid JSON: Expected a property name in double quotes", line1: 3, column1: 20);
    }

    [Fact]
    public void MO0003_ArchitectureFileUnterminatedString()
    {
        using var models = new TempModels();
        string path = models.WriteText("net.mobileone.json", "{\n\n    \"variant\": \"s1\n");
        RunAssert.SingleError(GeneratorHarness.Run(path), "MO0003", path, "Control character in string", line1: 3, column1: 19);
    }

    [Fact]
    public void MO0003_MetadataSyntaxError_LineAndColumnInMessage()
    {
        using var models = new TempModels();
        string path = models.WriteWeights("meta.safetensors", Tiny, TestNets.SeededWeights(Tiny, 1),
            metadata: new Dictionary<string, string> { ["mobileone.architecture"] = "{\"variant\": s1}" });
        RunAssert.SingleError(GeneratorHarness.Run(path), "MO0003", path,
            "Architecture 'meta.safetensors' is not valid JSON: Unexpected character 's' (in __metadata__ 'mobileone.architecture', line 1, column 13)");
    }

    // ---- MO0004 ----------------------------------------------------------------------------------------------

    [Fact]
    public void MO0004_UnknownProperty_LocatedAtItsValue()
    {
        using var models = new TempModels();
        string path = models.WriteText("net.mobileone.json", "{\n  \"variant\": \"s0\",\n  \"colour\": \"red\"\n}\n");
        RunAssert.SingleError(GeneratorHarness.Run(path), "MO0004", path, "Architecture 'net.mobileone.json': unknown property 'colour' (known: $schema, description, variant,", line1: 3, column1: 13);
    }

    [Fact]
    public void MO0004_ArchitectureOnlyFileMissingFields()
    {
        using var models = new TempModels();
        string path = models.WriteText("net.mobileone.json", "{\"stemChannels\": 8}");
        RunAssert.SingleError(GeneratorHarness.Run(path), "MO0004", path,
            "Architecture 'net.mobileone.json': without a weight file the architecture must name a 'variant' or give inputChannels, stageChannels, stageBlocks, numClasses");
    }

    [Fact]
    public void MO0004_InputSizeBelow32()
    {
        using var models = new TempModels();
        string json = "{\"variant\": \"s0\", \"inputSize\": 16}";
        string path = models.WriteText("net.mobileone.json", json);
        int column = json.IndexOf("16", StringComparison.Ordinal) + 1;
        RunAssert.SingleError(GeneratorHarness.Run(path), "MO0004", path, "'inputSize' must be a whole number from 32 to 8192, not 16", line1: 1, column1: column);
    }

    [Fact]
    public void MO0004_InputHeightBelow32InMetadata()
    {
        using var models = new TempModels();
        string json = "{\"inputSize\": [31, 40]}";
        string path = models.WriteWeights("small.safetensors", Tiny, TestNets.SeededWeights(Tiny, 1),
            metadata: new Dictionary<string, string> { ["mobileone.architecture"] = json });
        int column = json.IndexOf("31", StringComparison.Ordinal) + 1;
        RunAssert.SingleError(GeneratorHarness.Run(path), "MO0004", path, $"'inputSize[0]' must be a whole number from 32 to 8192, not 31 (in __metadata__ 'mobileone.architecture', line 1, column {column})");
    }

    [Fact]
    public void MO0004_LabelsDoNotMatchTheClasses()
    {
        using var models = new TempModels();
        string path = models.WriteWeights("labels.safetensors", Tiny, TestNets.SeededWeights(Tiny, 1),
            metadata: new Dictionary<string, string> { ["mobileone.architecture"] = "{\"labels\": [\"a\", \"b\", \"c\"]}" });
        RunAssert.SingleError(GeneratorHarness.Run(path), "MO0004", path, "'labels' has 3 entries but the network has 10 classes");
    }

    [Fact]
    public void MO0004_SeBlocksExceedStageBlocks()
    {
        using var models = new TempModels();
        string json = "{\n  \"variant\": \"s1\",\n  \"seBlocks\": [0, 0, 0, 2]\n}";
        string path = models.WriteText("net.mobileone.json", json);
        RunAssert.SingleError(GeneratorHarness.Run(path), "MO0004", path, "stage 4 has 1 blocks but 'seBlocks' asks for 2 with squeeze-excite", line1: 3, column1: 15);
    }

    /// <summary>
    /// Sizes that would overflow an int (input length, packed weights, activations) are MO0004, never a generated
    /// <c>const int InputLength = 4398046511104</c> (CS0266 in the user's build) or wrapped negative offsets.
    /// </summary>
    [Theory]
    [InlineData("{\"inputChannels\": 65536, \"inputSize\": 8192, \"stemChannels\": 1, \"stageChannels\": [1, 1, 1, 1], \"stageBlocks\": [1, 1, 1, 1], \"numClasses\": 1}")]
    [InlineData("{\"variant\": \"s4\", \"numClasses\": 1000000, \"stageChannels\": [192, 448, 896, 4096]}")]
    public void MO0004_SizesBeyondAnIntAreRejected(string json)
    {
        using var models = new TempModels();
        string path = models.WriteText("big.mobileone.json", json);
        RunAssert.SingleError(GeneratorHarness.Run(path), "MO0004", path, "Architecture 'big.mobileone.json': the network is too large for one process");
    }

    // ---- MO0005 ----------------------------------------------------------------------------------------------

    [Fact]
    public void MO0005_UnknownVariant_LocatedAtTheValue()
    {
        using var models = new TempModels();
        string path = models.WriteText("net.mobileone.json", "{\n  \"variant\": \"s9\"\n}\n");
        RunAssert.SingleError(GeneratorHarness.Run(path), "MO0005", path, "Architecture 'net.mobileone.json': unknown variant 's9' (expected one of s0, s1, s2, s3, s4)", line1: 2, column1: 14);
    }

    [Fact]
    public void MO0005_UnknownVariantInMetadata()
    {
        using var models = new TempModels();
        string path = models.WriteWeights("meta.safetensors", Tiny, TestNets.SeededWeights(Tiny, 1),
            metadata: new Dictionary<string, string> { ["mobileone.architecture"] = "{\"variant\": \"mobileone_s7\"}" });
        RunAssert.SingleError(GeneratorHarness.Run(path), "MO0005", path, "unknown variant 'mobileone_s7'");
    }

    // ---- MO0006 .. MO0009: tensor checks ----------------------------------------------------------------------

    [Fact]
    public void MO0006_UnsupportedDType()
    {
        using var models = new TempModels();
        var entries = TestNets.Entries(Tiny);
        int i = entries.FindIndex(e => e.name == "linear.bias");
        entries[i] = (entries[i].name, "F64", entries[i].shape, new byte[10 * 8]);
        string path = TestNets.WriteRaw(models.PathOf("f64.safetensors"), entries);
        RunAssert.SingleError(GeneratorHarness.Run(path), "MO0006", path, "Tensor 'linear.bias' in 'f64.safetensors' has dtype F64; F32, F16 and BF16 are supported");
    }

    [Fact]
    public void MO0007_MissingTensor()
    {
        using var models = new TempModels();
        var entries = TestNets.Entries(Tiny);
        entries.RemoveAll(e => e.name == "stage1.0.reparam_conv.bias");
        string path = TestNets.WriteRaw(models.PathOf("missing.safetensors"), entries);
        RunAssert.SingleError(GeneratorHarness.Run(path), "MO0007", path, "'missing.safetensors' has no tensor 'stage1.0.reparam_conv.bias' (expected shape [8])");
    }

    [Fact]
    public void MO0007_MissingSqueezeExciteTensor()
    {
        using var models = new TempModels();
        var entries = TestNets.Entries(Tiny);
        entries.RemoveAll(e => e.name == "stage4.1.se.expand.bias");
        string path = TestNets.WriteRaw(models.PathOf("missing.safetensors"), entries);
        RunAssert.SingleError(GeneratorHarness.Run(path), "MO0007", path, "has no tensor 'stage4.1.se.expand.bias' (expected shape [24])");
    }

    [Fact]
    public void MO0008_UnexpectedExtraTensor()
    {
        using var models = new TempModels();
        var entries = TestNets.Entries(Tiny);
        entries.Add(("extra.weight", "F32", new long[] { 2 }, new byte[8]));
        string path = TestNets.WriteRaw(models.PathOf("extra.safetensors"), entries);
        RunAssert.SingleError(GeneratorHarness.Run(path), "MO0008", path, "'extra.safetensors' has tensor 'extra.weight' F32 [2], which is not part of the fused MobileOne it describes");
    }

    [Fact]
    public void MO0008_SameTensorUnderTwoNames()
    {
        using var models = new TempModels();
        var entries = TestNets.Entries(Tiny);
        var bias = entries.Single(e => e.name == "linear.bias");
        entries.Add(("head.fc.bias", bias.dtype, bias.shape, bias.data));
        string path = TestNets.WriteRaw(models.PathOf("twice.safetensors"), entries);
        RunAssert.SingleError(GeneratorHarness.Run(path), "MO0008", path, "has tensor 'head.fc.bias' [10] (a second name for 'linear.bias')");
    }

    [Fact]
    public void MO0009_WrongShape()
    {
        using var models = new TempModels();
        var entries = TestNets.Entries(Tiny);
        int i = entries.FindIndex(e => e.name == "stage1.0.reparam_conv.bias");
        entries[i] = (entries[i].name, "F32", new long[] { 9 }, new byte[9 * 4]);
        string path = TestNets.WriteRaw(models.PathOf("shape.safetensors"), entries);
        RunAssert.SingleError(GeneratorHarness.Run(path), "MO0009", path, "Tensor 'stage1.0.reparam_conv.bias' in 'shape.safetensors' has shape [9]; the architecture needs [8]");
    }

    [Fact]
    public void MO0009_StemIsNotThreeByThree()
    {
        using var models = new TempModels();
        var entries = TestNets.Entries(Tiny);
        int i = entries.FindIndex(e => e.name == "stage0.reparam_conv.weight");
        entries[i] = (entries[i].name, "F32", new long[] { 8, 1, 1, 1 }, new byte[8 * 4]);
        string path = TestNets.WriteRaw(models.PathOf("stem.safetensors"), entries);
        RunAssert.SingleError(GeneratorHarness.Run(path), "MO0009", path, "Tensor 'stage0.reparam_conv.weight' in 'stem.safetensors' has shape [8, 1, 1, 1]; the architecture needs [C, Cin, 3, 3]");
    }

    /// <summary>A tensor with the wrong shape and an unsupported dtype gets MO0009 only (the shared TensorCheck checks the dtype of a tensor of the right shape).</summary>
    [Fact]
    public void MO0009_WrongShapeAndDTypeReportsTheShape()
    {
        using var models = new TempModels();
        var entries = TestNets.Entries(Tiny);
        int i = entries.FindIndex(e => e.name == "linear.bias");
        entries[i] = (entries[i].name, "F64", new long[] { 9 }, new byte[9 * 8]);
        string path = TestNets.WriteRaw(models.PathOf("both.safetensors"), entries);
        RunAssert.SingleError(GeneratorHarness.Run(path), "MO0009", path, "Tensor 'linear.bias' in 'both.safetensors' has shape [9]; the architecture needs [10]");
    }

    // ---- MO0010 ----------------------------------------------------------------------------------------------

    [Fact]
    public void MO0010_ArchitectureFileDisagreesWithWeights_LocatedAtTheArchitectureFile()
    {
        using var models = new TempModels();
        string weights = models.WriteWeights("net.safetensors", Tiny, TestNets.SeededWeights(Tiny, 1));
        var other = Tiny with { StageChannels = new[] { 8, 16, 32, 24 } };
        string json = models.WriteText("net.mobileone.json", ArchitectureJson.For(other));
        RunAssert.SingleError(GeneratorHarness.Run(weights, json), "MO0010", json,
            "'net.mobileone.json' and its weights disagree: stageChannels is [8, 16, 32, 24] in the architecture but [8, 16, 16, 24] in the weights");
    }

    [Fact]
    public void MO0010_MetadataDisagreesWithTensors()
    {
        using var models = new TempModels();
        string path = models.WriteWeights("meta.safetensors", Tiny, TestNets.SeededWeights(Tiny, 1),
            metadata: new Dictionary<string, string> { ["mobileone.architecture"] = "{\"numClasses\": 12, \"stemChannels\": 16}" });
        RunAssert.SingleError(GeneratorHarness.Run(path), "MO0010", path,
            "'meta.safetensors' and its weights disagree: stemChannels is 16 in the architecture but 8 in the weights; numClasses is 12 in the architecture but 10 in the weights");
    }

    // ---- MO0011 ----------------------------------------------------------------------------------------------

    [Theory]
    [InlineData("stage1.0.reparam_conv.weight", "stage1.0.rbr_conv.0.conv.weight")]
    [InlineData("stage2.1.reparam_conv.weight", "stage2.1.rbr_scale.conv.weight")]
    public void MO0011_TrainTimeCheckpoint(string fused, string unfused)
    {
        using var models = new TempModels();
        var entries = TestNets.Entries(Tiny);
        int i = entries.FindIndex(e => e.name == fused);
        entries[i] = (unfused, entries[i].dtype, entries[i].shape, entries[i].data);
        string path = TestNets.WriteRaw(models.PathOf("unfused.safetensors"), entries);
        RunAssert.SingleError(GeneratorHarness.Run(path), "MO0011", path, $"'unfused.safetensors' is not a fused MobileOne weight file: tensor '{unfused}' belongs to a train-time (unfused) checkpoint");
    }

    [Fact]
    public void MO0011_TimmTrainTimeCheckpoint()
    {
        using var models = new TempModels();
        var entries = TestNets.Entries(Tiny, TensorNaming.Timm);
        int i = entries.FindIndex(e => e.name == "stages.0.0.reparam_conv.weight");
        entries[i] = ("stages.0.0.conv_kxk.0.conv.weight", entries[i].dtype, entries[i].shape, entries[i].data);
        string path = TestNets.WriteRaw(models.PathOf("unfused.safetensors"), entries);
        RunAssert.SingleError(GeneratorHarness.Run(path), "MO0011", path, "tensor 'stages.0.0.conv_kxk.0.conv.weight' belongs to a train-time (unfused) checkpoint");
    }

    [Fact]
    public void MO0011_MixedAppleAndTimmNames()
    {
        using var models = new TempModels();
        var entries = TestNets.Entries(Tiny)
            .Select(e => e.name.StartsWith("linear.", StringComparison.Ordinal) ? ("head.fc." + e.name["linear.".Length..], e.dtype, e.shape, e.data) : e)
            .ToList();
        string path = TestNets.WriteRaw(models.PathOf("mixed.safetensors"), entries);
        RunAssert.SingleError(GeneratorHarness.Run(path), "MO0011", path, "it mixes Apple's tensor names ('stage0.reparam_conv.weight') with timm's ('head.fc.weight')");
    }

    [Fact]
    public void MO0011_NoStem()
    {
        using var models = new TempModels();
        var entries = TestNets.Entries(Tiny).Where(e => !e.name.StartsWith("stage0.", StringComparison.Ordinal)).ToList();
        string path = TestNets.WriteRaw(models.PathOf("nostem.safetensors"), entries);
        RunAssert.SingleError(GeneratorHarness.Run(path), "MO0011", path, "it has no stem tensor 'stage0.reparam_conv.weight' (timm: 'stem.reparam_conv.weight'); its first tensor is 'stage1.0.reparam_conv.weight'");
    }

    [Fact]
    public void MO0011_EmptyHeader()
    {
        using var models = new TempModels();
        string path = TestNets.WriteWithHeader(models.PathOf("empty.safetensors"), "{}", 0);
        RunAssert.SingleError(GeneratorHarness.Run(path), "MO0011", path, "it holds no tensors");
    }

    // ---- MO0012 .. MO0014: names and options -----------------------------------------------------------------

    [Theory]
    [InlineData("1abc")]
    [InlineData("class")]
    [InlineData("My-Net")]
    public void MO0012_InvalidClassNameFromMetadata(string className)
    {
        using var models = new TempModels();
        string path = models.WriteWeights("tiny.safetensors", Tiny, TestNets.SeededWeights(Tiny, 1));
        var run = GeneratorHarness.Run(new[] { new ModelItem(path, new() { ["MobileOneClassName"] = className }) });
        RunAssert.SingleError(run, "MO0012", path, $"'{className}' (from the MobileOneClassName metadata) is not a valid C# class name for model 'tiny'; set the MobileOneClassName item metadata");
    }

    [Fact]
    public void MO0012_InvalidClassNameFromFileName()
    {
        using var models = new TempModels();
        string path = models.WriteWeights("123.safetensors", Tiny, TestNets.SeededWeights(Tiny, 1));
        RunAssert.SingleError(GeneratorHarness.Run(path), "MO0012", path, "'123' (from the file name) is not a valid C# class name for model '123'");
    }

    [Fact]
    public void MO0012_ValidMetadataRescuesABadFileName()
    {
        using var models = new TempModels();
        string path = models.WriteWeights("123.safetensors", Tiny, TestNets.SeededWeights(Tiny, 1));
        var run = GeneratorHarness.Run(new[] { new ModelItem(path, new() { ["MobileOneClassName"] = "Digits" }) });
        RunAssert.NoGeneratorException(run);
        Assert.Empty(run.GeneratorDiagnostics);
        Assert.Equal(new[] { "TestApp.Digits.g.cs" }, run.HintNames);
    }

    [Fact]
    public void MO0013_DuplicateClassNames_SecondModelGetsNoSource()
    {
        using var models = new TempModels();
        Directory.CreateDirectory(models.PathOf("a"));
        Directory.CreateDirectory(models.PathOf("b"));
        string first = models.WriteWeights(Path.Combine("a", "net.safetensors"), Tiny, TestNets.SeededWeights(Tiny, 1));
        string second = models.WriteWeights(Path.Combine("b", "net.safetensors"), Tiny, TestNets.SeededWeights(Tiny, 2));
        GeneratorRun run = GeneratorHarness.Run(first, second);
        RunAssert.NoGeneratorException(run);
        Diagnostic d = Assert.Single(run.GeneratorDiagnostics);
        RunAssert.Error(d, "MO0013", second, "Model 'net.safetensors' would generate class 'TestApp.Net', which model 'net.safetensors' already generates; set the MobileOneClassName item metadata");
        Assert.Equal(new[] { "TestApp.Net.g.cs" }, run.HintNames);
    }

    [Fact]
    public void MO0013_SameNameInDifferentNamespacesIsFine()
    {
        using var models = new TempModels();
        Directory.CreateDirectory(models.PathOf("a"));
        Directory.CreateDirectory(models.PathOf("b"));
        string first = models.WriteWeights(Path.Combine("a", "net.safetensors"), Tiny, TestNets.SeededWeights(Tiny, 1));
        string second = models.WriteWeights(Path.Combine("b", "net.safetensors"), Tiny, TestNets.SeededWeights(Tiny, 2));
        GeneratorRun run = GeneratorHarness.Run(new[] { new ModelItem(first), new ModelItem(second, new() { ["MobileOneNamespace"] = "Other.Models" }) });
        RunAssert.NoGeneratorException(run);
        Assert.Empty(run.GeneratorDiagnostics);
        Assert.Equal(new[] { "Other.Models.Net.g.cs", "TestApp.Net.g.cs" }, run.HintNames.OrderBy(n => n, StringComparer.Ordinal));
    }

    [Theory]
    [InlineData("MobileOneAccessibility", "protected", "MobileOneAccessibility must be 'public' or 'internal', not 'protected'")]
    [InlineData("MobileOneEmbed", "yes", "MobileOneEmbed must be 'true' or 'false', not 'yes'")]
    [InlineData("MobileOneNamespace", "My..Models", "'My..Models' is not a valid namespace (MobileOneNamespace)")]
    [InlineData("MobileOneNamespace", "My.class", "'My.class' is not a valid namespace (MobileOneNamespace)")]
    public void MO0014_InvalidItemMetadata(string key, string value, string fragment)
    {
        using var models = new TempModels();
        string path = models.WriteWeights("tiny.safetensors", Tiny, TestNets.SeededWeights(Tiny, 1));
        var run = GeneratorHarness.Run(new[] { new ModelItem(path, new() { [key] = value }) });
        RunAssert.SingleError(run, "MO0014", path, "Model 'tiny': " + fragment);
    }

    // ---- MO0015 ----------------------------------------------------------------------------------------------

    [Fact]
    public void MO0015_TwoArchitectureFilesForOneModel()
    {
        using var models = new TempModels();
        string first = models.WriteText("net.mobileone.json", "{\"variant\": \"s0\"}");
        string second = models.WriteText("net.MobileOne.json", "{\"variant\": \"s1\"}");
        RunAssert.SingleError(GeneratorHarness.Run(first, second), "MO0015", second, $"Model 'net' has more than one architecture file: '{first}' and '{second}'; keep one");
    }

    [Fact]
    public void MO0015_TwoWeightFilesForOneModel()
    {
        using var models = new TempModels();
        string first = models.WriteWeights("net.safetensors", Tiny, TestNets.SeededWeights(Tiny, 1));
        string second = models.WriteWeights("net.SafeTensors", Tiny, TestNets.SeededWeights(Tiny, 2));
        RunAssert.SingleError(GeneratorHarness.Run(first, second), "MO0015", second, $"Model 'net' has more than one weight file: '{first}' and '{second}'; keep one");
    }

    // ---- MO0016 and the table --------------------------------------------------------------------------------

    [Fact]
    public void DescriptorTable_IsSequentialAllErrorsAndFormats()
    {
        var all = DiagnosticDescriptors.All.OrderBy(d => d.Id, StringComparer.Ordinal).ToList();
        Assert.Equal(Enumerable.Range(1, 20).Select(i => "MO" + i.ToString("0000", CultureInfo.InvariantCulture)), all.Select(d => d.Id));
        foreach (DiagnosticDescriptor d in all)
        {
            // Every diagnostic is an error except MO0017 (NaN/Inf weights), a warning: the class is still generated.
            Assert.Equal(d.Id == "MO0017" ? DiagnosticSeverity.Warning : DiagnosticSeverity.Error, d.DefaultSeverity);
            Assert.True(d.IsEnabledByDefault);
            Assert.Equal("MobileOne.Generator", d.Category);
            Assert.Same(d, DiagnosticDescriptors.Get(d.Id));
        }

        // MO0016 is only raised when a pipeline step throws (a bug); no input reaches it, so check its text here
        // (GeneratorFaultTests injects exceptions into each step).
        var info = PipelineGuard.InternalError("/x/m.safetensors", TrackingNames.BuildNetworkSpec, new NullReferenceException("boom"));
        RunAssert.Error(info.ToDiagnostic(), "MO0016", "/x/m.safetensors", "MobileOne.Generator failed on 'm.safetensors': NullReferenceException in BuildNetworkSpec: boom. Please report this with the file.");
    }

    // ---- cross-cutting ---------------------------------------------------------------------------------------

    [Fact]
    public void FailingModelDoesNotStopOtherModels()
    {
        using var models = new TempModels();
        string good = models.WriteWeights("good.safetensors", Tiny, TestNets.SeededWeights(Tiny, 1));
        var entries = TestNets.Entries(Tiny);
        entries.RemoveAll(e => e.name == "linear.bias");
        string bad = TestNets.WriteRaw(models.PathOf("bad.safetensors"), entries);
        string badJson = models.WriteText("worse.mobileone.json", "{");
        GeneratorRun run = GeneratorHarness.Run(good, bad, badJson);
        RunAssert.NoGeneratorException(run);
        Assert.Equal(new[] { "TestApp.Good.g.cs" }, run.HintNames);
        Assert.Equal(new[] { ("MO0003", badJson), ("MO0007", bad) }, run.GeneratorDiagnostics.Select(d => (d.Id, d.Location.GetLineSpan().Path)).OrderBy(p => p.Id, StringComparer.Ordinal));
    }

    [Fact]
    public void ModelWithSeveralTensorProblemsReportsEachAndNoSource()
    {
        using var models = new TempModels();
        var entries = TestNets.Entries(Tiny);
        entries.RemoveAll(e => e.name == "stage1.0.reparam_conv.bias");
        entries.Add(("extra.weight", "F32", new long[] { 1 }, new byte[4]));
        string path = TestNets.WriteRaw(models.PathOf("many.safetensors"), entries);
        GeneratorRun run = GeneratorHarness.Run(path);
        RunAssert.NoGeneratorException(run);
        Assert.Empty(run.HintNames);
        Assert.Equal(new[] { "MO0007", "MO0008" }, run.GeneratorDiagnostics.Select(d => d.Id).OrderBy(id => id, StringComparer.Ordinal));
        Assert.All(run.GeneratorDiagnostics, d => Assert.Equal(path, d.Location.GetLineSpan().Path));
    }
}
