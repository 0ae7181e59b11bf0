using System;
using System.IO;
using System.Linq;
using MobileOne.Conversion;
using MobileOne.TestSupport;
using Xunit;

namespace MobileOne.Conversion.Tests;

/// <summary>
/// PyTorch torch.save zip files written by an independent writer (CPython's pickle + zipfile, Fixtures/make_fixtures.py)
/// read back tensor for tensor equal to their safetensors twins; malicious pickles are refused by name and never run.
/// </summary>
public class CheckpointReaderTests
{
    private const string Marker = "/tmp/mobileone-fixture-pwned";

    [Theory]
    [InlineData("tiny_unfused.pth.tar", null, false, "F32")]
    [InlineData("tiny_wrapped.pth", "state_dict", true, "F32")]
    [InlineData("tiny_timm_f16.pt", "model", false, "F16")]
    [InlineData("tiny_fused.pth", null, false, "F32")]
    public void PyTorchZipEqualsItsSafetensorsTwin(string file, string? wrapper, bool modulePrefix, string floatType)
    {
        StateDict pth = Checkpoint.Load(Fixture.Path(file));
        StateDict twin = Checkpoint.Load(Fixture.Path(file.Split('.')[0] + ".twin.safetensors"));
        Assert.Equal("PyTorch zip (torch.save)", pth.Container);
        Assert.Equal("safetensors", twin.Container);
        Assert.Equal(wrapper, pth.WrapperKey);
        Assert.Equal(modulePrefix, pth.RemovedModulePrefix);
        Assert.Equal(twin.Tensors.Select(t => t.Name), pth.Tensors.Select(t => t.Name)); // file order kept (OrderedDict)
        foreach (Tensor t in twin.Tensors)
        {
            Tensor p = pth.Find(t.Name)!;
            Assert.Equal(t.DType, p.DType);
            Assert.Equal(t.Shape, p.Shape);
            Assert.Equal(t.Values, p.Values);
        }

        Assert.Contains(pth.Tensors, t => t.DType == floatType);
        Assert.Contains(pth.Tensors, t => t.DType == "I64" || file == "tiny_fused.pth"); // num_batches_tracked (0-dim LongStorage)
    }

    [Fact]
    public void SharedStoragesOffsetsAndTransposedViewsAreRead()
    {
        StateDict pth = Checkpoint.Load(Fixture.Path("tiny_fused.pth"));
        Tensor bias = pth.Find("stage0.reparam_conv.bias")!;
        Assert.Equal(Enumerable.Range(0, 8).Select(i => (float)(0.01 * i)), bias.Values);
        Tensor w = pth.Find("linear.weight")!;
        Assert.Equal(new[] { 5, 24 }, w.Shape);
    }

    [Fact]
    public void FixturesAreRecognisedAsMobileOnes()
    {
        MobileOneCheckpoint apple = MobileOneCheckpoint.Analyze(Checkpoint.Load(Fixture.Path("tiny_unfused.pth.tar")), 64, 64);
        Assert.Equal(CheckpointForm.TrainTime, apple.Form);
        Assert.Equal(NamingConvention.Apple, apple.Naming);
        Assert.Equal(2, apple.NumConvBranches);
        Assert.Equal(new NetworkArchitecture(3, 64, 64, 8, new[] { 8, 16, 16, 24 }, new[] { 1, 2, 1, 1 }, new[] { 0, 0, 1, 1 }, 5), apple.Architecture);
        MobileOneCheckpoint timm = MobileOneCheckpoint.Analyze(Checkpoint.Load(Fixture.Path("tiny_timm_f16.pt")), 64, 64);
        Assert.Equal(NamingConvention.Timm, timm.Naming);
        Assert.Equal(apple.Architecture, timm.Architecture);
        MobileOneCheckpoint fused = MobileOneCheckpoint.Analyze(Checkpoint.Load(Fixture.Path("tiny_fused.pth")), 64, 64);
        Assert.Equal(CheckpointForm.Fused, fused.Form);
    }

    [Fact]
    public void FusedPyTorchFixtureAgreesWithItsTrainTimeForward()
    {
        var arch = new MobileOneArchitecture(3, 64, 64, 8, new[] { 8, 16, 16, 24 }, new[] { 1, 2, 1, 1 }, new[] { 0, 0, 1, 1 }, 5);
        MobileOneCheckpoint cp = MobileOneCheckpoint.Analyze(Checkpoint.Load(Fixture.Path("tiny_wrapped.pth")), 64, 64);
        FusedNetwork fused = Reparameterizer.Fuse(cp);
        float[] a = TestData.RandomInput(arch, 1), b = TestData.RandomInput(arch, 2);
        double[] refA = TrainTimeForward(cp, arch, a), refB = TrainTimeForward(cp, arch, b);
        LogitComparison.AssertDistinguishable(refA, refB, "tiny", factor: 10);
        LogitComparison.AssertClose(refA, DoubleReference.Run(arch, TrainTimeNet.ToFusedWeights(arch, fused), a), "tiny_wrapped.pth fused");
    }

