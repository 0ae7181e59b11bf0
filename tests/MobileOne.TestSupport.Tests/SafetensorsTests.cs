using System;
using System.Buffers.Binary;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using MobileOne.TestSupport;
using Xunit;

namespace MobileOne.TestSupport.Tests;

public class SafetensorsTests
{
    private sealed record Parsed(int HeaderLength, byte[] HeaderBytes, JsonElement Header, byte[] Data);

    private static Parsed Parse(byte[] file)
    {
        ulong n = BinaryPrimitives.ReadUInt64LittleEndian(file);
        Assert.True(n <= (ulong)(file.Length - 8), "header length beyond the file");
        byte[] header = file.AsSpan(8, (int)n).ToArray();
        using JsonDocument doc = JsonDocument.Parse(header);
        return new Parsed((int)n, header, doc.RootElement.Clone(), file.AsSpan(8 + (int)n).ToArray());
    }

    private static readonly System.Collections.Concurrent.ConcurrentDictionary<MobileOneArchitecture, FusedWeights> PatternCache = new();

    private static FusedWeights Patterned(MobileOneArchitecture arch) => PatternCache.GetOrAdd(arch, CreatePatterned);

    private static FusedWeights CreatePatterned(MobileOneArchitecture arch)
    {
        // Cheap deterministic values covering signs, tiny and large magnitudes and exact F16/BF16 ties.
        var w = new FusedWeights(arch);
        int k = 0;
        foreach (string name in w.Names)
        {
            float[] v = w[name];
            for (int i = 0; i < v.Length; i++, k++)
            {
                v[i] = (k % 7) switch
                {
                    0 => 1.00390625f,            // 1 + 2^-8: BF16 tie → 1 (even)
                    1 => -1.01171875f,           // -(1 + 3·2^-8): BF16 tie → -(1 + 2^-6)
                    2 => 1e-6f * (k % 13 - 6),   // F16 subnormals
                    3 => 1000.123f,
                    4 => (float)Math.Sin(k) * 3,
                    5 => -0.0f,
                    _ => 65504.0f * (k % 2 == 0 ? 1 : -1) / 3,
                };
            }
        }
        return w;
    }

    public static TheoryData<string, TensorNaming> Formats()
    {
        var d = new TheoryData<string, TensorNaming>();
        foreach (string dtype in SafetensorsWriter.SupportedDtypes)
        {
            foreach (TensorNaming naming in new[] { TensorNaming.Apple, TensorNaming.Timm })
            {
                d.Add(dtype, naming);
            }
        }

        return d;
    }

    [Theory]
    [MemberData(nameof(Formats))]
    public void RoundTripsThroughAnIndependentParser(string dtype, TensorNaming naming)
    {
        foreach (MobileOneArchitecture arch in new[] { ReferenceCases.Architecture("odd"), MobileOneArchitecture.S4() })
        {
            FusedWeights w = Patterned(arch);
            var meta = new Dictionary<string, string> { ["format"] = "pt", ["arch"] = arch.ToString(), ["note"] = "ünïcode \"quoted\" <tag>" };
            using var ms = new MemoryStream();
            SafetensorsWriter.Write(ms, w, arch, naming, dtype, meta);
            Parsed p = Parse(ms.ToArray());

            Assert.Equal(0, p.HeaderLength % 8);
            string text = Encoding.UTF8.GetString(p.HeaderBytes);
            string trimmed = text.TrimEnd(' ');
            Assert.EndsWith("}", trimmed, StringComparison.Ordinal);
            Assert.InRange(p.HeaderLength - Encoding.UTF8.GetByteCount(trimmed), 0, 7);   // space padding only

            var metaBack = p.Header.GetProperty("__metadata__").EnumerateObject().ToDictionary(x => x.Name, x => x.Value.GetString()!);
            Assert.Equal(meta, metaBack);

            var expected = TensorCatalog.ExpectedTensors(arch, naming);
            var entries = p.Header.EnumerateObject().Where(x => x.Name != "__metadata__").ToList();
            Assert.Equal(expected.Select(t => t.Name), entries.Select(e => e.Name));
            FusedWeights rounded = w.RoundedTo(dtype);
            var apple = TensorCatalog.ExpectedTensors(arch, TensorNaming.Apple);
            long expectedOffset = 0;
            int elementSize = dtype == "F32" ? 4 : 2;
            for (int i = 0; i < entries.Count; i++)
            {
                JsonElement e = entries[i].Value;
                Assert.Equal(dtype, e.GetProperty("dtype").GetString());
                Assert.Equal(expected[i].Shape, e.GetProperty("shape").EnumerateArray().Select(x => x.GetInt32()));
                long[] off = e.GetProperty("data_offsets").EnumerateArray().Select(x => x.GetInt64()).ToArray();
                Assert.Equal(expectedOffset, off[0]);
                Assert.Equal(expected[i].ElementCount * elementSize, off[1] - off[0]);
                expectedOffset = off[1];

                float[] back = DecodeIndependently(p.Data.AsSpan((int)off[0], (int)(off[1] - off[0])), dtype);
                float[] want = rounded[apple[i].Name];
                // Bitwise equality (also distinguishes -0 and +0).
                Assert.True(MemoryMarshal.Cast<float, uint>(want).SequenceEqual(MemoryMarshal.Cast<float, uint>(back)),
                    $"{dtype} {expected[i].Name}: decoded values differ from RoundedTo({dtype})");
                if (dtype == "F32")
                {
                    Assert.True(MemoryMarshal.Cast<float, uint>(w[apple[i].Name]).SequenceEqual(MemoryMarshal.Cast<float, uint>(back)));
                }
            }
            Assert.Equal(expectedOffset, p.Data.Length);
        }
    }

