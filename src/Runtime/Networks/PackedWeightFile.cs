using System;
using System.Buffers.Binary;
using System.Collections.Generic;
using System.IO;
using System.Runtime.InteropServices;
using MobileOne.Model;
using MobileOne.Formats.Safetensors;

namespace MobileOne.Runtime;

/// <summary>
/// Weights packed at build time (docs/design.md, "Packed at build time"): the packed buffer a generated class's
/// <c>Load</c> would build from a safetensors file, written once by the build (the MSBuild task of MobileOne.Generator's
/// package) and embedded instead of the safetensors, so that loading embedded weights maps them instead of parsing and
/// repacking. One file: a 64-byte header, the packed buffer (little-endian, 4-byte units) at the data offset, and 64
/// bytes of slack in which the build moves the data so that it lies on a 64-byte boundary in the compiled assembly
/// (<see cref="AlignInPlace"/>).
/// <code>
///  0  8  magic "MO1PACK\0"
///  8  4  format version (1)
/// 12  4  data offset: 64 + (0 to 60), where the packed data starts
/// 16  8  packed length, in 4-byte units
/// 24  8  length of the safetensors file it was packed from
/// 32  8  FNV-1a hash of that file's header (the one the generator emits into the class)
/// 40  8  layout hash: of the tensor table it was packed with (<see cref="LayoutHash"/>)
/// 48  4  flags: 1 = quantized (int8)
/// 52 12  zero
/// </code>
/// The packing plan comes from <see cref="PackedLayout.Tensors"/>, the same call the generator emits each class's
/// tensor table from; <c>Load</c> compares the layout hash of its own table with the file's, so a blob packed for another
/// layout is refused, never misread.
/// </summary>
public static class PackedWeightFile
{
    /// <summary>Bytes of the header; the packed data starts at most <see cref="SlackBytes"/> - 4 bytes after it.</summary>
    public const int HeaderBytes = 64;

    /// <summary>Bytes after the packed data, into which <see cref="AlignInPlace"/> may move it.</summary>
    public const int SlackBytes = 64;

    /// <summary>The format version this runtime writes and reads.</summary>
    public const int FormatVersion = 1;

    private const ulong FnvOffset = 14695981039346656037UL;
    private const ulong FnvPrime = 1099511628211UL;

    /// <summary>Gets the first eight bytes of a packed weight file.</summary>
    public static ReadOnlySpan<byte> Magic => "MO1PACK\0"u8;

    /// <summary>Whether <paramref name="prefix"/> (the first bytes of a file or resource) starts a packed weight file.</summary>
    /// <param name="prefix">At least 8 bytes.</param>
    /// <returns>True for a packed weight file; a safetensors file starts with its header length instead.</returns>
    public static bool IsPackedWeightFile(ReadOnlySpan<byte> prefix) => prefix.Length >= 8 && prefix.Slice(0, 8).SequenceEqual(Magic);

    /// <summary>
    /// Packs a fused MobileOne safetensors file (FP32, F16, BF16 or a quantized int8 file; Apple's or timm's names) into a
    /// packed weight file: the network is read from the tensor shapes, every tensor is checked and packed as
    /// <c>Load</c> would pack it.
    /// </summary>
    /// <param name="safetensorsPath">The weight file.</param>
    /// <param name="outputPath">The packed file to write (replaced; written to a temporary file first, then moved).</param>
    /// <exception cref="WeightFileException">The file is not a fused MobileOne this runtime can pack.</exception>
    public static void Pack(string safetensorsPath, string outputPath)
    {
        ArgumentNullException.ThrowIfNull(safetensorsPath);
        ArgumentNullException.ThrowIfNull(outputPath);
        byte[] file = File.ReadAllBytes(safetensorsPath);
        Plan plan = PlanFor(file, Path.GetFileName(safetensorsPath));
        AlignedFloatBuffer packed;
        using (WeightReader reader = WeightReader.FromBytes(file, Path.GetFileName(safetensorsPath), plan.Tensors))
        {
            packed = WeightBinding.Pack(reader, plan.Tensors, plan.PackedLength, plan.QuantizedLayers, plan.ActivationScalesOffset);
        }

        Span<byte> header = stackalloc byte[HeaderBytes];
        WriteHeader(header, plan.PackedLength, file.LongLength, plan.HeaderHash, LayoutHash(plan.Tensors, plan.PackedLength), plan.QuantizedLayers != null);
        Span<byte> slack = stackalloc byte[SlackBytes];
        slack.Clear();
        string? directory = Path.GetDirectoryName(Path.GetFullPath(outputPath));
        if (!string.IsNullOrEmpty(directory))
        {
            Directory.CreateDirectory(directory);
        }

        string temporary = outputPath + ".tmp";
        using (var stream = new FileStream(temporary, FileMode.Create, FileAccess.Write, FileShare.None))
        {
            stream.Write(header);
            stream.Write(MemoryMarshal.AsBytes(packed.Span));
            stream.Write(slack);
        }

        File.Move(temporary, outputPath, overwrite: true);
    }

