using System;
using System.Collections.Generic;
using System.IO;
using MobileOne.Formats.Safetensors;
using MobileOne.Model;

namespace MobileOne.Runtime;

/// <summary>
/// Reads the tensors of a safetensors weight file for a generated network and widens them to float.
/// Every expected tensor is checked (name, shape, dtype, byte range) before any is read, so a mismatching file
/// throws <see cref="WeightFileException"/> naming the first problem and nothing is half-loaded.
/// </summary>
public sealed class WeightReader : IDisposable
{
    private readonly string _source;
    private readonly Dictionary<string, (string DType, long Offset, long Count)> _tensors;
    private readonly Dictionary<string, string> _metadata;
    private byte[] _file;
    private float[] _buffer = Array.Empty<float>();
    private bool _disposed;

    private WeightReader(byte[] file, string source, Dictionary<string, (string, long, long)> tensors, Dictionary<string, string> metadata)
    {
        _file = file;
        _source = source;
        _tensors = tensors;
        _metadata = metadata;
    }

    /// <summary>Gets the file's <c>__metadata__</c> (empty when it has none).</summary>
    public IReadOnlyDictionary<string, string> Metadata => _metadata;

    /// <summary>Gets where the weights come from, for messages ("mobileone_s1.safetensors", "the weight stream", …).</summary>
    public string Source => _source;

    /// <summary>
    /// The dtype a tensor packed as <paramref name="packing"/> must have in the file: I8 for int8 weights, I32 for int32
    /// biases, F32 for weight scales; null where F32, F16 and BF16 are all accepted.
    /// </summary>
    public static string? RequiredDType(TensorPacking packing) => packing switch
    {
        TensorPacking.Int8Stem or TensorPacking.Int8Depthwise or TensorPacking.Int8Pointwise => "I8",
        TensorPacking.Int32Bias => "I32",
        TensorPacking.Requantize or TensorPacking.Dequantize => "F32",
        _ => null,
    };

    /// <summary>Opens a safetensors file and checks it against <paramref name="expected"/>.</summary>
    /// <param name="path">The file.</param>
    /// <param name="expected">The tensors the network reads.</param>
    /// <exception cref="WeightFileException">The file is malformed or does not match.</exception>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    public static WeightReader FromFile(string path, IReadOnlyList<TensorDescriptor> expected)
    {
        ArgumentNullException.ThrowIfNull(path);
        var info = new FileInfo(path);
        if (info.Exists && info.Length > Array.MaxLength)
        {
            throw new WeightFileException($"{info.Name} has {info.Length} bytes, more than one array holds ({Array.MaxLength}).");
        }

        byte[] bytes = File.ReadAllBytes(path);
        return FromBytes(bytes, Path.GetFileName(path), expected);
    }

    /// <summary>Reads a safetensors stream to its end and checks it against <paramref name="expected"/>.</summary>
    /// <param name="stream">The stream, positioned at the start of the file.</param>
    /// <param name="expected">The tensors the network reads.</param>
    /// <exception cref="WeightFileException">The stream is malformed or does not match.</exception>
    public static WeightReader FromStream(Stream stream, IReadOnlyList<TensorDescriptor> expected)
    {
        ArgumentNullException.ThrowIfNull(stream);
        return FromBytes(ReadAll(stream), "the weight stream", expected);
    }

