using System;
using System.Collections.Generic;
using System.IO;
using System.Runtime.CompilerServices;

namespace MobileOne.Runtime;

/// <summary>
/// The two ways a generated class gets its packed weights: packing a safetensors file (at run time by <c>Load</c>, or
/// at build time by <see cref="PackedWeightFile.Pack"/>: the same code), or mapping a file packed at build time.
/// </summary>
internal static class WeightBinding
{
    /// <summary>Packs every tensor of <paramref name="tensors"/> (and a quantized network's activation scales).</summary>
    public static AlignedFloatBuffer Pack(WeightReader reader, IReadOnlyList<TensorDescriptor> tensors, int packedLength, IReadOnlyList<string>? quantizedLayers, int activationScalesOffset)
    {
        var weights = new AlignedFloatBuffer(packedLength);
        if (quantizedLayers != null)
        {
            QuantizedPacking.PackAll(reader, tensors, quantizedLayers, activationScalesOffset, weights.Span);
        }
        else
        {
            WeightPacking.PackAll(reader, tensors, weights.Span);
        }

        return weights;
    }

    /// <summary>
    /// Binds a packed weight file embedded in an assembly: checks its header against the class, then uses the packed
    /// data where it lies in the assembly's image when it is 64-byte aligned (no copy), else copies it once into an
    /// aligned buffer. A resource stream that is not memory (not <see cref="UnmanagedMemoryStream"/>) is read once.
    /// </summary>
    /// <param name="stream">The resource stream, at its start.</param>
    /// <param name="owner">What keeps the image alive (the assembly).</param>
    /// <param name="source">What it is, for messages.</param>
    /// <param name="tensors">The class's tensor table.</param>
    /// <param name="packedLength">The class's packed length.</param>
    /// <param name="expectedLength">The length of the safetensors file the class was generated from.</param>
    /// <param name="expectedHeaderHash">The hash of its header.</param>
    /// <returns>The packed weights.</returns>
    public static unsafe AlignedFloatBuffer MapPacked(Stream stream, object owner, string source, IReadOnlyList<TensorDescriptor> tensors, int packedLength, long expectedLength, ulong expectedHeaderHash)
    {
        long available = stream.Length - stream.Position;
        if (stream is UnmanagedMemoryStream memory)
        {
            byte* start = memory.PositionPointer;
            int offset = PackedWeightFile.CheckHeader(new ReadOnlySpan<byte>(start, (int)Math.Min(available, PackedWeightFile.HeaderBytes)), available, source, tensors, packedLength, expectedLength, expectedHeaderHash);
            float* data = (float*)(start + offset);
            nuint bytes = (nuint)packedLength * sizeof(float);
            PageMemory.PopulateRead(data, bytes);
            if ((nuint)data % AlignedFloatBuffer.AlignmentBytes == 0)
            {
                return new AlignedFloatBuffer(data, packedLength, owner);
            }

            (IntPtr copy, object copyOwner) = PageMemory.AllocatePopulated(packedLength);
            Unsafe.CopyBlockUnaligned((void*)copy, data, checked((uint)bytes));
            return new AlignedFloatBuffer((float*)copy, packedLength, copyOwner);
        }

        Span<byte> header = stackalloc byte[PackedWeightFile.HeaderBytes];
        stream.ReadAtLeast(header, header.Length, throwOnEndOfStream: false);
        int dataOffset = PackedWeightFile.CheckHeader(header, available, source, tensors, packedLength, expectedLength, expectedHeaderHash);
        var weights = new AlignedFloatBuffer(packedLength, zeroed: false);
        stream.ReadExactly(stackalloc byte[dataOffset - PackedWeightFile.HeaderBytes]);
        stream.ReadExactly(System.Runtime.InteropServices.MemoryMarshal.AsBytes(weights.Span));
        return weights;
    }
}
