// Kernels/Int8: an entry point (argument checks, thread split over pixels); the folder's files are listed at the top of
// PointwiseConvInt8.cs.
using System;

namespace MobileOne.Runtime;

/// <summary>
/// The INT8 stem's epilogue: the FP32 <see cref="StemConv3x3"/>, run on integer-valued inputs (<see cref="QuantizeInput"/>)
/// and weights with a zero bias and no ReLU, writes exact integer sums as floats (docs/quantization.md); this turns them
/// into u8 NHWC-16: <c>acc = (int)x + bias[o]</c>, then <c>(byte)round_even(min(max((float)acc * m[o], 0), 255))</c>.
/// </summary>
public static unsafe class RequantizeAccumulators
{
    /// <summary>Requantizes on spans; every length is checked before any memory is touched.</summary>
    /// <param name="input">Float NHWC-16 integer sums, at least <c>pixels * channelsPadded</c> floats.</param>
    /// <param name="pixels">Pixels (height x width).</param>
    /// <param name="channelsPadded">Channels rounded up to a multiple of 16.</param>
    /// <param name="bias">Int32 bias, at least <c>channelsPadded</c>.</param>
    /// <param name="multipliers">Requantization multipliers <c>m[o]</c>, at least <c>channelsPadded</c>.</param>
    /// <param name="output">u8 NHWC-16 output, at least <c>pixels * channelsPadded</c> bytes.</param>
    /// <exception cref="ArgumentException">A span is too short (the exception names it).</exception>
    public static void Run(
        ReadOnlySpan<float> input, int pixels, int channelsPadded, ReadOnlySpan<int> bias, ReadOnlySpan<float> multipliers, Span<byte> output)
    {
        KernelArguments.Length(input, (long)pixels * channelsPadded, nameof(input));
        KernelArguments.Length(bias, channelsPadded, nameof(bias));
        KernelArguments.Length(multipliers, channelsPadded, nameof(multipliers));
        KernelArguments.Length<byte>(output, (long)pixels * channelsPadded, nameof(output));
        fixed (float* i = input)
        fixed (int* b = bias)
        fixed (float* m = multipliers)
        fixed (byte* o = output)
        {
            Run(i, pixels, channelsPadded, b, m, o);
        }
    }

    /// <summary>Requantizes <paramref name="pixels"/> NHWC-16 pixels of integer sums to u8.</summary>
    /// <param name="input">Float NHWC-16 integer sums (each exact: below 2^24 in magnitude), <c>pixels * channelsPadded</c> floats.</param>
    /// <param name="pixels">Pixels (height x width).</param>
    /// <param name="channelsPadded">Channels rounded up to a multiple of 16.</param>
    /// <param name="bias">Int32 bias <c>[CP]</c>.</param>
    /// <param name="multipliers">Requantization multipliers <c>[CP]</c>.</param>
    /// <param name="output">u8 NHWC-16 output, <c>pixels * channelsPadded</c> bytes.</param>
    public static void Run(float* input, int pixels, int channelsPadded, int* bias, float* multipliers, byte* output)
    {
        KernelArguments.Positive(pixels, nameof(pixels));
        KernelArguments.Padded(channelsPadded, 1, nameof(channelsPadded));
        long start = KernelProfiler.Start();
        var ctx = new Context
        {
            Input = input, Pixels = pixels, ChannelsPadded = channelsPadded, Bias = bias, Multipliers = multipliers, Output = output,
            Kernel = Int8KernelTable.Current.RequantizeAccumulators,
        };
        long elements = (long)pixels * channelsPadded;
        Parallelism.For(&Part, &ctx, elements < 256 * 1024 ? 1 : (pixels + 63) / 64);
        KernelProfiler.Stop(start, "int8 requantize stem", elements);
    }

    private static void Part(void* context, int part, int parts)
    {
        var c = (Context*)context;
        Parallelism.Range(c->Pixels, 64, part, parts, out int p0, out int p1);
        if (p1 > p0)
        {
            nint offset = (nint)p0 * c->ChannelsPadded;
            c->Kernel(c->Input + offset, p1 - p0, c->ChannelsPadded, c->Bias, c->Multipliers, c->Output + offset);
        }
    }

    private struct Context
    {
        public float* Input;
        public int Pixels;
        public int ChannelsPadded;
        public int* Bias;
        public float* Multipliers;
        public byte* Output;
        public RequantizeAccumulatorsKernel Kernel;
    }
}
