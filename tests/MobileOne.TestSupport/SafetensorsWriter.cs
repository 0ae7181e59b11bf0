using System;
using System.Buffers.Binary;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace MobileOne.TestSupport;

/// <summary>
/// Writes safetensors files: u64 little-endian header length N, N bytes of UTF-8 JSON
/// (<c>{"__metadata__":{..}, "name":{"dtype":..,"shape":[..],"data_offsets":[b,e]}, ..}</c>, padded with spaces so
/// N is a multiple of 8), then the tensor data, little-endian, offsets relative to the end of the header.
/// </summary>
public static class SafetensorsWriter
{
    /// <summary>The dtypes <see cref="Write(Stream, FusedWeights, MobileOneArchitecture, TensorNaming, string, IDictionary{string, string}?)"/> can encode.</summary>
    public static IReadOnlyList<string> SupportedDtypes { get; } = new[] { "F32", "F16", "BF16" };

    /// <summary>Writes <paramref name="weights"/> to a file.</summary>
    public static void Write(string path, FusedWeights weights, MobileOneArchitecture arch, TensorNaming naming,
        string dtype = "F32", IDictionary<string, string>? metadata = null)
    {
        using FileStream fs = File.Create(path);
        Write(fs, weights, arch, naming, dtype, metadata);
    }

    /// <summary>Writes <paramref name="weights"/> (in <see cref="TensorCatalog.ExpectedTensors"/> order) to a stream.</summary>
    public static void Write(Stream stream, FusedWeights weights, MobileOneArchitecture arch, TensorNaming naming,
        string dtype = "F32", IDictionary<string, string>? metadata = null)
    {
        ArgumentNullException.ThrowIfNull(weights);
        ArgumentNullException.ThrowIfNull(arch);
        if (!weights.Architecture.Equals(arch))
        {
            throw new ArgumentException($"Weights are for {weights.Architecture}, not {arch}.", nameof(arch));
        }

        var entries = TensorCatalog.ExpectedTensors(arch, TensorNaming.Apple).Select(t => (
            name: TensorCatalog.Rename(t.Name, naming),
            dtype,
            shape: t.Shape.Select(d => (long)d).ToArray(),
            data: Encode(weights[t.Name], dtype)));
        WriteRaw(stream, entries, metadata);
    }

