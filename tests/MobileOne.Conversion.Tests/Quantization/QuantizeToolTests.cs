using System;
using System.Buffers.Binary;
using System.IO;
using System.IO.Compression;
using System.Linq;
using MobileOne.Conversion.Quantization;
using MobileOne.TestSupport;
using MobileOne.Tool;
using Xunit;

namespace MobileOne.Conversion.Tests.Quantization;

/// <summary><c>mobileone quantize</c> and <c>mobileone inspect</c> on quantized files, in-process through <see cref="Program.Run"/>.</summary>
public class QuantizeToolTests
{
    private static (int Code, string Out, string Err) Run(params string[] args)
    {
        var o = new StringWriter();
        var e = new StringWriter();
        int code = Program.Run(args, o, e);
        return (code, o.ToString(), e.ToString());
    }

    [Fact]
    public void QuantizesTheFashionMnistSampleFromItsIdxTrainingImagesAndInspectShowsIt()
    {
        using var dir = new TempDir();
        string output = dir["fashion_int8.safetensors"];
        var (code, stdout, stderr) = Run("quantize", QuantizationTestData.FashionModel, "--calibration", QuantizationTestData.FashionTrainImages, "-o", output, "--max-images", "200");
        Assert.True(code == 0, stderr);
        Assert.Contains("200 of 10,000 IDX 28x28 grey images", stdout, StringComparison.Ordinal);
        Assert.Contains("centred on 32x32, normalised with mean [0.286], std [0.353]", stdout, StringComparison.Ordinal);
        Assert.Contains("stage4.1", stdout, StringComparison.Ordinal);
        Assert.Contains("pair rule:", stdout, StringComparison.Ordinal);
        Assert.Contains("calib max", stdout, StringComparison.Ordinal);

        QuantizedNetwork q = QuantizedNetwork.Read(output);
        Assert.Equal("percentile", q.Method);
        Assert.Equal(QuantizationOptions.DefaultPercentile, q.Percentile);
        Assert.Equal(200, q.CalibrationImages);
        StateDict source = Checkpoint.Load(QuantizationTestData.FashionModel);
        Assert.Equal(source.Metadata[FusedNetwork.ArchitectureMetadataKey], q.ArchitectureJson); // labels, mean and std survive

        // The INT8 network (the contract's scalar reference) classifies like the FP32 one.
        FusedNetwork fp32 = FusedNetwork.FromCheckpoint(MobileOneCheckpoint.Analyze(source, 32, 32));
        CalibrationSet test = CalibrationSet.Open(QuantizationTestData.RepositoryPath("data/fashion-mnist/t10k-images-idx3-ubyte.gz"), fp32.Architecture, InputNormalization.FromArchitectureJson(q.ArchitectureJson), 300);
        float[] inputs = Enumerable.Range(0, test.Count).SelectMany(i => test[i].ToArray()).ToArray();
        float[] expected = new FusedForward(fp32).RunBatch(inputs, test.Count);
        float[] actual = new Int8Reference(q).RunBatch(inputs, test.Count);
        int agree = Enumerable.Range(0, test.Count).Count(i => QuantizationTestData.ArgMax(expected.AsSpan(i * 10, 10)) == QuantizationTestData.ArgMax(actual.AsSpan(i * 10, 10)));
        Assert.True(agree >= 0.97 * test.Count, $"INT8 agrees with FP32 on {agree} of {test.Count} test images");

        var inspect = Run("inspect", output);
        Assert.True(inspect.Code == 0, inspect.Err);
        Assert.Contains("INT8 quantized", inspect.Out, StringComparison.Ordinal);
        Assert.Contains("percentile 99.99, 200 images", inspect.Out, StringComparison.Ordinal);
        Assert.Contains(q.InputScale.ToString("G6", System.Globalization.CultureInfo.InvariantCulture), inspect.Out, StringComparison.Ordinal);
        Assert.Contains(q["stage3.7"].OutputScale.ToString("G4", System.Globalization.CultureInfo.InvariantCulture), inspect.Out, StringComparison.Ordinal);
        Assert.Contains("21 I8, 23 F32, 21 I32", inspect.Out, StringComparison.Ordinal);
        Assert.Contains("generator:", inspect.Out, StringComparison.Ordinal);
        Assert.Contains("stage0.reparam_conv.weight_scale", Run("inspect", output, "--tensors").Out, StringComparison.Ordinal);
    }

