using System;
using System.Buffers.Binary;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text;
using System.Text.Json;
using MobileOne.TestSupport;

namespace MobileOne.Generator.Tests.Infrastructure;

/// <summary>
/// Small networks and raw safetensors building blocks for the generator tests, including the recipes of the
/// committed files in TestModels/ (so tests can prove the committed bytes still come out of them).
/// </summary>
public static class TestNets
{
    /// <summary>File name of the committed tiny SE network.</summary>
    public const string TinySeFile = "tiny_se.safetensors";

    /// <summary>File name of the committed MobileOne-S0 safetensors header (F32, Apple names, no metadata).</summary>
    public const string S0HeaderFile = "mobileone_s0.header.json";

    /// <summary>File name of the committed architecture-only model.</summary>
    public const string S1ArchOnlyFile = "s1_arch_only.mobileone.json";

    public const int TinySeSeed = 20250601;

    public static readonly string[] TinySeLabels =
    {
        "airplane", "automobile", "bird", "cat", "café", "dog", "frog", "horse", "ship", "truck \"big\" \\ 9",
    };

    /// <summary>1 input channel, 34x40, stem 8, stages [8,16,16,24], blocks [1,1,2,1], SE on the last block of stages 3 and 4, 10 classes.</summary>
    public static MobileOneArchitecture TinySe => new(1, 34, 40, 8, new[] { 8, 16, 16, 24 }, new[] { 1, 1, 2, 1 }, new[] { 0, 0, 1, 1 }, 10);

    /// <summary>The <c>mobileone.architecture</c> metadata of tiny_se.safetensors (structure, input size, normalisation, labels).</summary>
    public static string TinySeArchitectureJson
    {
        get
        {
            string labels = string.Join(", ", TinySeLabels.Select(l => JsonSerializer.Serialize(l)));
            return "{\n"
                + "  \"description\": \"tiny MobileOne with squeeze-excite, for generator tests\",\n"
                + "  \"inputChannels\": 1,\n"
                + "  \"inputSize\": [34, 40],\n"
                + "  \"stemChannels\": 8,\n"
                + "  \"stageChannels\": [8, 16, 16, 24],\n"
                + "  \"stageBlocks\": [1, 1, 2, 1],\n"
                + "  \"seBlocks\": [0, 0, 1, 1],\n"
                + "  \"numClasses\": 10,\n"
                + "  \"mean\": [0.5],\n"
                + "  \"std\": [0.25],\n"
                + "  \"cropPct\": 0.875,\n"
                + "  \"labels\": [" + labels + "]\n"
                + "}\n";
        }
    }

    /// <summary>The exact bytes of TestModels/tiny_se.safetensors.</summary>
    public static byte[] TinySeBytes()
    {
        MobileOneArchitecture arch = TinySe;
        using var stream = new MemoryStream();
        SafetensorsWriter.Write(stream, SeededWeights(arch, TinySeSeed), arch, TensorNaming.Apple, "F32",
            new Dictionary<string, string> { ["mobileone.architecture"] = TinySeArchitectureJson });
        return stream.ToArray();
    }

    /// <summary>Deterministic weights that do not depend on libm (see <see cref="FusedWeights.Uniform"/>).</summary>
    public static FusedWeights SeededWeights(MobileOneArchitecture arch, int seed) => FusedWeights.Uniform(arch, seed);

    /// <summary>Tensor entries for <see cref="SafetensorsWriter.WriteRaw"/>: (name, dtype, shape, bytes) in file order.</summary>
    public static List<(string name, string dtype, long[] shape, byte[] data)> Entries(MobileOneArchitecture arch, TensorNaming naming = TensorNaming.Apple, int seed = 1)
    {
        FusedWeights weights = SeededWeights(arch, seed);
        return weights.Tensors()
            .Select(t => (TensorCatalog.Rename(t.Name, naming), "F32", t.Shape.Select(d => (long)d).ToArray(), SafetensorsWriter.Encode(t.Values, "F32")))
            .ToList();
    }

