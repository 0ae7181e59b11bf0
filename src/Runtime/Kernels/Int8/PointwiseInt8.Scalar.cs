using System.Runtime.CompilerServices;

namespace MobileOne.Runtime;

/// <summary>
/// The scalar path of <see cref="PointwiseConvInt8"/> (<see cref="Int8Isa.Scalar"/>): plain loops over the packed
/// weights with int32 accumulation, one pixel x 16 output channels at a time (each step's 4 input bytes are read once
/// for the 16 channels), then the epilogue of docs/quantization.md.
/// </summary>
internal static unsafe class PointwiseInt8Scalar
{
    /// <summary>The GEMM on <paramref name="pixels"/> rows and <paramref name="blocks"/> blocks of 16 output channels.</summary>
    /// <typeparam name="TOut">Requantized bytes or dequantized floats.</typeparam>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void Compute<TOut>(
        byte* input, int pixels, int cin, int cinP, sbyte* weights, int* bias, float* scale, byte* output, int outStride, int blocks)
        where TOut : struct, IInt8Output
    {
        int steps = (cin + 3) / 4;
        nint panel = (nint)cinP * 16;
        int* acc = stackalloc int[16];
        for (int p = 0; p < pixels; p++)
        {
            byte* a = input + ((nint)p * cinP);
            byte* o = output + ((nint)p * outStride * TOut.ElementSize);
            for (int b = 0; b < blocks; b++)
            {
                for (int c = 0; c < 16; c++)
                {
                    acc[c] = bias[(b * 16) + c];
                }

                sbyte* w = weights + (b * panel);
                for (int s = 0; s < steps; s++)
                {
                    int x0 = a[4 * s], x1 = a[(4 * s) + 1], x2 = a[(4 * s) + 2], x3 = a[(4 * s) + 3];
                    for (int c = 0; c < 16; c++)
                    {
                        sbyte* k = w + (c * 4);
                        acc[c] += (x0 * k[0]) + (x1 * k[1]) + (x2 * k[2]) + (x3 * k[3]);
                    }

                    w += 64;
                }

                for (int c = 0; c < 16; c++)
                {
                    int ch = (b * 16) + c;
                    if (TOut.Floats)
                    {
                        ((float*)o)[ch] = acc[c] * scale[ch];
                    }
                    else
                    {
                        o[ch] = Int8Epilogue.Requantize(acc[c], scale[ch]);
                    }
                }
            }
        }
    }
}
