using System;
using System.Buffers.Binary;
using System.Collections.Generic;
using System.IO;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using MobileOne.Formats.Safetensors;

namespace MobileOne.Conversion;

/// <summary>Reads and writes safetensors files (F32, F16 and BF16 written; F64 and integer dtypes also read).</summary>
public static class SafetensorsFile
{
    /// <summary>The dtypes <see cref="Write"/> accepts.</summary>
    public static IReadOnlyList<string> WritableDTypes { get; } = new[] { "F32", "F16", "BF16" };

    /// <summary>Whether <paramref name="prefix"/> (the first bytes of a file) looks like safetensors.</summary>
    internal static bool LooksLikeSafetensors(ReadOnlySpan<byte> prefix, long fileLength)
    {
        if (prefix.Length < 9 || fileLength < 10)
        {
            return false;
        }

        ulong n = BinaryPrimitives.ReadUInt64LittleEndian(prefix);
        return n >= 2 && n <= (ulong)SafetensorsHeader.MaxHeaderBytes && prefix[8] == (byte)'{';
    }

    /// <summary>Reads every tensor of a safetensors file.</summary>
    /// <exception cref="ConversionException">The file is malformed or truncated.</exception>
    public static StateDict Read(byte[] file, string source)
    {
        ArgumentNullException.ThrowIfNull(file);
        SafetensorsHeader header;
        try
        {
            long n = SafetensorsHeader.ReadHeaderLength(file.AsSpan(0, Math.Min(8, file.Length)).ToArray(), file.LongLength);
            header = SafetensorsHeader.Parse(file.AsSpan(8, (int)n).ToArray(), file.LongLength - 8 - n);
        }
        catch (SafetensorsFormatException e)
        {
            string where = e.Line > 0 ? $" (header line {e.Line}, column {e.Column})" : string.Empty;
            ConversionErrorKind kind = e.Message.Contains("truncated", StringComparison.Ordinal) ? ConversionErrorKind.Truncated : ConversionErrorKind.InvalidFormat;
            throw new ConversionException(kind, $"{source} is not a valid safetensors file: {e.Message}{where}", e);
        }

        var tensors = new List<Tensor>(header.Tensors.Count);
        foreach (SafetensorsTensor t in header.Tensors)
        {
            if (!DTypes.CanWiden(t.DType))
            {
                throw new ConversionException(ConversionErrorKind.InvalidFormat, $"Tensor '{t.Name}' in {source} has dtype {t.DType}, which is not supported.");
            }

            var shape = new int[t.Shape.Length];
            for (int i = 0; i < shape.Length; i++)
            {
                shape[i] = (int)t.Shape[i];
            }

            ReadOnlySpan<byte> bytes = file.AsSpan((int)(header.DataOffset + t.Begin), (int)(t.End - t.Begin));
            tensors.Add(new Tensor(t.Name, t.DType, shape, DTypes.Widen(bytes, t.DType, (int)t.ElementCount)));
        }

        return new StateDict(tensors, source, "safetensors", header.Metadata);
    }

    /// <summary>
    /// Writes tensors to <paramref name="path"/> as <paramref name="dtype"/> (F32, F16 or BF16) with <c>__metadata__</c>.
    /// The file is written to a temporary file in the same folder and renamed at the end: it is whole or absent.
    /// </summary>
    /// <exception cref="ConversionException">The output cannot be written.</exception>
    public static void Write(string path, IEnumerable<(string Name, int[] Shape, float[] Values)> tensors, string dtype, IReadOnlyDictionary<string, string>? metadata)
    {
        ArgumentNullException.ThrowIfNull(path);
        ArgumentNullException.ThrowIfNull(tensors);
        if (DTypes.Size(dtype) == 0 || !((IList<string>)WritableDTypes).Contains(dtype))
        {
            throw new ArgumentException($"Cannot write dtype '{dtype}' (F32, F16 or BF16).", nameof(dtype));
        }

        AtomicFile.Write(path, stream => WriteTo(stream, tensors, dtype, metadata));
    }

