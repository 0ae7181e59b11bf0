// The safetensors header, shared by the generator (which parses the header by path, then scans the tensor bytes for
// NaN/Inf) and the runtime (which binds weights). Format: u64 little-endian N, N bytes of UTF-8 JSON, then the data.
// The JSON maps tensor names to {"dtype", "shape", "data_offsets": [begin, end]} (relative to the
// data start) and may hold "__metadata__", a map of strings.
using System;
using System.Collections.Generic;
using System.Text;
using MobileOne.Formats.Json;
using MobileOne.Model;

namespace MobileOne.Formats.Safetensors;

/// <summary>A malformed safetensors file; line and column are in the header JSON (0 when not applicable).</summary>
internal sealed class SafetensorsFormatException : Exception
{
    public SafetensorsFormatException(string message, int line = 0, int column = 0)
        : base(message)
    {
        Line = line;
        Column = column;
    }

    public int Line { get; }

    public int Column { get; }
}

/// <summary>One tensor entry of the header.</summary>
internal sealed class SafetensorsTensor
{
    public SafetensorsTensor(string name, string dtype, long[] shape, long begin, long end)
    {
        Name = name;
        DType = dtype;
        Shape = shape;
        Begin = begin;
        End = end;
    }

    public string Name { get; }

    public string DType { get; }

    public long[] Shape { get; }

    /// <summary>Start of the tensor's bytes, relative to the start of the data section.</summary>
    public long Begin { get; }

    public long End { get; }

    public long ElementCount
    {
        get
        {
            long n = 1;
            foreach (long d in Shape)
            {
                n *= d;
            }

            return n;
        }
    }

    public string ShapeText => SafetensorsHeader.FormatShape(Shape);
}

internal sealed class SafetensorsHeader
{
    /// <summary>The largest header accepted (the safetensors reference implementation uses the same bound).</summary>
    public const long MaxHeaderBytes = 100L * 1024 * 1024;

    /// <summary>The most tensors accepted in one file.</summary>
    public const int MaxTensors = 100_000;

    /// <summary>The most dimensions accepted for one tensor.</summary>
    public const int MaxRank = 8;

    /// <summary>The largest dimension, and the most elements of one tensor, accepted (int.MaxValue: spans are int-indexed).</summary>
    public const long MaxElements = int.MaxValue;

    private SafetensorsHeader(long headerLength, List<SafetensorsTensor> tensors, Dictionary<string, string> metadata)
    {
        HeaderLength = headerLength;
        Tensors = tensors;
        Metadata = metadata;
    }

    /// <summary>Length in bytes of the JSON header (without the 8-byte length prefix).</summary>
    public long HeaderLength { get; }

    /// <summary>Offset in the file at which tensor data begins.</summary>
    public long DataOffset => 8 + HeaderLength;

    public List<SafetensorsTensor> Tensors { get; }

    public Dictionary<string, string> Metadata { get; }

    /// <summary>Bytes per element of a dtype, or 0 if the dtype is unknown (the shared table, <see cref="DTypes.Size"/>).</summary>
    public static int ElementSize(string dtype) => DTypes.Size(dtype);

    /// <summary>Reads the 8-byte little-endian header length and checks it against the file's length.</summary>
    public static long ReadHeaderLength(byte[] prefix, long fileLength)
    {
        if (fileLength < 8 || prefix.Length < 8)
        {
            throw new SafetensorsFormatException($"The file is {fileLength} bytes long; a safetensors file starts with an 8-byte header length.");
        }

        ulong n = 0;
        for (int i = 7; i >= 0; i--)
        {
            n = (n << 8) | prefix[i];
        }

        if (n > (ulong)MaxHeaderBytes)
        {
            throw new SafetensorsFormatException($"The header length field says {n} bytes, more than the {MaxHeaderBytes} accepted.");
        }

        if ((long)n > fileLength - 8)
        {
            throw new SafetensorsFormatException($"The header length field says {n} bytes, but the file has only {fileLength - 8} bytes after it (truncated file?).");
        }

        if (n < 2)
        {
            throw new SafetensorsFormatException($"The header length field says {n} bytes; a header holds at least '{{}}'.");
        }

        return (long)n;
    }

    /// <summary>Parses the header JSON and checks every entry against <paramref name="dataLength"/>.</summary>
    public static SafetensorsHeader Parse(byte[] headerBytes, long dataLength) =>
        Parse(Encoding.UTF8.GetString(headerBytes), headerBytes.LongLength, dataLength);

    /// <summary>Parses header JSON already decoded from UTF-8 (<paramref name="headerLength"/> is its length in bytes).</summary>
    public static SafetensorsHeader Parse(string text, long headerLength, long dataLength)
    {
        JsonValue root;
        try
        {
            root = JsonReader.Parse(text);
        }
        catch (JsonParseException e)
        {
            throw new SafetensorsFormatException("The header is not valid JSON: " + e.Message, e.Line, e.Column);
        }

        if (root.Kind != JsonKind.Object)
        {
            throw new SafetensorsFormatException("The header must be a JSON object, not " + root.KindName + ".", root.Line, root.Column);
        }

        var tensors = new List<SafetensorsTensor>();
        var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var member in root.Members)
        {
            JsonValue v = member.Value;
            if (member.Key == "__metadata__")
            {
                if (v.Kind != JsonKind.Object)
                {
                    throw new SafetensorsFormatException("'__metadata__' must be an object of strings.", v.Line, v.Column);
                }

                foreach (var m in v.Members)
                {
                    if (m.Value.Kind != JsonKind.String)
                    {
                        throw new SafetensorsFormatException($"'__metadata__.{m.Key}' must be a string, not {m.Value.KindName}.", m.Value.Line, m.Value.Column);
                    }

                    metadata[m.Key] = m.Value.Text;
                }

                continue;
            }

            if (tensors.Count >= MaxTensors)
            {
                throw new SafetensorsFormatException($"The header lists more than {MaxTensors} tensors.", v.Line, v.Column);
            }

            tensors.Add(ParseTensor(member.Key, v, dataLength));
        }