    /// <summary>Bytes of the packed weight file of <paramref name="packedLength"/> units.</summary>
    /// <param name="packedLength">Packed length, in 4-byte units.</param>
    /// <returns>Header, data and slack.</returns>
    public static long FileLength(int packedLength) => HeaderBytes + (4L * packedLength) + SlackBytes;

    /// <summary>
    /// Moves the packed data of a blob that lies at <paramref name="position"/> of <paramref name="file"/> (a compiled
    /// assembly holding it as a manifest resource) within the blob's slack, so that it starts on a 64-byte boundary of
    /// the assembly's image, where the blob's first byte has the relative virtual address <paramref name="rva"/>; updates
    /// the data offset. Loaded assemblies are mapped at page-aligned addresses with their sections' file and virtual
    /// offsets multiples of 64, so the data is then 64-byte aligned in memory and <c>Load</c> uses it without a copy.
    /// Manifest resources themselves are only 8-byte aligned (4 after their length prefix), which is why this is done
    /// after compiling, in the assembly. Nothing else in the file changes (the resource keeps its length).
    /// </summary>
    /// <param name="file">The assembly, open for reading and writing.</param>
    /// <param name="position">Where the blob starts in the file.</param>
    /// <param name="rva">Where it starts in the image.</param>
    /// <param name="length">The resource's length.</param>
    /// <returns>True when the data was moved; false when it was aligned already.</returns>
    /// <exception cref="WeightFileException">The resource is not a packed weight file.</exception>
    public static bool AlignInPlace(Stream file, long position, long rva, long length)
    {
        ArgumentNullException.ThrowIfNull(file);
        Span<byte> header = stackalloc byte[HeaderBytes];
        file.Position = position;
        file.ReadExactly(header);
        if (!IsPackedWeightFile(header) || BinaryPrimitives.ReadInt32LittleEndian(header.Slice(8)) != FormatVersion)
        {
            throw new WeightFileException("The resource at " + position + " is not a packed MobileOne weight file of format " + FormatVersion + ".");
        }

        int current = BinaryPrimitives.ReadInt32LittleEndian(header.Slice(12));
        long units = BinaryPrimitives.ReadInt64LittleEndian(header.Slice(16));
        if (units < 0 || units > int.MaxValue || length != FileLength((int)units) || !ValidDataOffset(current))
        {
            throw new WeightFileException("The packed MobileOne weight resource at " + position + " has a damaged header.");
        }

        int wanted = HeaderBytes + (int)((64 - ((rva + HeaderBytes) % 64)) % 64);
        if (wanted == current)
        {
            return false;
        }

        // Move the data (and zero what it leaves) in chunks, from the end when it moves forward.
        long bytes = 4 * units;
        byte[] chunk = new byte[1 << 20];
        long delta = wanted - current;
        for (long done = 0; done < bytes;)
        {
            int n = (int)Math.Min(chunk.Length, bytes - done);
            long from = delta > 0 ? bytes - done - n : done;
            file.Position = position + current + from;
            file.ReadExactly(chunk, 0, n);
            file.Position = position + wanted + from;
            file.Write(chunk, 0, n);
            done += n;
        }

        byte[] zeros = new byte[SlackBytes];
        long tailStart = wanted + bytes;
        file.Position = position + HeaderBytes;
        file.Write(zeros, 0, wanted - HeaderBytes);
        file.Position = position + tailStart;
        file.Write(zeros, 0, (int)(length - tailStart));
        BinaryPrimitives.WriteInt32LittleEndian(header.Slice(12), wanted);
        file.Position = position;
        file.Write(header);
        return true;
    }

