using System;
using System.Buffers.Binary;
using SharedDTypes = MobileOne.Model.DTypes;

namespace MobileOne.Conversion;

/// <summary>
/// Element types in safetensors spelling, and their conversions to and from float. Sizes and the widening of F32, F16 and
/// BF16 are the shared model's (src/Shared/Model/DTypes.cs, the table the generator and the runtime use); this class adds
/// the dtypes only the conversion library reads (F64 and the integer types) and the encoding.
/// </summary>
public static class DTypes
{
    /// <summary>Bytes per element, 0 for an unknown dtype.</summary>
    public static int Size(string dtype) => SharedDTypes.Size(dtype);

    /// <summary>Whether the dtype is a floating-point type (the ones weights may have).</summary>
    public static bool IsFloat(string dtype) => SharedDTypes.IsFloat(dtype);

    /// <summary>Whether <see cref="Widen"/> reads the dtype: the floats (F64, F32, F16, BF16), the integers and BOOL; not F8.</summary>
    internal static bool CanWiden(string dtype) => SharedDTypes.Size(dtype) != 0 && dtype is not ("F8_E4M3" or "F8_E5M2");

    /// <summary>Widens <paramref name="count"/> little-endian elements to float.</summary>
    public static float[] Widen(ReadOnlySpan<byte> src, string dtype, int count)
    {
        var dst = new float[count];
        int size = Size(dtype);
        if (SharedDTypes.IsWeightFloat(dtype))
        {
            SharedDTypes.Widen(src[..(size * count)], dtype, dst);
            return dst;
        }

        for (int i = 0; i < count; i++)
        {
            dst[i] = WidenOne(src.Slice(size * i), dtype);
        }

        return dst;
    }

    /// <summary>Widens the little-endian element at the start of <paramref name="src"/> to float.</summary>
    internal static float WidenOne(ReadOnlySpan<byte> src, string dtype) => dtype switch
    {
        "F32" or "F16" or "BF16" => SharedDTypes.WidenOne(src, dtype),
        "F64" => (float)BinaryPrimitives.ReadDoubleLittleEndian(src),
        "I64" => BinaryPrimitives.ReadInt64LittleEndian(src),
        "U64" => BinaryPrimitives.ReadUInt64LittleEndian(src),
        "I32" => BinaryPrimitives.ReadInt32LittleEndian(src),
        "U32" => BinaryPrimitives.ReadUInt32LittleEndian(src),
        "I16" => BinaryPrimitives.ReadInt16LittleEndian(src),
        "U16" => BinaryPrimitives.ReadUInt16LittleEndian(src),
        "I8" => (sbyte)src[0],
        "U8" or "BOOL" => src[0],
        _ => throw new ArgumentException($"Unsupported dtype {dtype}.", nameof(dtype)),
    };

    /// <summary>Little-endian F32, F16 (round to nearest even) or BF16 (round to nearest even) bytes.</summary>
    public static byte[] Encode(ReadOnlySpan<float> values, string dtype)
    {
        int size = dtype switch
        {
            "F32" => 4,
            "F16" or "BF16" => 2,
            _ => throw new ArgumentException($"Cannot encode dtype '{dtype}' (F32, F16 or BF16).", nameof(dtype)),
        };
        var b = new byte[values.Length * size];
        for (int i = 0; i < values.Length; i++)
        {
            switch (dtype)
            {
                case "F32":
                    BinaryPrimitives.WriteSingleLittleEndian(b.AsSpan(4 * i), values[i]);
                    break;
                case "F16":
                    BinaryPrimitives.WriteHalfLittleEndian(b.AsSpan(2 * i), (Half)values[i]);
                    break;
                default:
                    BinaryPrimitives.WriteUInt16LittleEndian(b.AsSpan(2 * i), ToBFloat16Bits(values[i]));
                    break;
            }
        }

        return b;
    }

    /// <summary>The float a reader gets back after storing <paramref name="value"/> as <paramref name="dtype"/>.</summary>
    public static float RoundTo(float value, string dtype) => dtype switch
    {
        "F32" => value,
        "F16" => (float)(Half)value,
        "BF16" => BitConverter.UInt32BitsToSingle((uint)ToBFloat16Bits(value) << 16),
        _ => throw new ArgumentException($"Unsupported dtype '{dtype}'.", nameof(dtype)),
    };

    /// <summary>bfloat16 bits: round to nearest, ties to even; NaN stays NaN.</summary>
    public static ushort ToBFloat16Bits(float value)
    {
        uint bits = BitConverter.SingleToUInt32Bits(value);
        if (float.IsNaN(value))
        {
            return (ushort)((bits >> 16) | 0x0040);
        }

        return (ushort)((bits + 0x7FFFu + ((bits >> 16) & 1u)) >> 16);
    }
}
