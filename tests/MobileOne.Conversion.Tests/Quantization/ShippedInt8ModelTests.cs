using System;
using System.IO;
using MobileOne.TestSupport;
using Xunit;

namespace MobileOne.Conversion.Tests.Quantization;

/// <summary>The sample's int8 model is what the README's command makes of the shipped FP32 model and training slice.</summary>
public class ShippedInt8ModelTests
{
    [Fact]
    public void ShippedInt8ModelIsTheQuantizersOutput()
    {
        string repo = ProcessRunner.RepositoryRoot();
        string models = Path.Combine(repo, "samples", "MobileOne.Sample", "models");
        DirectoryInfo temp = Directory.CreateTempSubdirectory("mobileone-quantize-");
        try
        {
            string output = Path.Combine(temp.FullName, "fashion_mnist_int8.safetensors");
            var stdout = new StringWriter();
            var stderr = new StringWriter();
            int code = MobileOne.Tool.Program.Run(
                new[] { "quantize", Path.Combine(models, "fashion_mnist.safetensors"), "--calibration", Path.Combine(repo, "data", "fashion-mnist", "train-first10000-images-idx3-ubyte.gz"), "-o", output },
                stdout,
                stderr);
            Assert.True(code == 0, stderr.ToString());
            Assert.True(File.ReadAllBytes(Path.Combine(models, "fashion_mnist_int8.safetensors")).AsSpan().SequenceEqual(File.ReadAllBytes(output)),
                "samples/MobileOne.Sample/models/fashion_mnist_int8.safetensors is not what `mobileone quantize` makes of fashion_mnist.safetensors now; regenerate it (docs/quantization.md).");
        }
        finally
        {
            temp.Delete(recursive: true);
        }
    }
}
