using System;
using System.IO;
using System.Linq;
using MobileOne.Conversion;
using MobileOne.TestSupport;
using MobileOne.Tool;
using Xunit;
using ConvTensor = MobileOne.Conversion.Tensor;

namespace MobileOne.Conversion.Tests;

/// <summary>The <c>mobileone</c> commands end to end, in-process through <see cref="Program.Run"/>.</summary>
public class ToolTests
{
    private static readonly MobileOneArchitecture TinyArch = new(3, 64, 64, 8, new[] { 8, 16, 16, 24 }, new[] { 1, 2, 1, 1 }, new[] { 0, 0, 1, 1 }, 5);

    private static (int Code, string Out, string Err) Run(params string[] args)
    {
        var o = new StringWriter();
        var e = new StringWriter();
        int code = Program.Run(args, o, e);
        return (code, o.ToString(), e.ToString());
    }

    [Fact]
    public void FuseWritesFusedSafetensorsThatTheGeneratorAccepts()
    {
        using var dir = new TempDir();
        string output = dir["tiny.safetensors"];
        var (code, stdout, stderr) = Run("fuse", Fixture.Path("tiny_wrapped.pth"), "-o", output, "--input-size", "64");
        Assert.True(code == 0, stderr);
        Assert.Contains("train-time (k = 2)", stdout, StringComparison.Ordinal);

        // The same tensors as the library's fusion, and the architecture (with the input size) in the metadata.
        StateDict sd = Checkpoint.Load(output);
        Assert.Contains("\"inputSize\": [64, 64]", sd.Metadata[FusedNetwork.ArchitectureMetadataKey], StringComparison.Ordinal);
        FusedNetwork expected = Reparameterizer.Fuse(MobileOneCheckpoint.Analyze(Checkpoint.Load(Fixture.Path("tiny_wrapped.pth")), 64, 64));
        foreach (var (name, _, values) in expected.Tensors())
        {
            Assert.Equal(values, sd.Find(name)!.Values);
        }

        var inspect = Run("inspect", output);
        Assert.Equal(0, inspect.Code);
        Assert.Contains("accepted: generates class MyApp.Tiny", inspect.Out, StringComparison.Ordinal);
        Assert.Contains("[1, 3, 64, 64]", inspect.Out, StringComparison.Ordinal);
        Assert.Contains("[1, 5] logits", inspect.Out, StringComparison.Ordinal);
    }

    [Fact]
    public void FuseWithDtypeAndTimmNames()
    {
        using var dir = new TempDir();
        string output = dir["tiny_f16.safetensors"];
        var (code, _, stderr) = Run("fuse", Fixture.Path("tiny_timm_f16.pt"), "-o", output, "--dtype", "f16", "--naming", "timm", "--eps", "1e-3");
        Assert.True(code == 0, stderr);
        StateDict sd = Checkpoint.Load(output);
        Assert.All(sd.Tensors, t => Assert.Equal("F16", t.DType));
        Assert.NotNull(sd.Find("stem.reparam_conv.weight"));
        Assert.NotNull(sd.Find("stages.3.1.attn.fc1.weight"));
        Assert.Contains("eps=0.001", sd.Metadata["mobileone.producer"], StringComparison.Ordinal);
    }

    [Fact]
    public void ConvertRewritesAFusedPyTorchCheckpoint()
    {
        using var dir = new TempDir();
        string output = dir["fused.safetensors"];
        var (code, _, stderr) = Run("convert", Fixture.Path("tiny_fused.pth"), "-o", output, "--input-size", "64x64");
        Assert.True(code == 0, stderr);
        StateDict pth = Checkpoint.Load(Fixture.Path("tiny_fused.pth")), st = Checkpoint.Load(output);
        Assert.Equal(pth.Count, st.Count);
        foreach (ConvTensor t in pth.Tensors)
        {
            Assert.Equal(t.Values, st.Find(t.Name)!.Values);
        }

        Assert.Contains("accepted", Run("inspect", output).Out, StringComparison.Ordinal);
    }