    /// <summary>Writes tensors exactly as given (any dtype string, any shape, any byte count), offsets packed in order.</summary>
    public static void WriteRaw(Stream stream, IEnumerable<(string name, string dtype, long[] shape, byte[] data)> tensors,
        IDictionary<string, string>? metadata = null)
    {
        ArgumentNullException.ThrowIfNull(stream);
        ArgumentNullException.ThrowIfNull(tensors);
        var list = tensors.ToList();
        using var header = new MemoryStream();
        using (var json = new Utf8JsonWriter(header, new JsonWriterOptions { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            json.WriteStartObject();
            if (metadata is not null)
            {
                json.WriteStartObject("__metadata__");
                foreach (KeyValuePair<string, string> kv in metadata)
                {
                    json.WriteString(kv.Key, kv.Value);
                }

                json.WriteEndObject();
            }
            long offset = 0;
            foreach (var (name, dtype, shape, data) in list)
            {
                json.WriteStartObject(name);
                json.WriteString("dtype", dtype);
                json.WriteStartArray("shape");
                foreach (long d in shape)
                {
                    json.WriteNumberValue(d);
                }

                json.WriteEndArray();
                json.WriteStartArray("data_offsets");
                json.WriteNumberValue(offset);
                json.WriteNumberValue(offset + data.Length);
                json.WriteEndArray();
                json.WriteEndObject();
                offset += data.Length;
            }
            json.WriteEndObject();
        }
        WriteWithHeader(stream, header.ToArray(), list.Select(t => t.data), padHeader: true);
    }

    /// <summary>
    /// Lowest level, for malformed files: writes <c>u64 len</c>, the given header bytes (optionally space-padded to a
    /// multiple of 8, which changes len accordingly), then the data blobs back to back.
    /// </summary>
    public static void WriteWithHeader(Stream stream, byte[] headerJson, IEnumerable<byte[]> data, bool padHeader = true)
    {
        ArgumentNullException.ThrowIfNull(stream);
        ArgumentNullException.ThrowIfNull(headerJson);
        ArgumentNullException.ThrowIfNull(data);
        int pad = padHeader ? (8 - headerJson.Length % 8) % 8 : 0;
        Span<byte> len = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(len, (ulong)(headerJson.Length + pad));
        stream.Write(len);
        stream.Write(headerJson);
        for (int i = 0; i < pad; i++)
        {
            stream.WriteByte((byte)' ');
        }

        foreach (byte[] blob in data)
        {
            stream.Write(blob);
        }
    }

    /// <summary><see cref="WriteWithHeader(Stream, byte[], IEnumerable{byte[]}, bool)"/> with a string header.</summary>
    public static void WriteWithHeader(Stream stream, string headerJson, IEnumerable<byte[]> data, bool padHeader = true)
        => WriteWithHeader(stream, Encoding.UTF8.GetBytes(headerJson), data, padHeader);

    /// <summary>Little-endian encoding of <paramref name="values"/> as F32, F16 or BF16.</summary>
    public static byte[] Encode(ReadOnlySpan<float> values, string dtype)
    {
        switch (dtype)
        {
            case "F32":
            {
                byte[] b = new byte[values.Length * 4];
                for (int i = 0; i < values.Length; i++)
                    {
                        BinaryPrimitives.WriteSingleLittleEndian(b.AsSpan(i * 4), values[i]);
                    }

                    return b;
            }
            case "F16":
            {
                byte[] b = new byte[values.Length * 2];
                for (int i = 0; i < values.Length; i++)
                    {
                        BinaryPrimitives.WriteUInt16LittleEndian(b.AsSpan(i * 2), BitConverter.HalfToUInt16Bits((Half)values[i]));
                    }

                    return b;
            }
            case "BF16":
            {
                byte[] b = new byte[values.Length * 2];
                for (int i = 0; i < values.Length; i++)
                    {
                        BinaryPrimitives.WriteUInt16LittleEndian(b.AsSpan(i * 2), ToBFloat16Bits(values[i]));
                    }

                    return b;
            }
            default:
                throw new ArgumentException($"Unsupported dtype '{dtype}' (expected F32, F16 or BF16).", nameof(dtype));
        }
    }

    /// <summary>Inverse of <see cref="Encode"/>: widens F32/F16/BF16 little-endian bytes to floats.</summary>
    public static float[] Decode(ReadOnlySpan<byte> bytes, string dtype)
    {
        switch (dtype)
        {
            case "F32":
            {
                float[] v = new float[bytes.Length / 4];
                for (int i = 0; i < v.Length; i++)
                    {
                        v[i] = BinaryPrimitives.ReadSingleLittleEndian(bytes[(i * 4)..]);
                    }

                    return v;
            }
            case "F16":
            {
                float[] v = new float[bytes.Length / 2];
                for (int i = 0; i < v.Length; i++)
                    {
                        v[i] = (float)BitConverter.UInt16BitsToHalf(BinaryPrimitives.ReadUInt16LittleEndian(bytes[(i * 2)..]));
                    }

                    return v;
            }
            case "BF16":
            {
                float[] v = new float[bytes.Length / 2];
                for (int i = 0; i < v.Length; i++)
                    {
                        v[i] = BitConverter.UInt32BitsToSingle((uint)BinaryPrimitives.ReadUInt16LittleEndian(bytes[(i * 2)..]) << 16);
                    }

                    return v;
            }
            default:
                throw new ArgumentException($"Unsupported dtype '{dtype}' (expected F32, F16 or BF16).", nameof(dtype));
        }
    }

    /// <summary>bfloat16 bits of <paramref name="value"/>: round to nearest, ties to even; NaN stays a (quiet) NaN.</summary>
    public static ushort ToBFloat16Bits(float value)
    {
        uint bits = BitConverter.SingleToUInt32Bits(value);
        if (float.IsNaN(value))
        {
            return (ushort)((bits >> 16) | 0x0040);
        }

        uint rounded = bits + 0x7FFFu + ((bits >> 16) & 1u);
        return (ushort)(rounded >> 16);
    }

    /// <summary>The float a reader gets after storing <paramref name="value"/> as <paramref name="dtype"/> and widening.</summary>
    public static float RoundTo(float value, string dtype) => dtype switch
    {
        "F32" => value,
        "F16" => (float)(Half)value,
        "BF16" => BitConverter.UInt32BitsToSingle((uint)ToBFloat16Bits(value) << 16),
        _ => throw new ArgumentException($"Unsupported dtype '{dtype}' (expected F32, F16 or BF16).", nameof(dtype)),
    };

    /// <summary>Bytes per element of F32/F16/BF16.</summary>
    public static int ElementSize(string dtype) => dtype switch
    {
        "F32" => 4,
        "F16" or "BF16" => 2,
        _ => throw new ArgumentException($"Unsupported dtype '{dtype}'.", nameof(dtype)),
    };
}
