// Kernels/Int8: an entry point (argument checks, thread split over output rows); the folder's files are listed at the top
// of PointwiseConvInt8.cs.
using System;

namespace MobileOne.Runtime;

/// <summary>
/// INT8 depthwise 3x3 convolution, pad 1 (zeros), on u8 NHWC-16 activations, vectorised across channels. Computed in
/// float on exact integers (docs/quantization.md): u8 inputs times integer-valued float weights, nine products of at
/// most 255 x 127 summed below 2^24, so every order gives the same integer; then <c>acc = (int)sum + bias[o]</c> and the
/// epilogue: requantized to u8 (<see cref="Run(byte*, int, int, int, float*, int*, float*, byte*, int, int, int)"/>) or
/// dequantized to float (<see cref="RunDequantized(byte*, int, int, int, float*, int*, float*, float*, int, int, int)"/>,
/// for a layer followed by squeeze-excite). Every <see cref="SimdLevel"/> writes the same bytes. At
/// <see cref="SimdLevel.Vector512"/> and <see cref="SimdLevel.Vector256"/> on CPUs with AVX-VNNI the same integer sums are
/// computed in int32 instead (<see cref="DepthwiseVnniInt8"/>, <c>vpdpbusd</c> on the weights as int8), which gives the
/// same accumulators and so the same bytes; weights that are not integers in [-128, 127] keep the float path.
/// </summary>
public static unsafe class DepthwiseConv3x3Int8
{
    /// <summary>
    /// The largest |bias| the sums may start from: 2^24 - 9 x 255 x 127. Bias plus any partial sum of nine products then
    /// stays an integer below 2^24, exact in float, so starting the float sum at <c>(float)bias</c> gives exactly
    /// <c>(float)((int)sum + bias)</c> and saves the int32 round trip per output; a layer with a larger bias takes it.
    /// </summary>
    internal const int MaxBiasInSum = (1 << 24) - (9 * 255 * 127);

    /// <summary>Runs the convolution with requantized u8 output on spans; every length is checked before any memory is touched.</summary>
    /// <param name="input">u8 NHWC-16 input, at least <c>inHeight * inWidth * channelsPadded</c> bytes.</param>
    /// <param name="inHeight">Input height.</param>
    /// <param name="inWidth">Input width.</param>
    /// <param name="channelsPadded">Channels rounded up to a multiple of 16.</param>
    /// <param name="weights">Packed weights (<see cref="Int8Packing.PackDepthwise"/>), at least <c>9 * channelsPadded</c> floats.</param>
    /// <param name="bias">Int32 bias, at least <c>channelsPadded</c>.</param>
    /// <param name="multipliers">Requantization multipliers <c>m[o]</c>, at least <c>channelsPadded</c>.</param>
    /// <param name="output">u8 NHWC-16 output, at least <c>outHeight * outWidth * channelsPadded</c> bytes.</param>
    /// <param name="outHeight">Output height.</param>
    /// <param name="outWidth">Output width.</param>
    /// <param name="stride">Stride.</param>
    /// <exception cref="ArgumentException">A span is too short (the exception names it).</exception>
    public static void Run(
        ReadOnlySpan<byte> input, int inHeight, int inWidth, int channelsPadded,
        ReadOnlySpan<float> weights, ReadOnlySpan<int> bias, ReadOnlySpan<float> multipliers, Span<byte> output,
        int outHeight, int outWidth, int stride)
    {
        CheckLengths(input, inHeight, inWidth, channelsPadded, weights, bias, multipliers, nameof(multipliers));
        KernelArguments.Length<byte>(output, (long)outHeight * outWidth * channelsPadded, nameof(output));
        fixed (byte* i = input)
        fixed (float* w = weights)
        fixed (int* b = bias)
        fixed (float* m = multipliers)
        fixed (byte* o = output)
        {
            Compute(i, inHeight, inWidth, channelsPadded, w, b, m, o, outHeight, outWidth, stride, floats: false);
        }
    }