    [Fact]
    public void ConvertRefusesATrainTimeCheckpointAndWritesNothing()
    {
        using var dir = new TempDir();
        var (code, _, stderr) = Run("convert", Fixture.Path("tiny_unfused.pth.tar"), "-o", dir["x.safetensors"]);
        Assert.Equal(ExitCodes.WrongForm, code);
        Assert.Contains("mobileone fuse", stderr, StringComparison.Ordinal);
        Assert.Empty(Directory.GetFiles(dir.Directory));
    }

    [Fact]
    public void InspectShowsTheLayerTableAndWhatToRun()
    {
        var (code, stdout, stderr) = Run("inspect", Fixture.Path("tiny_unfused.pth.tar"), "--input-size", "64", "--tensors");
        Assert.True(code == 0, stderr);
        Assert.Contains("train-time: 2 conv branch(es)", stdout, StringComparison.Ordinal);
        Assert.Contains("stage2.2", stdout, StringComparison.Ordinal);
        Assert.Contains("stages.1.2", stdout, StringComparison.Ordinal);
        Assert.Contains("2 conv + scale + skip", stdout, StringComparison.Ordinal);
        Assert.Contains("stage0.rbr_scale.bn.running_var", stdout, StringComparison.Ordinal); // --tensors
        Assert.Contains("mobileone fuse", stdout, StringComparison.Ordinal);
        Assert.Contains(TinyArch.ParameterCount.ToString("N0", System.Globalization.CultureInfo.InvariantCulture) + " parameters", stdout, StringComparison.Ordinal);
    }

    [Fact]
    public void InspectReportsThePublishedCountsOfS1()
    {
        NetworkArchitecture s1 = NetworkArchitecture.Preset("s1");
        using var dir = new TempDir();
        string path = dir["mobileone_s1.safetensors"];
        SafetensorsFile.Write(path, s1.FusedTensors().Select(t => (t.Name, t.Shape, new float[ConvTensor.ElementCountOf(t.Shape)])), "F16", null);
        var (code, stdout, stderr) = Run("inspect", path);
        Assert.True(code == 0, stderr);
        Assert.Contains("MobileOne-S1", stdout, StringComparison.Ordinal);
        Assert.Contains("4,764,840 parameters, 825,057,024 MACs", stdout, StringComparison.Ordinal);
        Assert.Contains("accepted: generates class MyApp.MobileOneS1", stdout, StringComparison.Ordinal);
    }

    [Fact]
    public void ExportOnnxOfATrainTimeCheckpointAgreesWithItsTrainTimeForward()
    {
        using var dir = new TempDir();
        string output = dir["tiny.onnx"];
        var (code, stdout, stderr) = Run("export-onnx", Fixture.Path("tiny_unfused.pth.tar"), "-o", output, "--input-size", "64");
        Assert.True(code == 0, stderr);
        Assert.Contains("[N, 3, 64, 64]", stdout, StringComparison.Ordinal);
        MobileOneCheckpoint cp = MobileOneCheckpoint.Analyze(Checkpoint.Load(Fixture.Path("tiny_unfused.pth.tar")), 64, 64);
        var train = TrainTimeNet.FromTensors(TinyArch, 2, 1e-5, cp.StateDict.Tensors.Where(t => !t.Name.EndsWith("num_batches_tracked", StringComparison.Ordinal)).ToDictionary(t => t.Name, t => t.Values));
        float[] input = TestData.RandomInput(TinyArch, 3);
        using var ort = new OrtRunner(File.ReadAllBytes(output));
        LogitComparison.AssertClose(train.Forward(input), ort.Run(input), "ONNX Runtime on the export vs train-time forward");
    }

