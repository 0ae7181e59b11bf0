using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text.Json;
using MobileOne.Conversion.Quantization;
using MobileOne.TestSupport;

namespace MobileOne.Conversion.Tests.Quantization;

/// <summary>Small networks, calibration sets and safetensors surgery for the quantization tests.</summary>
internal static class QuantizationTestData
{
    /// <summary>3x64x64, SE on the last pair of stages 3 and 4, widths that are not multiples of a vector (tails run).</summary>
    public static readonly MobileOneArchitecture SeArch = new(3, 64, 64, 8, new[] { 12, 16, 20, 24 }, new[] { 1, 2, 2, 1 }, new[] { 0, 0, 1, 1 }, 5);

    /// <summary>1x32x32 grey input, no SE: the shape of the Fashion-MNIST sample, smaller.</summary>
    public static readonly MobileOneArchitecture GreyArch = new(1, 32, 32, 8, new[] { 8, 16, 16, 32 }, new[] { 1, 1, 2, 1 }, new[] { 0, 0, 0, 0 }, 10);

    public static string RepositoryPath(string relative) => Path.Combine(ProcessRunner.RepositoryRoot(), relative);

    public static string FashionModel => RepositoryPath("samples/MobileOne.Sample/models/fashion_mnist.safetensors");

    public static string FashionTrainImages => RepositoryPath("data/fashion-mnist/train-first10000-images-idx3-ubyte.gz");

    public static FusedNetwork Network(MobileOneArchitecture arch, FusedWeights weights) =>
        new(arch.ToConversion(), weights.Tensors().ToDictionary(t => t.Name, t => t.Values, StringComparer.Ordinal));

    public static FusedNetwork Network(MobileOneArchitecture arch, int seed) => Network(arch, FusedWeights.Random(arch, seed));

    public static CalibrationSet Calibration(MobileOneArchitecture arch, int count, int seed) =>
        new(TestData.RandomBatch(arch, count, seed), count, arch.InputChannels, arch.InputHeight, arch.InputWidth, "random", count);

    /// <summary>A fused FP32 safetensors file with the architecture in its metadata, as mobileone fuse writes it.</summary>
    public static string WriteFused(TempDir dir, string name, MobileOneArchitecture arch, int seed, string? architectureJson = null)
    {
        FusedNetwork net = Network(arch, seed);
        string path = dir[name];
        SafetensorsFile.Write(path, net.Tensors(), "F32", new Dictionary<string, string>
        {
            [FusedNetwork.ArchitectureMetadataKey] = architectureJson ?? net.Architecture.ToJson(),
        });
        return path;
    }

    /// <summary>The tensors (name, dtype, shape, bytes) and metadata of a safetensors file, in file order.</summary>
    public static (List<(string Name, string DType, long[] Shape, byte[] Data)> Tensors, Dictionary<string, string> Metadata) Parse(byte[] file)
    {
        long n = BitConverter.ToInt64(file, 0);
        using JsonDocument doc = JsonDocument.Parse(file.AsMemory(8, (int)n));
        var tensors = new List<(string, string, long[], byte[])>();
        var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (JsonProperty p in doc.RootElement.EnumerateObject())
        {
            if (p.Name == "__metadata__")
            {
                foreach (JsonProperty m in p.Value.EnumerateObject())
                {
                    metadata[m.Name] = m.Value.GetString()!;
                }

                continue;
            }

            long begin = p.Value.GetProperty("data_offsets")[0].GetInt64(), end = p.Value.GetProperty("data_offsets")[1].GetInt64();
            tensors.Add((p.Name, p.Value.GetProperty("dtype").GetString()!, p.Value.GetProperty("shape").EnumerateArray().Select(d => d.GetInt64()).ToArray(),
                file.AsSpan((int)(8 + n + begin), (int)(end - begin)).ToArray()));
        }

        return (tensors.OrderBy(t => BeginOf(doc, t.Item1)).ToList(), metadata);
    }

    /// <summary>Writes tensors and metadata as a safetensors file's bytes.</summary>
    public static byte[] Build(IEnumerable<(string Name, string DType, long[] Shape, byte[] Data)> tensors, IDictionary<string, string> metadata)
    {
        using var stream = new MemoryStream();
        SafetensorsWriter.WriteRaw(stream, tensors.Select(t => (t.Name, t.DType, t.Shape, t.Data)), metadata);
        return stream.ToArray();
    }

    /// <summary>The index of the largest value.</summary>
    public static int ArgMax(ReadOnlySpan<float> values)
    {
        int best = 0;
        for (int i = 1; i < values.Length; i++)
        {
            if (values[i] > values[best])
            {
                best = i;
            }
        }

        return best;
    }

    private static long BeginOf(JsonDocument doc, string name) => doc.RootElement.GetProperty(name).GetProperty("data_offsets")[0].GetInt64();
}