    /// <summary>
    /// A hash of a tensor table's packing (each row's name, packing, packed range and scale indexes) and of the packed
    /// length: what a packed weight file and the class binding it must agree on.
    /// </summary>
    /// <param name="tensors">A generated class's tensor table.</param>
    /// <param name="packedLength">Its packed length.</param>
    /// <returns>FNV-1a, 64-bit.</returns>
    public static ulong LayoutHash(IReadOnlyList<TensorDescriptor> tensors, int packedLength)
    {
        ArgumentNullException.ThrowIfNull(tensors);
        ulong h = Mix(FnvOffset, packedLength);
        foreach (TensorDescriptor t in tensors)
        {
            foreach (char c in t.Name)
            {
                h = Mix(h, c);
            }

            h = Mix(h, (long)t.Packing);
            h = Mix(h, t.PackedOffset);
            h = Mix(h, t.PackedLength);
            h = Mix(h, t.InputScaleIndex);
            h = Mix(h, t.OutputScaleIndex);
            foreach (int d in t.Shape)
            {
                h = Mix(h, d);
            }
        }

        return h;
    }

    /// <summary>
    /// Reads and checks the header of a packed weight file against the class that binds it.
    /// </summary>
    /// <param name="header">The first <see cref="HeaderBytes"/> bytes.</param>
    /// <param name="available">Bytes of the whole file or resource.</param>
    /// <param name="source">What it is, for messages.</param>
    /// <param name="tensors">The class's tensor table.</param>
    /// <param name="packedLength">The class's packed length.</param>
    /// <param name="expectedLength">The length of the safetensors file the class was generated from.</param>
    /// <param name="expectedHeaderHash">The hash of its header.</param>
    /// <returns>Where the packed data starts.</returns>
    /// <exception cref="WeightFileException">The file is not a packed weight file of this class.</exception>
    internal static int CheckHeader(ReadOnlySpan<byte> header, long available, string source, IReadOnlyList<TensorDescriptor> tensors, int packedLength, long expectedLength, ulong expectedHeaderHash)
    {
        if (header.Length < HeaderBytes || !IsPackedWeightFile(header))
        {
            throw new WeightFileException($"The {source} is not a packed MobileOne weight file.");
        }

        int version = BinaryPrimitives.ReadInt32LittleEndian(header.Slice(8));
        if (version != FormatVersion)
        {
            throw new WeightFileException($"The {source} is packed weight format {version}; this runtime reads format {FormatVersion}. Rebuild the project with the same version of MobileOne.Generator and MobileOne.Runtime.");
        }

        long length = BinaryPrimitives.ReadInt64LittleEndian(header.Slice(16));
        if (length != packedLength || available != FileLength(packedLength))
        {
            throw new WeightFileException($"The {source} holds {length} packed units in {available} bytes; the class needs {packedLength} ({FileLength(packedLength)} bytes). Rebuild the project.");
        }

        int dataOffset = BinaryPrimitives.ReadInt32LittleEndian(header.Slice(12));
        if (!ValidDataOffset(dataOffset))
        {
            throw new WeightFileException($"The {source} has its data at offset {dataOffset}; a packed weight file has it at 64 to 124, a multiple of 4. Rebuild the project.");
        }

        if (BinaryPrimitives.ReadInt64LittleEndian(header.Slice(24)) != expectedLength || BinaryPrimitives.ReadUInt64LittleEndian(header.Slice(32)) != expectedHeaderHash)
        {
            throw new WeightFileException($"The {source} was packed from another weight file than the one the class was generated from. Rebuild the project.");
        }

        if (BinaryPrimitives.ReadUInt64LittleEndian(header.Slice(40)) != LayoutHash(tensors, packedLength))
        {
            throw new WeightFileException($"The {source} was packed with another layout than the class expects (MobileOne.Generator and MobileOne.Runtime of different versions?). Rebuild the project.");
        }

        return dataOffset;
    }