    /// <summary>Runs the convolution with requantized u8 output.</summary>
    /// <param name="input">u8 NHWC-16 input, <c>inHeight * inWidth * channelsPadded</c> bytes.</param>
    /// <param name="inHeight">Input height.</param>
    /// <param name="inWidth">Input width.</param>
    /// <param name="channelsPadded">Channels rounded up to a multiple of 16 (same for input and output).</param>
    /// <param name="weights">Packed weight <c>[9][CP]</c> of integer-valued floats (<see cref="Int8Packing.PackDepthwise"/>).</param>
    /// <param name="bias">Int32 bias <c>[CP]</c>.</param>
    /// <param name="multipliers">Requantization multipliers <c>[CP]</c>.</param>
    /// <param name="output">u8 NHWC-16 output, <c>outHeight * outWidth * channelsPadded</c> bytes.</param>
    /// <param name="outHeight">Output height, <c>(inHeight - 1) / stride + 1</c>.</param>
    /// <param name="outWidth">Output width, <c>(inWidth - 1) / stride + 1</c>.</param>
    /// <param name="stride">Stride (1 or 2 in MobileOne; any positive value works).</param>
    public static void Run(
        byte* input, int inHeight, int inWidth, int channelsPadded,
        float* weights, int* bias, float* multipliers, byte* output,
        int outHeight, int outWidth, int stride) =>
        Compute(input, inHeight, inWidth, channelsPadded, weights, bias, multipliers, output, outHeight, outWidth, stride, floats: false);

    /// <summary>Runs the convolution with dequantized float output on spans; every length is checked before any memory is touched.</summary>
    /// <param name="input">u8 NHWC-16 input, at least <c>inHeight * inWidth * channelsPadded</c> bytes.</param>
    /// <param name="inHeight">Input height.</param>
    /// <param name="inWidth">Input width.</param>
    /// <param name="channelsPadded">Channels rounded up to a multiple of 16.</param>
    /// <param name="weights">Packed weights (<see cref="Int8Packing.PackDepthwise"/>), at least <c>9 * channelsPadded</c> floats.</param>
    /// <param name="bias">Int32 bias, at least <c>channelsPadded</c>.</param>
    /// <param name="scales">Dequantization multipliers <c>d[o]</c>, at least <c>channelsPadded</c>.</param>
    /// <param name="output">Float NHWC-16 output, at least <c>outHeight * outWidth * channelsPadded</c> floats.</param>
    /// <param name="outHeight">Output height.</param>
    /// <param name="outWidth">Output width.</param>
    /// <param name="stride">Stride.</param>
    /// <exception cref="ArgumentException">A span is too short (the exception names it).</exception>
    public static void RunDequantized(
        ReadOnlySpan<byte> input, int inHeight, int inWidth, int channelsPadded,
        ReadOnlySpan<float> weights, ReadOnlySpan<int> bias, ReadOnlySpan<float> scales, Span<float> output,
        int outHeight, int outWidth, int stride)
    {
        CheckLengths(input, inHeight, inWidth, channelsPadded, weights, bias, scales, nameof(scales));
        KernelArguments.Length<float>(output, (long)outHeight * outWidth * channelsPadded, nameof(output));
        fixed (byte* i = input)
        fixed (float* w = weights)
        fixed (int* b = bias)
        fixed (float* d = scales)
        fixed (float* o = output)
        {
            Compute(i, inHeight, inWidth, channelsPadded, w, b, d, (byte*)o, outHeight, outWidth, stride, floats: true);
        }
    }

    /// <summary>Runs the convolution with dequantized float output: <c>f = (float)acc * d[o]</c>, no clamp.</summary>
    /// <param name="input">u8 NHWC-16 input, <c>inHeight * inWidth * channelsPadded</c> bytes.</param>
    /// <param name="inHeight">Input height.</param>
    /// <param name="inWidth">Input width.</param>
    /// <param name="channelsPadded">Channels rounded up to a multiple of 16 (same for input and output).</param>
    /// <param name="weights">Packed weight <c>[9][CP]</c> of integer-valued floats (<see cref="Int8Packing.PackDepthwise"/>).</param>
    /// <param name="bias">Int32 bias <c>[CP]</c>.</param>
    /// <param name="scales">Dequantization multipliers <c>[CP]</c>.</param>
    /// <param name="output">Float NHWC-16 output, <c>outHeight * outWidth * channelsPadded</c> floats.</param>
    /// <param name="outHeight">Output height, <c>(inHeight - 1) / stride + 1</c>.</param>
    /// <param name="outWidth">Output width, <c>(inWidth - 1) / stride + 1</c>.</param>
    /// <param name="stride">Stride.</param>
    public static void RunDequantized(
        byte* input, int inHeight, int inWidth, int channelsPadded,
        float* weights, int* bias, float* scales, float* output,
        int outHeight, int outWidth, int stride) =>
        Compute(input, inHeight, inWidth, channelsPadded, weights, bias, scales, (byte*)output, outHeight, outWidth, stride, floats: true);