        CheckNoOverlap(tensors);
        return new SafetensorsHeader(headerLength, tensors, metadata);
    }

    public static string FormatShape(long[] shape)
    {
        var sb = new StringBuilder("[");
        for (int i = 0; i < shape.Length; i++)
        {
            if (i > 0)
            {
                sb.Append(", ");
            }

            sb.Append(shape[i].ToString(System.Globalization.CultureInfo.InvariantCulture));
        }

        return sb.Append(']').ToString();
    }

    /// <summary>FNV-1a, 64-bit, over the header bytes: ties generated code to the header it was built from.</summary>
    public static ulong HashHeader(byte[] headerBytes)
    {
        ulong h = 14695981039346656037UL;
        foreach (byte b in headerBytes)
        {
            h ^= b;
            h *= 1099511628211UL;
        }

        return h;
    }

    private static SafetensorsTensor ParseTensor(string name, JsonValue v, long dataLength)
    {
        if (v.Kind != JsonKind.Object)
        {
            throw new SafetensorsFormatException($"Tensor '{name}' must be an object, not {v.KindName}.", v.Line, v.Column);
        }

        JsonValue? dtype = v["dtype"];
        JsonValue? shape = v["shape"];
        JsonValue? offsets = v["data_offsets"];
        if (dtype == null || dtype.Kind != JsonKind.String)
        {
            throw new SafetensorsFormatException($"Tensor '{name}' has no string 'dtype'.", v.Line, v.Column);
        }

        if (shape == null || shape.Kind != JsonKind.Array)
        {
            throw new SafetensorsFormatException($"Tensor '{name}' has no 'shape' array.", v.Line, v.Column);
        }

        if (offsets == null || offsets.Kind != JsonKind.Array || offsets.Items.Count != 2)
        {
            throw new SafetensorsFormatException($"Tensor '{name}' has no 'data_offsets' pair [begin, end].", v.Line, v.Column);
        }

        if (shape.Items.Count > MaxRank)
        {
            throw new SafetensorsFormatException($"Tensor '{name}' has {shape.Items.Count} dimensions; at most {MaxRank} are accepted.", shape.Line, shape.Column);
        }

        var dims = new long[shape.Items.Count];
        long count = 1;
        bool empty = false;
        for (int i = 0; i < dims.Length; i++)
        {
            JsonValue d = shape.Items[i];
            if (!d.TryGetInt64(out dims[i]) || dims[i] < 0 || dims[i] > MaxElements)
            {
                throw new SafetensorsFormatException($"Tensor '{name}' has an invalid dimension '{d.Text}' (a whole number from 0 to {MaxElements} expected).", d.Line, d.Column);
            }

            // Saturate above MaxElements (both factors are at most 2^31, so the product cannot overflow).
            empty |= dims[i] == 0;
            count = count > MaxElements ? count : count * dims[i];
        }

        count = empty ? 0 : count;
        if (count > MaxElements)
        {
            throw new SafetensorsFormatException($"Tensor '{name}' has shape {FormatShape(dims)}: more than {MaxElements} elements.", shape.Line, shape.Column);
        }

        if (!offsets.Items[0].TryGetInt64(out long begin) || !offsets.Items[1].TryGetInt64(out long end) || begin < 0 || end < begin)
        {
            throw new SafetensorsFormatException($"Tensor '{name}' has invalid data_offsets (0 <= begin <= end expected).", offsets.Line, offsets.Column);
        }

        if (end > dataLength)
        {
            throw new SafetensorsFormatException($"Tensor '{name}' ends at byte {end} of the data section, but the data section has only {dataLength} bytes (truncated file?).", offsets.Line, offsets.Column);
        }

        int size = ElementSize(dtype.Text);
        if (size != 0 && count * size != end - begin)
        {
            throw new SafetensorsFormatException($"Tensor '{name}' ({dtype.Text} {FormatShape(dims)}) needs {(count * size).ToString(System.Globalization.CultureInfo.InvariantCulture)} bytes but data_offsets span {end - begin}.", offsets.Line, offsets.Column);
        }

        return new SafetensorsTensor(name, dtype.Text, dims, begin, end);
    }

    private static void CheckNoOverlap(List<SafetensorsTensor> tensors)
    {
        var sorted = new List<SafetensorsTensor>(tensors);
        sorted.Sort((a, b) => a.Begin != b.Begin ? a.Begin.CompareTo(b.Begin) : a.End.CompareTo(b.End));
        for (int i = 1; i < sorted.Count; i++)
        {
            if (sorted[i].Begin < sorted[i - 1].End)
            {
                throw new SafetensorsFormatException($"Tensors '{sorted[i - 1].Name}' and '{sorted[i].Name}' overlap in the data section.");
            }
        }
    }
}
