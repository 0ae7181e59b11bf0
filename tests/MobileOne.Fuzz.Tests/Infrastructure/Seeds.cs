using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text;
using System.Text.Json;
using MobileOne.TestSupport;

namespace MobileOne.Fuzz.Tests.Infrastructure;

/// <summary>One real model file to derive fuzz inputs from.</summary>
/// <param name="Name">What it is, for messages.</param>
/// <param name="Bytes">The file; for S0-sized seeds only the length prefix and header (see <paramref name="DataLength"/>).</param>
/// <param name="DataLength">Length of the data section the header describes.</param>
public sealed record Seed(string Name, byte[] Bytes, long DataLength)
{
    /// <summary>Whether <see cref="Bytes"/> holds the whole file (tiny nets) or only its header (S0).</summary>
    public bool Complete => Bytes.LongLength == 8 + HeaderLength + DataLength;

    public long HeaderLength => (long)BitConverter.ToUInt64(Bytes, 0);

    public byte[] HeaderBytes => Bytes.AsSpan(8, (int)HeaderLength).ToArray();
}

/// <summary>
/// Seed inputs: real model files as SafetensorsWriter writes them for tiny nets and for MobileOne-S0, with Apple's and
/// timm's names, F32/F16/BF16, with and without the <c>mobileone.architecture</c> metadata, plus the committed files
/// of tests/MobileOne.Generator.Tests/TestModels, and architecture JSON texts.
/// </summary>
public static class Seeds
{
    /// <summary>1 input channel, 34x40, SE on the last block of stages 3 and 4, 10 classes (the committed tiny_se net).</summary>
    public static MobileOneArchitecture TinySe => new(1, 34, 40, 8, new[] { 8, 16, 16, 24 }, new[] { 1, 1, 2, 1 }, new[] { 0, 0, 1, 1 }, 10);

    /// <summary>3 input channels, 32x32, no SE, 5 classes.</summary>
    public static MobileOneArchitecture TinyPlain => new(3, 32, 32, 16, new[] { 16, 16, 32, 32 }, new[] { 1, 2, 1, 1 }, new[] { 0, 0, 0, 0 }, 5);

    private static readonly Lazy<IReadOnlyList<Seed>> TinyFiles = new(() => BuildTiny().ToList());
    private static readonly Lazy<IReadOnlyList<Seed>> S0Headers = new(() => BuildS0().ToList());

    /// <summary>Complete files of the tiny nets in every naming, dtype and metadata combination, and the committed tiny_se.safetensors.</summary>
    public static IReadOnlyList<Seed> Tiny => TinyFiles.Value;

    /// <summary>MobileOne-S0 headers (length prefix + header JSON, no data) in every naming/dtype/metadata combination.</summary>
    public static IReadOnlyList<Seed> S0 => S0Headers.Value;