    [Fact]
    public void MinMaxFromRawFloatsWithoutEqualization()
    {
        using var dir = new TempDir();
        MobileOneArchitecture arch = QuantizationTestData.SeArch;
        string model = QuantizationTestData.WriteFused(dir, "se.safetensors", arch, 12);
        float[] images = TestData.RandomBatch(arch, 3, 4);
        byte[] raw = new byte[images.Length * 4];
        for (int i = 0; i < images.Length; i++)
        {
            BinaryPrimitives.WriteSingleLittleEndian(raw.AsSpan(i * 4), images[i]);
        }

        string calibration = dir.Write("cal.bin", raw);
        string output = dir["se_int8.safetensors"];
        var (code, stdout, stderr) = Run("quantize", model, "--calibration", calibration, "-o", output, "--method", "minmax", "--no-equalize");
        Assert.True(code == 0, stderr);
        Assert.Contains("3 of 3 raw float32 3x64x64 images", stdout, StringComparison.Ordinal);
        Assert.DoesNotContain("equalization:", stdout, StringComparison.Ordinal);
        QuantizedNetwork q = QuantizedNetwork.Read(output);
        Assert.Equal("minmax", q.Method);
        Assert.Null(q.Percentile);
        Assert.Equal(images.Max(MathF.Abs) / 127f, q.InputScale);
    }

    [Theory]
    [InlineData("quantized", ExitCodes.WrongForm, "is already quantized")]
    [InlineData("train-time", ExitCodes.WrongForm, "mobileone fuse")]
    [InlineData("missing model", ExitCodes.InputNotFound, "does not exist")]
    [InlineData("missing calibration", ExitCodes.InputNotFound, "nope.bin' does not exist")]
    [InlineData("bad length", ExitCodes.InvalidInput, "not a whole number of raw float32 images: the model takes 1x32x32 CHW images of 1,024 floats")]
    [InlineData("bad idx", ExitCodes.InvalidInput, "magic 0x00000803")]
    [InlineData("output folder", ExitCodes.OutputFailed, "does not exist")]
    public void BadInputsGiveAClearMessageTheRightExitCodeAndNoOutput(string input, int expectedCode, string message)
    {
        using var dir = new TempDir();
        string model = QuantizationTestData.WriteFused(dir, "grey.safetensors", QuantizationTestData.GreyArch, 3);
        string calibration = dir.Write("cal.bin", new byte[4096 * 2]);
        string output = dir["out.safetensors"];
        switch (input)
        {
            case "quantized":
                Assert.Equal(0, Run("quantize", model, "--calibration", calibration, "-o", dir["q.safetensors"]).Code);
                model = dir["q.safetensors"];
                break;
            case "train-time":
                model = Fixture.Path("tiny_unfused.pth.tar");
                break;
            case "missing model":
                model = dir["nope.safetensors"];
                break;
            case "missing calibration":
                calibration = dir["nope.bin"];
                break;
            case "bad length":
                calibration = dir.Write("cal3.bin", new byte[4096 + 3]);
                break;
            case "bad idx":
                calibration = dir.Write("labels.gz", Gzip(new byte[] { 0, 0, 8, 1, 0, 0, 0, 0 }));
                break;
            case "output folder":
                output = Path.Combine(dir.Directory, "missing", "out.safetensors");
                break;
        }

        string[] before = Directory.GetFiles(dir.Directory);
        var (code, _, stderr) = Run("quantize", model, "--calibration", calibration, "-o", output);
        Assert.Equal(expectedCode, code);
        Assert.StartsWith("error: ", stderr, StringComparison.Ordinal);
        Assert.Contains(message, stderr, StringComparison.Ordinal);
        Assert.False(File.Exists(output));
        Assert.Equal(before, Directory.GetFiles(dir.Directory)); // nothing left behind, not even a temporary file
    }

    [Theory]
    [InlineData("--percentile", "0")]
    [InlineData("--percentile", "100.5")]
    [InlineData("--max-images", "0")]
    [InlineData("--method", "entropy")]
    public void BadOptionsAreUsageErrors(string option, string value)
    {
        using var dir = new TempDir();
        string model = QuantizationTestData.WriteFused(dir, "grey.safetensors", QuantizationTestData.GreyArch, 3);
        string calibration = dir.Write("cal.bin", new byte[4096]);
        var (code, _, _) = Run("quantize", model, "--calibration", calibration, "-o", dir["out.safetensors"], option, value);
        Assert.Equal(ExitCodes.Usage, code);
        Assert.False(File.Exists(dir["out.safetensors"]));
        Assert.Equal(ExitCodes.Usage, Run("quantize", model, "-o", dir["out.safetensors"]).Code); // --calibration is required
    }

    private static byte[] Gzip(byte[] data)
    {
        using var output = new MemoryStream();
        using (var gz = new GZipStream(output, CompressionLevel.Fastest))
        {
            gz.Write(data);
        }

        return output.ToArray();
    }
}