    [Theory]
    [InlineData("missing", ExitCodes.InputNotFound, "does not exist")]
    [InlineData("truncated", ExitCodes.InvalidInput, "truncated")]
    [InlineData("evil_os_system.pth", ExitCodes.UnsafePickle, "'os.system'")]
    [InlineData("evil_builtins_eval.pth", ExitCodes.UnsafePickle, "'builtins.eval'")]
    [InlineData("unknown_global.pth", ExitCodes.UnsafePickle, "'mobileone.MobileOne'")]
    [InlineData("resnet_like.pth", ExitCodes.NotMobileOne, "'conv1.weight'")]
    [InlineData("missing_keys", ExitCodes.NotMobileOne, "stage1.1.rbr_conv.1.conv.weight [8, 8, 1, 1]")]
    // The class count comes from linear.weight's rows (the shared model's inference, the generator's), so linear.bias is the odd one out too.
    [InlineData("wrong_shape", ExitCodes.NotMobileOne, "is [16, 5], expected [16, 24]")]
    public void BadInputsGiveAClearMessageANonZeroExitAndNoOutput(string input, int expectedCode, string message)
    {
        using var dir = new TempDir();
        string path = input switch
        {
            "missing" => dir["nope.pth"],
            "truncated" => dir.Write("cut.pth", Fixture.Bytes("tiny_unfused.pth.tar")[..^500]),
            "missing_keys" => WriteTrainTime(dir, t => t.Name != "stage1.1.rbr_conv.1.conv.weight"),
            "wrong_shape" => WriteTrainTime(dir, t => true, t => t.Name == "linear.weight" ? new ConvTensor(t.Name, "F32", new[] { 16, 5 }, t.Values[..80]) : t),
            _ => Fixture.Path(input),
        };
        string output = dir["out.safetensors"];
        foreach (string command in new[] { "fuse", "export-onnx" })
        {
            var (code, _, stderr) = Run(command, path, "-o", output);
            Assert.Equal(expectedCode, code);
            Assert.Contains(message, stderr, StringComparison.Ordinal);
            Assert.StartsWith("error: ", stderr, StringComparison.Ordinal);
            Assert.False(File.Exists(output));
        }

        Assert.Equal(expectedCode, Run("inspect", path).Code);
        Assert.DoesNotContain(Directory.GetFiles(dir.Directory), f => f.Contains(".tmp", StringComparison.Ordinal));
    }

    [Fact]
    public void AFailedRunLeavesAnExistingOutputUntouched()
    {
        using var dir = new TempDir();
        string output = dir.Write("out.safetensors", new byte[] { 1, 2, 3 });
        Assert.Equal(ExitCodes.UnsafePickle, Run("fuse", Fixture.Path("evil_os_system.pth"), "-o", output).Code);
        Assert.Equal(new byte[] { 1, 2, 3 }, File.ReadAllBytes(output));
        var (code, _, stderr) = Run("fuse", Fixture.Path("tiny_unfused.pth.tar"), "-o", Path.Combine(dir.Directory, "missing-folder", "x.safetensors"));
        Assert.Equal(ExitCodes.OutputFailed, code);
        Assert.Contains("does not exist", stderr, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("fuse", "x.pth")] // no -o
    [InlineData("fuse", "x.pth", "-o", "y.safetensors", "--dtype", "f8")]
    [InlineData("frobnicate")]
    public void UsageErrorsExitWithOne(params string[] args)
    {
        Assert.Equal(ExitCodes.Usage, Run(args).Code);
    }

    [Fact]
    public void BadInputSizeIsAUsageError()
    {
        using var dir = new TempDir();
        var (code, _, stderr) = Run("fuse", Fixture.Path("tiny_unfused.pth.tar"), "-o", dir["x.safetensors"], "--input-size", "7x9");
        Assert.Equal(ExitCodes.Usage, code);
        Assert.Contains("--input-size", stderr, StringComparison.Ordinal);
        Assert.Empty(Directory.GetFiles(dir.Directory));
    }

    private static string WriteTrainTime(TempDir dir, Func<ConvTensor, bool> keep, Func<ConvTensor, ConvTensor>? edit = null)
    {
        StateDict sd = Checkpoint.Load(Fixture.Path("tiny_unfused.twin.safetensors"));
        string path = dir["broken.safetensors"];
        SafetensorsFile.Write(path, sd.Tensors.Where(keep).Select(edit ?? (t => t)).Where(t => t.DType == "F32").Select(t => (t.Name, t.Shape, t.Values)), "F32", null);
        return path;
    }
}