    private static void Compute(
        byte* input, int inHeight, int inWidth, int channelsPadded, float* weights, int* bias, float* scale, byte* output,
        int outHeight, int outWidth, int stride, bool floats)
    {
        KernelArguments.Positive(inHeight, nameof(inHeight));
        KernelArguments.Positive(inWidth, nameof(inWidth));
        KernelArguments.Positive(stride, nameof(stride));
        KernelArguments.Padded(channelsPadded, 1, nameof(channelsPadded));
        KernelArguments.ConvOutput(inHeight, outHeight, stride, nameof(outHeight));
        KernelArguments.ConvOutput(inWidth, outWidth, stride, nameof(outWidth));

        long start = KernelProfiler.Start();
        Int8KernelTable table = Int8KernelTable.Current;
        var ctx = new Context
        {
            Input = input, InHeight = inHeight, InWidth = inWidth, ChannelsPadded = channelsPadded, Weights = weights,
            Bias = bias, Scale = scale, Output = output, OutHeight = outHeight, OutWidth = outWidth, Stride = stride,
            Rows = floats ? table.DepthwiseRowsToFloats : table.DepthwiseRowsToBytes,
            BiasInSum = BiasFitsTheSum(bias, channelsPadded),
        };
        long macs = (long)outHeight * outWidth * channelsPadded * 9;
        sbyte* packed = null;
        if (DepthwiseVnniInt8.Supported(table.Level))
        {
            packed = DepthwiseVnniInt8.WeightScratch(channelsPadded);
            if (!DepthwiseVnniInt8.PackWeights(weights, channelsPadded, packed))
            {
                packed = null;
            }
        }

        ctx.Packed = packed;
        ctx.Floats = floats;

        // The AVX-VNNI path computes pairs of output rows at strides 1 and 2: the parts split the rows in pairs.
        ctx.Grain = packed != null && stride <= 2 ? 2 : 1;
        Parallelism.For(&Part, &ctx, macs < 300_000 ? 1 : (outHeight + ctx.Grain - 1) / ctx.Grain);
        KernelProfiler.Stop(start, stride == 1 ? "int8 depthwise s1" : "int8 depthwise s2", macs);
    }

    /// <summary>Whether every |bias| is at most <see cref="MaxBiasInSum"/>.</summary>
    private static bool BiasFitsTheSum(int* bias, int channelsPadded)
    {
        for (int c = 0; c < channelsPadded; c++)
        {
            if (bias[c] > MaxBiasInSum || bias[c] < -MaxBiasInSum)
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>Throws unless the input, weights, bias and multiplier spans are long enough.</summary>
    private static void CheckLengths(
        ReadOnlySpan<byte> input, int inHeight, int inWidth, int channelsPadded, ReadOnlySpan<float> weights,
        ReadOnlySpan<int> bias, ReadOnlySpan<float> scale, string scaleName)
    {
        KernelArguments.Length(input, (long)inHeight * inWidth * channelsPadded, nameof(input));
        KernelArguments.Length(weights, 9L * channelsPadded, nameof(weights));
        KernelArguments.Length(bias, channelsPadded, nameof(bias));
        KernelArguments.Length(scale, channelsPadded, scaleName);
    }

    private static void Part(void* context, int part, int parts)
    {
        var c = (Context*)context;
        Parallelism.Range(c->OutHeight, c->Grain, part, parts, out int oy0, out int oy1);
        if (c->Packed != null)
        {
            if (c->Floats)
            {
                DepthwiseVnniInt8.Rows<DequantizedFloats>(c->Input, c->InHeight, c->InWidth, c->ChannelsPadded, c->Packed, c->Bias, c->Scale, c->Output, c->OutWidth, c->Stride, oy0, oy1);
            }
            else
            {
                DepthwiseVnniInt8.Rows<RequantizedBytes>(c->Input, c->InHeight, c->InWidth, c->ChannelsPadded, c->Packed, c->Bias, c->Scale, c->Output, c->OutWidth, c->Stride, oy0, oy1);
            }

            return;
        }

        c->Rows(c->Input, c->InHeight, c->InWidth, c->ChannelsPadded, c->Weights, c->Bias, c->Scale, c->Output, c->OutHeight, c->OutWidth, c->Stride, c->BiasInSum, oy0, oy1);
    }

    private struct Context
    {
        public byte* Input;
        public int InHeight;
        public int InWidth;
        public int ChannelsPadded;
        public float* Weights;
        public int* Bias;
        public float* Scale;
        public byte* Output;
        public int OutHeight;
        public int OutWidth;
        public int Stride;
        public bool BiasInSum;
        public DepthwiseInt8RowsKernel Rows;
        public sbyte* Packed;
        public bool Floats;
        public int Grain;
    }
}
