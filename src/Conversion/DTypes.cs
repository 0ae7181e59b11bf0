using System;
using System.Buffers.Binary;

namespace MobileOne.Conversion;

/// <summary>Element types in safetensors spelling, and their conversions to and from float.</summary>
public static class DTypes
{
    /// <summary>Bytes per element, 0 for an unknown dtype.</summary>
    public static int Size(string dtype) => dtype switch
    {
        "F64" or "I64" or "U64" => 8,
        "F32" or "I32" or "U32" => 4,
        "F16" or "BF16" or "I16" or "U16" => 2,
        "I8" or "U8" or "BOOL" => 1,
        _ => 0,
    };

    /// <summary>Whether the dtype is a floating-point type (the ones weights may have).</summary>
    public static bool IsFloat(string dtype) => dtype is "F64" or "F32" or "F16" or "BF16";

    /// <summary>Widens <paramref name="count"/> little-endian elements to float.</summary>
    public static float[] Widen(ReadOnlySpan<byte> src, string dtype, int count)
    {
        var dst = new float[count];
        int size = Size(dtype);
        for (int i = 0; i < count; i++)
        {
            dst[i] = WidenOne(src.Slice(size * i), dtype);
        }

        return dst;
    }

    /// <summary>Widens the little-endian element at the start of <paramref name="src"/> to float.</summary>
    internal static float WidenOne(ReadOnlySpan<byte> src, string dtype) => dtype switch
    {
        "F32" => BinaryPrimitives.ReadSingleLittleEndian(src),
        "F16" => (float)BinaryPrimitives.ReadHalfLittleEndian(src),
        "BF16" => BitConverter.Int32BitsToSingle(BinaryPrimitives.ReadUInt16LittleEndian(src) << 16),
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