    public static string ArchitectureJson(MobileOneArchitecture a, bool labels = true)
    {
        var sb = new StringBuilder("{\n");
        sb.Append("  \"description\": \"seed for fuzzing\",\n");
        sb.Append(System.Globalization.CultureInfo.InvariantCulture, $"  \"inputChannels\": {a.InputChannels},\n");
        sb.Append(System.Globalization.CultureInfo.InvariantCulture, $"  \"inputSize\": [{a.InputHeight}, {a.InputWidth}],\n");
        sb.Append(System.Globalization.CultureInfo.InvariantCulture, $"  \"stemChannels\": {a.StemChannels},\n");
        sb.Append(System.Globalization.CultureInfo.InvariantCulture, $"  \"stageChannels\": [{string.Join(", ", a.StageChannels)}],\n");
        sb.Append(System.Globalization.CultureInfo.InvariantCulture, $"  \"stageBlocks\": [{string.Join(", ", a.StageBlocks)}],\n");
        sb.Append(System.Globalization.CultureInfo.InvariantCulture, $"  \"seBlocks\": [{string.Join(", ", a.SeBlocks)}],\n");
        sb.Append(System.Globalization.CultureInfo.InvariantCulture, $"  \"numClasses\": {a.NumClasses},\n");
        sb.Append(System.Globalization.CultureInfo.InvariantCulture, $"  \"mean\": [{string.Join(", ", Enumerable.Repeat("0.5", a.InputChannels))}],\n");
        sb.Append(System.Globalization.CultureInfo.InvariantCulture, $"  \"std\": [{string.Join(", ", Enumerable.Repeat("0.25", a.InputChannels))}],\n");
        if (labels)
        {
            sb.Append(System.Globalization.CultureInfo.InvariantCulture, $"  \"labels\": [{string.Join(", ", Enumerable.Range(0, a.NumClasses).Select(i => JsonSerializer.Serialize("class \"" + i + "\" é\\")))}],\n");
        }

        sb.Append("  \"cropPct\": 0.875\n}\n");
        return sb.ToString();
    }

    /// <summary>Architecture JSON texts: declared tiny nets, variants, the committed s1_arch_only file.</summary>
    public static IReadOnlyList<string> ArchitectureTexts() => new[]
    {
        ArchitectureJson(TinySe),
        ArchitectureJson(TinyPlain, labels: false),
        "{\"variant\": \"s1\"}",
        "{\"variant\": \"mobileone_s4\", \"inputSize\": 256, \"numClasses\": 10, \"labels\": [\"a\",\"b\",\"c\",\"d\",\"e\",\"f\",\"g\",\"h\",\"i\",\"j\"]}",
        "{\"$schema\": \"x\", \"variant\": \"s0\", \"inputHeight\": 64, \"inputWidth\": 96, \"mean\": [0.485, 0.456, 0.406], \"std\": [0.229, 0.224, 0.225], \"cropPct\": 1}",
        System.IO.File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "TestModels", "s1_arch_only.mobileone.json")),
    };

    /// <summary>Deterministic weights: uniform in ±sqrt(3 / fan-in), biases ±0.05.</summary>
    public static FusedWeights Weights(MobileOneArchitecture arch, int seed) => FusedWeights.Uniform(arch, seed);

    public static byte[] Encode(MobileOneArchitecture arch, FusedWeights weights, TensorNaming naming, string dtype, IDictionary<string, string>? metadata)
    {
        using var stream = new MemoryStream();
        SafetensorsWriter.Write(stream, weights, arch, naming, dtype, metadata);
        return stream.ToArray();
    }

    private static IEnumerable<Seed> BuildTiny()
    {
        foreach (var (name, arch) in new[] { ("tiny_se", TinySe), ("tiny_plain", TinyPlain) })
        {
            FusedWeights weights = Weights(arch, 7);
            foreach (TensorNaming naming in new[] { TensorNaming.Apple, TensorNaming.Timm })
            {
                foreach (string dtype in SafetensorsWriter.SupportedDtypes)
                {
                    foreach (bool meta in new[] { false, true })
                    {
                        var metadata = meta ? new Dictionary<string, string> { ["mobileone.architecture"] = ArchitectureJson(arch), ["format"] = "pt" } : null;
                        byte[] bytes = Encode(arch, weights, naming, dtype, metadata);
                        yield return Make($"{name} {naming} {dtype}{(meta ? " +metadata" : string.Empty)}", bytes, complete: true);
                    }
                }
            }
        }

        byte[] committed = System.IO.File.ReadAllBytes(Path.Combine(AppContext.BaseDirectory, "TestModels", "tiny_se.safetensors"));
        yield return Make("TestModels/tiny_se.safetensors", committed, complete: true);
    }

    private static IEnumerable<Seed> BuildS0()
    {
        MobileOneArchitecture arch = MobileOneArchitecture.S0();
        var weights = new FusedWeights(arch);
        foreach (TensorNaming naming in new[] { TensorNaming.Apple, TensorNaming.Timm })
        {
            foreach (string dtype in SafetensorsWriter.SupportedDtypes)
            {
                foreach (bool meta in new[] { false, true })
                {
                    var metadata = meta ? new Dictionary<string, string> { ["mobileone.architecture"] = "{\"variant\": \"s0\", \"inputSize\": 224}" } : null;
                    yield return Make($"S0 {naming} {dtype}{(meta ? " +metadata" : string.Empty)}", Encode(arch, weights, naming, dtype, metadata), complete: false);
                }
            }
        }

        // The committed S0 header (F32, Apple names, no metadata).
        string header = System.IO.File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "TestModels", "mobileone_s0.header.json"));
        byte[] headerBytes = Encoding.UTF8.GetBytes(header);
        byte[] prefix = BitConverter.GetBytes((ulong)headerBytes.Length);
        using JsonDocument doc = JsonDocument.Parse(header);
        long end = doc.RootElement.EnumerateObject().Where(p => p.Name != "__metadata__").Max(p => p.Value.GetProperty("data_offsets")[1].GetInt64());
        yield return new Seed("TestModels/mobileone_s0.header.json", prefix.Concat(headerBytes).ToArray(), end);
    }

    private static Seed Make(string name, byte[] file, bool complete)
    {
        long headerLength = (long)BitConverter.ToUInt64(file, 0);
        long dataLength = file.LongLength - 8 - headerLength;
        byte[] bytes = complete ? file : file.AsSpan(0, (int)(8 + headerLength)).ToArray();
        return new Seed(name, bytes, dataLength);
    }
}