    /// <summary>Writes a safetensors file to a stream (see <see cref="Write"/>).</summary>
    public static void WriteTo(Stream stream, IEnumerable<(string Name, int[] Shape, float[] Values)> tensors, string dtype, IReadOnlyDictionary<string, string>? metadata)
    {
        ArgumentNullException.ThrowIfNull(stream);
        ArgumentNullException.ThrowIfNull(tensors);
        var list = new List<(string Name, int[] Shape, float[] Values)>(tensors);
        int size = DTypes.Size(dtype);
        var entries = new List<(string Name, string DType, int[] Shape, long Bytes)>(list.Count);
        foreach (var (name, shape, values) in list)
        {
            if (Tensor.ElementCountOf(shape) != values.Length)
            {
                throw new ArgumentException($"Tensor '{name}' of shape {Tensor.FormatShape(shape)} has {values.Length} values.", nameof(tensors));
            }

            entries.Add((name, dtype, shape, (long)values.Length * size));
        }

        WriteHeader(stream, entries, metadata);
        foreach (var (_, _, values) in list)
        {
            stream.Write(DTypes.Encode(values, dtype));
        }
    }

    /// <summary>
    /// Writes the 8-byte length and the JSON header (with <c>__metadata__</c> when there is any) of tensors laid out back
    /// to back in the given order, padded with spaces to a multiple of 8; the caller writes the data after it.
    /// </summary>
    internal static void WriteHeader(Stream stream, IReadOnlyList<(string Name, string DType, int[] Shape, long Bytes)> tensors, IReadOnlyDictionary<string, string>? metadata)
    {
        using var header = new MemoryStream();
        using (var json = new Utf8JsonWriter(header, new JsonWriterOptions { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            json.WriteStartObject();
            if (metadata is { Count: > 0 })
            {
                json.WriteStartObject("__metadata__");
                foreach (KeyValuePair<string, string> kv in metadata)
                {
                    json.WriteString(kv.Key, kv.Value);
                }

                json.WriteEndObject();
            }

            long offset = 0;
            foreach (var (name, dtype, shape, bytes) in tensors)
            {
                json.WriteStartObject(name);
                json.WriteString("dtype", dtype);
                json.WriteStartArray("shape");
                foreach (int d in shape)
                {
                    json.WriteNumberValue(d);
                }

                json.WriteEndArray();
                json.WriteStartArray("data_offsets");
                json.WriteNumberValue(offset);
                json.WriteNumberValue(offset + bytes);
                json.WriteEndArray();
                json.WriteEndObject();
                offset += bytes;
            }

            json.WriteEndObject();
        }

        byte[] headerBytes = header.ToArray();
        int pad = (8 - (headerBytes.Length % 8)) % 8;
        Span<byte> len = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(len, (ulong)(headerBytes.Length + pad));
        stream.Write(len);
        stream.Write(headerBytes);
        for (int i = 0; i < pad; i++)
        {
            stream.WriteByte((byte)' ');
        }
    }

    /// <summary>The header text of a safetensors file, for messages.</summary>
    internal static string Describe(byte[] file) => Encoding.UTF8.GetString(file, 8, (int)Math.Min(200, file.Length - 8));
}

/// <summary>Writes a file through a temporary file in the same folder, then renames it: the result is whole or absent.</summary>
public static class AtomicFile
{
    /// <summary>Runs <paramref name="write"/> on a temporary file and moves it to <paramref name="path"/> when it succeeds.</summary>
    /// <exception cref="ConversionException">The folder does not exist or the file cannot be written.</exception>
    public static void Write(string path, Action<Stream> write)
    {
        ArgumentNullException.ThrowIfNull(path);
        ArgumentNullException.ThrowIfNull(write);
        string full = Path.GetFullPath(path);
        string dir = Path.GetDirectoryName(full) ?? ".";
        if (!Directory.Exists(dir))
        {
            throw new ConversionException(ConversionErrorKind.Output, $"Cannot write '{path}': the folder '{dir}' does not exist.");
        }

        string temp = Path.Combine(dir, "." + Path.GetFileName(full) + "." + Guid.NewGuid().ToString("N")[..8] + ".tmp");
        try
        {
            using (var fs = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16))
            {
                write(fs);
                fs.Flush(flushToDisk: true);
            }

            File.Move(temp, full, overwrite: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            TryDelete(temp);
            throw new ConversionException(ConversionErrorKind.Output, $"Cannot write '{path}': {e.Message}", e);
        }
        catch
        {
            TryDelete(temp);
            throw;
        }
    }

    private static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }
}
