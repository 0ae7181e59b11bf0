using System;

namespace MobileOne.Model;

/// <summary>
/// Element types in safetensors spelling: the one table of their sizes, and the widening of the float weight types to
/// F32 (F16 with its subnormals, infinities and NaNs; BF16 as the top half of an F32). Works on every target
/// framework the repository builds (the generator's netstandard2.0 has no <c>Half</c>).
/// </summary>
internal static class DTypes
{
    /// <summary>Bytes per element, 0 for an unknown dtype.</summary>
    public static int Size(string dtype) => dtype switch
    {
        "F64" or "I64" or "U64" => 8,
        "F32" or "I32" or "U32" => 4,
        "F16" or "BF16" or "I16" or "U16" => 2,
        "I8" or "U8" or "BOOL" or "F8_E4M3" or "F8_E5M2" => 1,
        _ => 0,
    };

    /// <summary>F32, F16 or BF16: the dtypes the generator and the runtime read weights in.</summary>
    public static bool IsWeightFloat(string dtype) => dtype is "F32" or "F16" or "BF16";

    /// <summary>Any floating-point dtype the conversion library reads (also F64).</summary>
    public static bool IsFloat(string dtype) => dtype is "F64" or "F32" or "F16" or "BF16";

    /// <summary>Widens little-endian F32, F16 or BF16 elements (unaligned) to float.</summary>
    /// <exception cref="ArgumentException">Another dtype, or lengths that do not match.</exception>
    public static void Widen(ReadOnlySpan<byte> source, string dtype, Span<float> destination)
    {
        int size = IsWeightFloat(dtype) ? Size(dtype) : throw new ArgumentException("Unsupported dtype " + dtype + " (F32, F16 or BF16).", nameof(dtype));
        if (source.Length != destination.Length * size)
        {
            throw new ArgumentException("Expected " + (destination.Length * size) + " bytes of " + dtype + ", got " + source.Length + ".", nameof(source));
        }

        // The dtype is chosen once per tensor, not per element: this loop runs over every weight at load.
        switch (dtype)
        {
            case "F32" when BitConverter.IsLittleEndian:
                System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(source).CopyTo(destination);
                break;
            case "F16":
                for (int i = 0; i < destination.Length; i++)
                {
                    destination[i] = HalfToSingle((ushort)(source[2 * i] | (source[(2 * i) + 1] << 8)));
                }

                break;
            case "BF16":
                for (int i = 0; i < destination.Length; i++)
                {
                    destination[i] = BitsToSingle((source[2 * i] << 16) | (source[(2 * i) + 1] << 24));
                }

                break;
            default:
                for (int i = 0; i < destination.Length; i++)
                {
                    destination[i] = WidenOne(source.Slice(i * size), dtype);
                }

                break;
        }
    }

    /// <summary>Widens the little-endian F32, F16 or BF16 element at the start of <paramref name="source"/>.</summary>
    public static float WidenOne(ReadOnlySpan<byte> source, string dtype)
    {
        switch (dtype)
        {
            case "F32":
                return BitsToSingle(source[0] | (source[1] << 8) | (source[2] << 16) | (source[3] << 24));
            case "BF16":
                return BitsToSingle((source[0] << 16) | (source[1] << 24));
            case "F16":
                return HalfToSingle((ushort)(source[0] | (source[1] << 8)));
            default:
                throw new ArgumentException("Unsupported dtype " + dtype + " (F32, F16 or BF16).", nameof(dtype));
        }
    }

    /// <summary>IEEE 754 binary16 → binary32, exactly (every half is a float).</summary>
    public static float HalfToSingle(ushort h)
    {
        int sign = (h & 0x8000) << 16, exponent = (h >> 10) & 0x1F, mantissa = h & 0x3FF;
        if (exponent == 0x1F)
        {
            // Infinity, or NaN with its payload kept and made quiet (as System.Half and vcvtph2ps do).
            return BitsToSingle(sign | 0x7F800000 | (mantissa == 0 ? 0 : 0x400000 | (mantissa << 13)));
        }

        if (exponent == 0)
        {
            if (mantissa == 0)
            {
                return BitsToSingle(sign); // ±0
            }

            // Subnormal: mantissa · 2^-24, normalised for the float.
            exponent = 1;
            while ((mantissa & 0x400) == 0)
            {
                mantissa <<= 1;
                exponent--;
            }

            mantissa &= 0x3FF;
        }

        return BitsToSingle(sign | ((exponent + 112) << 23) | (mantissa << 13));
    }

    private static float BitsToSingle(int bits) => new FloatBits { Int = bits }.Float;

    /// <summary>An int and a float on the same four bytes (no unsafe code, no allocation, any target framework).</summary>
    [System.Runtime.InteropServices.StructLayout(System.Runtime.InteropServices.LayoutKind.Explicit)]
    private struct FloatBits
    {
        [System.Runtime.InteropServices.FieldOffset(0)]
        public int Int;

        [System.Runtime.InteropServices.FieldOffset(0)]
        public float Float;
    }
}