    private static bool ValidDataOffset(int offset) => offset >= HeaderBytes && offset < HeaderBytes + SlackBytes && offset % 4 == 0;

    /// <summary>The packing plan of a safetensors file, derived from its tensor shapes (what the generator derives too).</summary>
    internal static Plan PlanFor(byte[] file, string source)
    {
        (SafetensorsHeader header, CanonicalNames canonical, Dictionary<string, SafetensorsTensor> byOriginal) = WeightReader.ReadHeader(file, source);
        var shapes = new Dictionary<string, int[]>(StringComparer.Ordinal);
        foreach (KeyValuePair<string, string> pair in canonical.ToOriginal)
        {
            long[] s = byOriginal[pair.Value].Shape;
            var ints = new int[s.Length];
            for (int i = 0; i < s.Length; i++)
            {
                ints[i] = checked((int)s[i]);
            }

            shapes[pair.Key] = ints;
        }

        InferredNetwork inferred = ShapeInference.Infer(shapes);
        if (inferred.Error != null || inferred.Shape == null)
        {
            throw new WeightFileException($"{source} is not a MobileOne: {inferred.Error}.");
        }

        if (inferred.Form != NetworkForm.Fused)
        {
            throw new WeightFileException($"{source} holds a train-time (unfused) MobileOne; fuse it first (mobileone convert).");
        }

        NetworkShape network = inferred.Shape;
        bool quantized = QuantizationScheme.IsQuantized(header.Metadata);
        var tensors = new List<TensorDescriptor>();
        long packedLength = 0;
        int scalesOffset = -1;
        foreach (PackedTensor t in PackedLayout.Tensors(network, quantized))
        {
            var packing = Enum.Parse<TensorPacking>(t.Packing);
            tensors.Add(new TensorDescriptor(t.Name, t.Shape, packing, checked((int)t.Offset), checked((int)t.Length))
            {
                InputScaleIndex = t.InputScaleIndex,
                OutputScaleIndex = t.OutputScaleIndex,
            });
        }

        foreach (PackedRegion r in quantized ? PackedLayout.QuantizedRegions(network) : PackedLayout.Regions(network))
        {
            packedLength = checked(r.Offset + r.Length);
            if (r.Name == "ActivationScales")
            {
                scalesOffset = checked((int)r.Offset);
            }
        }

        List<string>? layers = null;
        if (quantized)
        {
            layers = new List<string>();
            foreach (LayerShape l in network.Layers())
            {
                layers.Add(l.Name);
            }
        }

        ulong hash = SafetensorsHeader.HashHeader(file.AsSpan(8, (int)header.HeaderLength).ToArray());
        return new Plan(tensors, checked((int)packedLength), layers, scalesOffset, hash);
    }

    private static void WriteHeader(Span<byte> header, int packedLength, long sourceLength, ulong headerHash, ulong layoutHash, bool quantized)
    {
        header.Clear();
        Magic.CopyTo(header);
        BinaryPrimitives.WriteInt32LittleEndian(header.Slice(8), FormatVersion);
        BinaryPrimitives.WriteInt32LittleEndian(header.Slice(12), HeaderBytes); // data offset; AlignInPlace may move it
        BinaryPrimitives.WriteInt64LittleEndian(header.Slice(16), packedLength);
        BinaryPrimitives.WriteInt64LittleEndian(header.Slice(24), sourceLength);
        BinaryPrimitives.WriteUInt64LittleEndian(header.Slice(32), headerHash);
        BinaryPrimitives.WriteUInt64LittleEndian(header.Slice(40), layoutHash);
        BinaryPrimitives.WriteInt32LittleEndian(header.Slice(48), quantized ? 1 : 0);
    }

    private static ulong Mix(ulong h, long value)
    {
        for (int i = 0; i < 8; i++)
        {
            h ^= (byte)(value >> (8 * i));
            h *= FnvPrime;
        }

        return h;
    }

    /// <summary>A file's packing plan: its tensor table as the generator emits it, and where the int8 scales go.</summary>
    internal sealed record Plan(IReadOnlyList<TensorDescriptor> Tensors, int PackedLength, IReadOnlyList<string>? QuantizedLayers, int ActivationScalesOffset, ulong HeaderHash);
}