    [Theory]
    [InlineData("evil_os_system.pth", "'os.system'")]
    [InlineData("evil_builtins_eval.pth", "'builtins.eval'")]
    [InlineData("evil_stack_global.pth", "'os.system'")]
    [InlineData("unknown_global.pth", "'mobileone.MobileOne'")]
    public void PicklesNamingOtherGlobalsAreRefusedByNameAndNothingRuns(string file, string global)
    {
        File.Delete(Marker);
        var e = Assert.Throws<ConversionException>(() => Checkpoint.Load(Fixture.Path(file)));
        Assert.Equal(ConversionErrorKind.UnsafePickle, e.Kind);
        Assert.Contains(global, e.Message, StringComparison.Ordinal);
        Assert.Contains("Nothing was executed", e.Message, StringComparison.Ordinal);
        Assert.False(File.Exists(Marker));
    }

    [Fact]
    public void StackGlobalWithComputedNamesIsRefused()
    {
        // STACK_GLOBAL whose operands are not literal strings (here: built by a REDUCE) cannot be checked, so it is refused.
        byte[] pickle = { 0x80, 4, (byte)'c', (byte)'c', (byte)'o', (byte)'l', (byte)'l', (byte)'e', (byte)'c', (byte)'t', (byte)'i', (byte)'o', (byte)'n', (byte)'s', (byte)'\n',
            (byte)'O', (byte)'r', (byte)'d', (byte)'e', (byte)'r', (byte)'e', (byte)'d', (byte)'D', (byte)'i', (byte)'c', (byte)'t', (byte)'\n', (byte)')', (byte)'R',
            0x8c, 6, (byte)'s', (byte)'y', (byte)'s', (byte)'t', (byte)'e', (byte)'m', 0x93, (byte)'.' };
        var e = Assert.Throws<ConversionException>(() => PickleAllowlist.Check(pickle, "x"));
        Assert.Equal(ConversionErrorKind.UnsafePickle, e.Kind);
        Assert.Contains("STACK_GLOBAL", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(100)]
    [InlineData(3000)]
    [InlineData(40000)]
    public void TruncatedZipIsReportedAsTruncated(int cut)
    {
        byte[] good = Fixture.Bytes("tiny_unfused.pth.tar");
        var e = Assert.Throws<ConversionException>(() => Checkpoint.Load(good.AsSpan(0, good.Length - cut).ToArray(), "cut.pth"));
        Assert.Equal(ConversionErrorKind.Truncated, e.Kind);
        Assert.Contains("truncated", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void TruncatedSafetensorsIsReportedAsTruncated()
    {
        byte[] good = Fixture.Bytes("tiny_unfused.twin.safetensors");
        var e = Assert.Throws<ConversionException>(() => Checkpoint.Load(good.AsSpan(0, good.Length - 10).ToArray(), "cut.safetensors"));
        Assert.Equal(ConversionErrorKind.Truncated, e.Kind);
    }

    [Fact]
    public void OtherFilesAreNotCheckpoints()
    {
        var e = Assert.Throws<ConversionException>(() => Checkpoint.Load("hello world, not a model"u8.ToArray(), "text.pth"));
        Assert.Equal(ConversionErrorKind.InvalidFormat, e.Kind);
        var legacy = Assert.Throws<ConversionException>(() => Checkpoint.Load(new byte[] { 0x80, 2, 0x8a, 10, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19, (byte)'.' }, "old.pth"));
        Assert.Contains("legacy torch.save format", legacy.Message, StringComparison.Ordinal);
        Assert.Throws<FileNotFoundException>(() => Checkpoint.Load("/nonexistent/model.pth"));
    }

    /// <summary>
    /// Written by TorchSharp.PyBridge 1.4.4's PyTorchPickler.PickleStateDict with TorchSharp 0.107.0's managed assembly:
    /// an empty state dict is all it can write here, since any tensor needs libtorch, whose native library does not load.
    /// </summary>
    [Fact]
    public void PyBridgeEmptyStateDictIsReadAndReportedAsHoldingNoTensors()
    {
        StateDict sd = Checkpoint.Load(Fixture.Path("pybridge_empty.pth"));
        Assert.Equal(0, sd.Count);
        var e = Assert.Throws<ConversionException>(() => MobileOneCheckpoint.Analyze(sd));
        Assert.Contains("holds no tensors", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void NonMobileOneCheckpointIsNamed()
    {
        var e = Assert.Throws<ConversionException>(() => MobileOneCheckpoint.Analyze(Checkpoint.Load(Fixture.Path("resnet_like.pth"))));
        Assert.Equal(ConversionErrorKind.NotMobileOne, e.Kind);
        Assert.Contains("'conv1.weight'", e.Message, StringComparison.Ordinal);
    }

    /// <summary>The train-time forward of a checkpoint read from a file, through <see cref="TrainTimeNet.Forward"/>.</summary>
    private static double[] TrainTimeForward(MobileOneCheckpoint cp, MobileOneArchitecture arch, float[] input)
    {
        var net = TrainTimeNetFrom(cp, arch);
        return net.Forward(input);
    }

    private static TrainTimeNet TrainTimeNetFrom(MobileOneCheckpoint cp, MobileOneArchitecture arch) =>
        TrainTimeNet.FromTensors(arch, cp.NumConvBranches, 1e-5, cp.StateDict.Tensors
            .Where(t => !t.Name.EndsWith("num_batches_tracked", StringComparison.Ordinal))
            .ToDictionary(t => t.Name, t => t.Values));
}