    /// <summary>
    /// Reads weights embedded at build time: checks the length and header hash the generator saw, then
    /// uses the dtypes and offsets it recorded in <paramref name="expected"/>.
    /// </summary>
    /// <param name="stream">The manifest resource stream.</param>
    /// <param name="resourceName">The resource's name, for messages.</param>
    /// <param name="expected">The tensors, with build-time dtypes and offsets.</param>
    /// <param name="expectedLength">The file length the generator saw.</param>
    /// <param name="expectedHeaderHash">FNV-1a hash of the header the generator saw.</param>
    /// <exception cref="WeightFileException">The embedded file is not the one the class was generated from.</exception>
    public static WeightReader FromEmbedded(Stream stream, string resourceName, IReadOnlyList<TensorDescriptor> expected, long expectedLength, ulong expectedHeaderHash)
    {
        ArgumentNullException.ThrowIfNull(stream);
        ArgumentNullException.ThrowIfNull(expected);
        string source = $"embedded resource '{resourceName}'";
        if (stream.CanSeek && stream.Length != expectedLength)
        {
            throw new WeightFileException($"The {source} has {stream.Length} bytes, but the class was generated from a file of {expectedLength} bytes. Rebuild the project.");
        }

        byte[] file = ReadAll(stream);
        if (file.LongLength != expectedLength)
        {
            throw new WeightFileException($"The {source} has {file.LongLength} bytes, but the class was generated from a file of {expectedLength} bytes. Rebuild the project.");
        }

        long headerLength = ReadHeaderLength(file, source);
        ulong hash = SafetensorsHeader.HashHeader(file.AsSpan(8, (int)headerLength).ToArray());
        if (hash != expectedHeaderHash)
        {
            throw new WeightFileException($"The header of the {source} differs from the one the class was generated from. Rebuild the project.");
        }

        long dataOffset = 8 + headerLength;
        var tensors = new Dictionary<string, (string, long, long)>(StringComparer.Ordinal);
        foreach (TensorDescriptor t in expected)
        {
            if (!DTypeFits(t.DType, t.Packing) || t.Begin < 0 || t.End - t.Begin != t.ElementCount * DTypes.Size(t.DType) || dataOffset + t.End > file.LongLength)
            {
                throw new WeightFileException($"Tensor '{t.Name}' of the {source} has no valid build-time location.");
            }

            tensors[t.Name] = (t.DType, dataOffset + t.Begin, t.ElementCount);
        }

        // The metadata (a quantized network's activation scales) is read from the header the hash has just vouched for.
        Dictionary<string, string> metadata;
        try
        {
            metadata = SafetensorsHeader.Parse(file.AsSpan(8, (int)headerLength).ToArray(), file.LongLength - 8 - headerLength).Metadata;
        }
        catch (SafetensorsFormatException e)
        {
            throw new WeightFileException($"The {source} is not a valid safetensors file: {e.Message}", e);
        }

        return new WeightReader(file, source, tensors, metadata);
    }

    /// <summary>Returns tensor <paramref name="name"/> (Apple's name) as floats; valid until the next call.</summary>
    /// <param name="name">A name from the expected list.</param>
    /// <exception cref="ArgumentException">The tensor was not in the expected list.</exception>
    /// <exception cref="ObjectDisposedException">The reader has been disposed.</exception>
    public ReadOnlySpan<float> Read(string name)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (!_tensors.TryGetValue(name, out var t))
        {
            throw new ArgumentException($"Tensor '{name}' is not one that this network reads.", nameof(name));
        }

        if (_buffer.Length < t.Count)
        {
            _buffer = new float[t.Count];
        }

