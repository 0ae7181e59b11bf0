// Finds NaN and infinite values in little-endian F32, F16 and BF16 tensor bytes without decoding them: a value is
// NaN or infinite exactly when all its exponent bits are set.
using MobileOne.Model;

namespace MobileOne.Formats.Safetensors;

internal static class NonFiniteValues
{
    /// <summary>Bytes per element of the float dtypes the generator and runtime accept (F32, F16, BF16), or 0 (the shared table, <see cref="DTypes"/>).</summary>
    public static int ElementSize(string dtype) => DTypes.IsWeightFloat(dtype) ? DTypes.Size(dtype) : 0;

    /// <summary>
    /// Counts the NaN and infinite values among the first <paramref name="length"/> bytes of <paramref name="bytes"/>
    /// (a whole number of <paramref name="dtype"/> elements); <paramref name="first"/> is the element index of the
    /// first one, or -1.
    /// </summary>
    public static int Count(byte[] bytes, int length, string dtype, out int first)
    {
        first = -1;
        int count = 0;
        switch (dtype)
        {
            case "F32": // exponent 0x7F800000: bits 7..14 of the top two bytes
                for (int i = 0; i + 3 < length; i += 4)
                {
                    if ((bytes[i + 3] & 0x7F) == 0x7F && (bytes[i + 2] & 0x80) != 0)
                    {
                        first = first < 0 ? i / 4 : first;
                        count++;
                    }
                }

                break;
            case "F16": // exponent 0x7C00
                for (int i = 0; i + 1 < length; i += 2)
                {
                    if ((bytes[i + 1] & 0x7C) == 0x7C)
                    {
                        first = first < 0 ? i / 2 : first;
                        count++;
                    }
                }

                break;
            case "BF16": // exponent 0x7F80
                for (int i = 0; i + 1 < length; i += 2)
                {
                    if ((bytes[i + 1] & 0x7F) == 0x7F && (bytes[i] & 0x80) != 0)
                    {
                        first = first < 0 ? i / 2 : first;
                        count++;
                    }
                }

                break;
        }

        return count;
    }
}
