using System.Runtime.CompilerServices;

namespace MobileOne.Runtime;

/// <summary>
/// The scalar path of <see cref="PointwiseConvInt8"/> (<see cref="Int8Isa.Scalar"/>): plain loops over the packed
/// weights with int32 accumulation, one output channel at a time, the epilogue of docs/quantization.md.
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
        for (int p = 0; p < pixels; p++)
        {
            byte* a = input + ((nint)p * cinP);
            byte* o = output + ((nint)p * outStride * TOut.ElementSize);
            for (int b = 0; b < blocks; b++)
            {
                sbyte* w = weights + (b * panel);
                for (int c = 0; c < 16; c++)
                {
                    int ch = (b * 16) + c;
                    int acc = bias[ch];
                    sbyte* wc = w + (c * 4);
                    for (int s = 0; s < steps; s++)
                    {
                        byte* x = a + (s * 4);
                        sbyte* k = wc + (s * 64);
                        acc += (x[0] * k[0]) + (x[1] * k[1]) + (x[2] * k[2]) + (x[3] * k[3]);
                    }

                    if (TOut.Floats)
                    {
                        ((float*)o)[ch] = acc * scale[ch];
                    }
                    else
                    {
                        o[ch] = Int8Epilogue.Requantize(acc, scale[ch]);
                    }
                }
            }
        }
    }
}