    public static string WriteRaw(string path, IEnumerable<(string name, string dtype, long[] shape, byte[] data)> entries, IDictionary<string, string>? metadata = null)
    {
        using FileStream fs = File.Create(path);
        SafetensorsWriter.WriteRaw(fs, entries, metadata);
        return path;
    }

    /// <summary>Writes a file with the given header text (not padded) followed by <paramref name="dataBytes"/> zero bytes.</summary>
    public static string WriteWithHeader(string path, string header, int dataBytes)
    {
        using FileStream fs = File.Create(path);
        SafetensorsWriter.WriteWithHeader(fs, header, new[] { new byte[dataBytes] }, padHeader: false);
        return path;
    }

    /// <summary>
    /// A file with only a real header: 8-byte length, the header bytes, then <see cref="FileStream.SetLength"/> to the
    /// size its data_offsets need (sparse on file systems that support it).
    /// </summary>
    public static string WriteSparse(string path, string header)
    {
        byte[] bytes = Encoding.UTF8.GetBytes(header);
        long dataLength = DataLength(header);
        using FileStream fs = File.Create(path);
        Span<byte> prefix = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(prefix, (ulong)bytes.Length);
        fs.Write(prefix);
        fs.Write(bytes);
        fs.SetLength(8 + bytes.Length + dataLength);
        return path;
    }

    /// <summary>The largest data_offsets end in a safetensors header.</summary>
    public static long DataLength(string header)
    {
        using JsonDocument doc = JsonDocument.Parse(header);
        long end = 0;
        foreach (JsonProperty p in doc.RootElement.EnumerateObject())
        {
            if (p.Name != "__metadata__")
            {
                end = Math.Max(end, p.Value.GetProperty("data_offsets")[1].GetInt64());
            }
        }

        return end;
    }

    /// <summary>The header TestSupport writes for MobileOne-S0 (F32, Apple names, no metadata), without its space padding.</summary>
    public static string S0Header()
    {
        MobileOneArchitecture arch = MobileOneArchitecture.S0();
        using var capture = new HeaderCaptureStream();
        SafetensorsWriter.Write(capture, new FusedWeights(arch), arch, TensorNaming.Apple, "F32");
        return capture.Header().TrimEnd(' ');
    }

    /// <summary>TestModels/ as copied to the test output folder.</summary>
    public static string OutputTestModels(string fileName) => Path.Combine(AppContext.BaseDirectory, "TestModels", fileName);

    /// <summary>TestModels/ in the source tree (where committed files live).</summary>
    public static string SourceTestModels(string fileName) => Path.Combine(TestProject.Directory, "TestModels", fileName);

    /// <summary>Keeps the 8-byte length and the header of a safetensors stream; counts and drops the data.</summary>
    private sealed class HeaderCaptureStream : Stream
    {
        private readonly MemoryStream _kept = new();
        private long _length;

        public override bool CanRead => false;

        public override bool CanSeek => false;

        public override bool CanWrite => true;

        public override long Length => _length;

        public override long Position { get => _length; set => throw new NotSupportedException(); }

        public string Header()
        {
            byte[] bytes = _kept.ToArray();
            long n = (long)BinaryPrimitives.ReadUInt64LittleEndian(bytes);
            return Encoding.UTF8.GetString(bytes, 8, (int)n);
        }

        public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

        public override void Write(ReadOnlySpan<byte> buffer)
        {
            _length += buffer.Length;
            while (!buffer.IsEmpty)
            {
                long need = _kept.Length < 8 ? 8 : 8 + (long)BinaryPrimitives.ReadUInt64LittleEndian(_kept.GetBuffer().AsSpan(0, 8));
                if (_kept.Length >= need)
                {
                    return;
                }

                int keep = (int)Math.Min(buffer.Length, need - _kept.Length);
                _kept.Write(buffer[..keep]);
                buffer = buffer[keep..];
            }
        }

        public override void WriteByte(byte value) => Write(new[] { value });

        public override void Flush()
        {
        }

        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        protected override void Dispose(bool disposing)
        {
            _kept.Dispose();
            base.Dispose(disposing);
        }
    }
}