    // Widening written here from the format definitions, not via SafetensorsWriter.Decode.
    private static float[] DecodeIndependently(ReadOnlySpan<byte> b, string dtype)
    {
        var r = new float[b.Length / (dtype == "F32" ? 4 : 2)];
        for (int i = 0; i < r.Length; i++)
        {
            r[i] = dtype switch
            {
                "F32" => BitConverter.Int32BitsToSingle(b[4 * i] | b[4 * i + 1] << 8 | b[4 * i + 2] << 16 | b[4 * i + 3] << 24),
                "F16" => (float)BitConverter.Int16BitsToHalf((short)(b[2 * i] | b[2 * i + 1] << 8)),
                _ => BitConverter.Int32BitsToSingle((b[2 * i] | b[2 * i + 1] << 8) << 16),
            };
        }
        return r;
    }

    [Fact]
    public void RoundingRules()
    {
        Assert.Equal(1.0f, SafetensorsWriter.RoundTo(1.00390625f, "BF16"));            // tie → even (down)
        Assert.Equal(1.015625f, SafetensorsWriter.RoundTo(1.01171875f, "BF16"));       // tie → even (up)
        Assert.Equal(1.0078125f, SafetensorsWriter.RoundTo(1.0048828125f, "BF16"));    // above half → up
        Assert.Equal((ushort)0x3F80, SafetensorsWriter.ToBFloat16Bits(1.0f));
        Assert.Equal((ushort)0xC000, SafetensorsWriter.ToBFloat16Bits(-2.0f));
        Assert.True(float.IsNaN(SafetensorsWriter.RoundTo(float.NaN, "BF16")));
        Assert.Equal(float.PositiveInfinity, SafetensorsWriter.RoundTo(float.MaxValue, "BF16"));
        Assert.Equal(1.0f, SafetensorsWriter.RoundTo(1.00048828125f, "F16"));          // 1 + 2^-11: tie → even
        Assert.Equal(float.PositiveInfinity, SafetensorsWriter.RoundTo(70000f, "F16"));
        Assert.Equal(0.1f, SafetensorsWriter.RoundTo(0.1f, "F32"));
        Assert.Throws<ArgumentException>(() => SafetensorsWriter.RoundTo(1, "F64"));
        float[] v = { 0.1f, -3.5f, 1e-7f, 65504f };
        foreach (string dt in SafetensorsWriter.SupportedDtypes)
        {
            Assert.Equal(v.Select(x => SafetensorsWriter.RoundTo(x, dt)), SafetensorsWriter.Decode(SafetensorsWriter.Encode(v, dt), dt));
        }
    }

    [Fact]
    public void WriteRawAndWithHeaderProduceOddFiles()
    {
        using var ms = new MemoryStream();
        SafetensorsWriter.WriteRaw(ms, new (string, string, long[], byte[])[]
        {
            ("a", "I8", new long[] { 3 }, new byte[] { 1, 2, 3 }),
            ("b", "F32", new long[] { 2, 2 }, new byte[4]),   // deliberately too short for its shape
            ("scalar", "F32", Array.Empty<long>(), new byte[4]),
        });
        Parsed p = Parse(ms.ToArray());
        Assert.Equal(0, p.HeaderLength % 8);
        Assert.False(p.Header.TryGetProperty("__metadata__", out _));
        Assert.Equal("I8", p.Header.GetProperty("a").GetProperty("dtype").GetString());
        Assert.Equal(new long[] { 3, 7 }, p.Header.GetProperty("b").GetProperty("data_offsets").EnumerateArray().Select(x => x.GetInt64()));
        Assert.Equal(0, p.Header.GetProperty("scalar").GetProperty("shape").GetArrayLength());
        Assert.Equal(11, p.Data.Length);

        using var raw = new MemoryStream();
        SafetensorsWriter.WriteWithHeader(raw, "{\"x\":", new[] { new byte[] { 9 } }, padHeader: false);
        byte[] bytes = raw.ToArray();
        Assert.Equal(5UL, BinaryPrimitives.ReadUInt64LittleEndian(bytes));
        Assert.Equal(8 + 5 + 1, bytes.Length);
    }

    [Fact]
    public void WritesFilesAndRejectsMismatchedArchitecture()
    {
        MobileOneArchitecture arch = ReferenceCases.Architecture("tiny");
        FusedWeights w = Patterned(arch);
        string path = Path.Combine(Path.GetTempPath(), $"mobileone-testsupport-{Guid.NewGuid():N}.safetensors");
        try
        {
            SafetensorsWriter.Write(path, w, arch, TensorNaming.Timm, "BF16");
            Parsed p = Parse(File.ReadAllBytes(path));
            Assert.True(p.Header.TryGetProperty("stem.reparam_conv.weight", out _));
            Assert.True(p.Header.TryGetProperty("head.fc.bias", out _));
            Assert.True(p.Header.TryGetProperty("stages.3.0.attn.fc2.weight", out _));
        }
        finally
        {
            File.Delete(path);
        }
        Assert.Throws<ArgumentException>(() => SafetensorsWriter.Write(new MemoryStream(), w, ReferenceCases.Architecture("odd"), TensorNaming.Apple));
        Assert.Throws<ArgumentException>(() => SafetensorsWriter.Write(new MemoryStream(), w, arch, TensorNaming.Apple, "F64"));
    }
}