        Span<float> dst = _buffer.AsSpan(0, (int)t.Count);
        ReadOnlySpan<byte> src = _file.AsSpan((int)t.Offset, (int)(t.Count * DTypes.Size(t.DType)));
        DTypes.Widen(src, t.DType, dst);
        return dst;
    }

    /// <summary>Returns the bytes of tensor <paramref name="name"/> as stored (little-endian, unaligned), with its dtype.</summary>
    /// <param name="name">A name from the expected list.</param>
    /// <param name="dtype">Receives the tensor's dtype.</param>
    /// <exception cref="ArgumentException">The tensor was not in the expected list.</exception>
    /// <exception cref="ObjectDisposedException">The reader has been disposed.</exception>
    public ReadOnlySpan<byte> ReadBytes(string name, out string dtype)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (!_tensors.TryGetValue(name, out var t))
        {
            throw new ArgumentException($"Tensor '{name}' is not one that this network reads.", nameof(name));
        }

        dtype = t.DType;
        return _file.AsSpan((int)t.Offset, (int)(t.Count * DTypes.Size(t.DType)));
    }

    /// <summary>
    /// Drops the reader's references to the file's bytes and to its float buffer, so that the garbage collector can
    /// reclaim them (a span returned by <see cref="Read"/> keeps its buffer alive while it is in use). Nothing else is
    /// held: the file or stream was read to its end and closed (or left to its owner) before the reader was returned.
    /// <see cref="Read"/> throws <see cref="ObjectDisposedException"/> afterwards.
    /// </summary>
    public void Dispose()
    {
        _disposed = true;
        _file = Array.Empty<byte>();
        _buffer = Array.Empty<float>();
    }

    internal static WeightReader FromBytes(byte[] file, string source, IReadOnlyList<TensorDescriptor> expected)
    {
        ArgumentNullException.ThrowIfNull(expected);
        (SafetensorsHeader header, CanonicalNames names, Dictionary<string, SafetensorsTensor> byOriginal) = ReadHeader(file, source);
        var used = new HashSet<string>(StringComparer.Ordinal);
        var tensors = new Dictionary<string, (string, long, long)>(StringComparer.Ordinal);
        foreach (TensorDescriptor e in expected)
        {
            if (!names.ToOriginal.TryGetValue(e.Name, out string? original) || !byOriginal.TryGetValue(original, out SafetensorsTensor? t))
            {
                throw new WeightFileException($"{Capitalize(source)} has no tensor '{e.Name}' (shape {e.ShapeText}); it is not a fused MobileOne of this architecture.");
            }

            if (t.Shape.Length != e.Shape.Length || !ShapesEqual(t.Shape, e.Shape))
            {
                throw new WeightFileException($"Tensor '{t.Name}' in {source} has shape {t.ShapeText}, but this network needs {e.ShapeText}.");
            }

            if (!DTypeFits(t.DType, e.Packing))
            {
                throw new WeightFileException(RequiredDType(e.Packing) is string required
                    ? $"Tensor '{t.Name}' in {source} has dtype {t.DType}; this quantized network needs {required}."
                    : $"Tensor '{t.Name}' in {source} has dtype {t.DType}; F32, F16 and BF16 are supported.");
            }

            tensors[e.Name] = (t.DType, header.DataOffset + t.Begin, t.ElementCount);
            used.Add(t.Name);
        }

        foreach (SafetensorsTensor t in header.Tensors)
        {
            if (!used.Contains(t.Name))
            {
                throw new WeightFileException($"{Capitalize(source)} has tensor '{t.Name}' {t.ShapeText}, which this network does not have; it is a different architecture.");
            }
        }

        return new WeightReader(file, source, tensors, header.Metadata);
    }

    /// <summary>
    /// Parses a safetensors file's header and maps its names to Apple's with the one naming rule (docs/mobileone.md,
    /// "Tensor names"), as the generator applies it: Apple's names or timm's, never both, and never two names for one tensor.
    /// </summary>
    /// <exception cref="WeightFileException">The header is malformed, or the names break the rule.</exception>
    internal static (SafetensorsHeader Header, CanonicalNames Names, Dictionary<string, SafetensorsTensor> ByOriginal) ReadHeader(byte[] file, string source)
    {
        long headerLength = ReadHeaderLength(file, source);
        SafetensorsHeader header;
        try
        {
            header = SafetensorsHeader.Parse(file.AsSpan(8, (int)headerLength).ToArray(), file.LongLength - 8 - headerLength);
        }
        catch (SafetensorsFormatException e)
        {
            string where = e.Line > 0 ? $" (header line {e.Line}, column {e.Column})" : string.Empty;
            throw new WeightFileException($"{Capitalize(source)} is not a valid safetensors file: {e.Message}{where}", e);
        }

        var byOriginal = new Dictionary<string, SafetensorsTensor>(StringComparer.Ordinal);
        var inFileOrder = new List<string>(header.Tensors.Count);
        foreach (SafetensorsTensor t in header.Tensors)
        {
            byOriginal[t.Name] = t;
            inFileOrder.Add(t.Name);
        }

        CanonicalNames names = TensorNames.Canonicalize(inFileOrder);
        if (names.Error != null)
        {
            throw new WeightFileException($"{Capitalize(source)} is not a valid MobileOne weight file: {names.Error}.");
        }

        return (header, names, byOriginal);
    }

    private static bool DTypeFits(string dtype, TensorPacking packing) =>
        RequiredDType(packing) is string required ? dtype == required : DTypes.IsWeightFloat(dtype);

    private static bool ShapesEqual(long[] actual, int[] expected)
    {
        for (int i = 0; i < actual.Length; i++)
        {
            if (actual[i] != expected[i])
            {
                return false;
            }
        }

        return true;
    }

    private static long ReadHeaderLength(byte[] file, string source)
    {
        try
        {
            return SafetensorsHeader.ReadHeaderLength(file.AsSpan(0, Math.Min(8, file.Length)).ToArray(), file.LongLength);
        }
        catch (SafetensorsFormatException e)
        {
            throw new WeightFileException($"{Capitalize(source)} is not a valid safetensors file: {e.Message}", e);
        }
    }

    private static byte[] ReadAll(Stream stream)
    {
        if (stream.CanSeek)
        {
            long remaining = stream.Length - stream.Position;
            if (remaining > Array.MaxLength)
            {
                throw new WeightFileException($"The weight stream has {remaining} bytes, more than one array holds.");
            }

            byte[] bytes = new byte[remaining];
            stream.ReadExactly(bytes);
            return bytes;
        }

        using var copy = new MemoryStream();
        stream.CopyTo(copy);
        return copy.ToArray();
    }

    private static string Capitalize(string s) => s.Length == 0 ? s : char.ToUpperInvariant(s[0]) + s.Substring(1);
}
