// Kernels/Int8: the INT8 kernels of a quantized MobileOne (docs/quantization.md is their contract). Each entry point file
// (PointwiseConvInt8.cs, DepthwiseConv3x3Int8.cs, RequantizeAccumulators.cs, QuantizeInput.cs, QuantizeActivations.cs,
// GlobalAvgPoolInt8.cs, FeatureMapInt8ToChw.cs) holds the public Run overloads, the argument checks and the thread split;
// Int8Packing.cs packs the weights. The micro-kernels are beside them, named as in the FP32 folders: <Tile>.<Isa>.cs
// holds the class <Tile><Isa>, <Tile> = <pixels>x<output channels> of the register tile.
//   <Isa> is AvxVnni, Avx512BW or Avx2 (intrinsics written out; the pointwise GEMM's instruction set, Int8Isa), Scalar,
//         or Block16 (written once over IInt8Block16<T>, one JIT instantiation per SimdLevel).
// The instruction set is chosen once per Simd.Level (Int8KernelTable), not per call.
//
//   PointwiseInt8Sweep.cs        the GEMM driver for any tile (IInt8GemmTile): L2-sized pixel chunks, weight panels over
//                                pixel tiles
//   Gemm6x32.AvxVnni.cs          up to 6 pixels x 32 output channels, vpdpbusd (exact int32)
//   Gemm8x32.Avx512BW.cs         up to 8 pixels x 32 output channels, vpmaddubsw + vpmaddwd (needs the pair rule)
//   Gemm4x16.Avx2.cs             up to 4 pixels x 16 output channels, the same pair at 256 bits (needs the pair rule)
//   PointwiseInt8.Scalar.cs      plain loops
//   Int8Epilogue.cs              int32 accumulators -> u8 (requantize) or float (dequantize), 256 and 512 bits
//   Int8Markers.cs               compile-time counts and output kinds (IBlockCount, IInt8Output)
//   DepthwiseInt8.Block16.cs, Depthwise4x16Int8.Block16.cs, DepthwiseBorderInt8.Block16.cs
//                                the depthwise driver, interior tile and border pixels (float FMAs on exact integers;
//                                Vector128/Scalar, CPUs without AVX-VNNI, weights outside int8)
//   DepthwiseVnniInt8.cs         the depthwise on AVX-VNNI: four input rows interleaved once per band (zero columns on
//                                both sides, no border path), int32 dot products, the pointwise epilogue
//   Quantize.Block16.cs          requantize float sums, quantize float activations, quantize the input
//   SumBytes4x16.Block16.cs      per-channel pixel sums (global average pool)
//   IInt8Block16.cs, Int8Block16{Vector512,Vector256,Vector128,Scalar}.cs, Int8Vector128.cs, Int8Block16Epilogue.cs
//                                the level's 16-channel block and its epilogue
//   Int8KernelTable.cs           the kernels of each SimdLevel and the pointwise instruction set
//   KernelArguments.cs             span length checks for bytes, ints and floats
using System;

namespace MobileOne.Runtime;

/// <summary>
/// INT8 pointwise (1x1) convolution on u8 NHWC-16 activations: the GEMM <c>[pixels x CinP] * [CinP x CoutP]</c> over
/// packed s8 weights <c>[CoutP/16][CinP/4][16][4]</c> (<see cref="Int8Packing.PackPointwise"/>), exact int32 sums plus
/// the int32 bias, then the epilogue of docs/quantization.md: requantized to u8 (<see cref="Run(byte*, int, int, int, sbyte*, int*, float*, byte*, int)"/>,
/// the clamp to [0, 255] is the ReLU) or dequantized to float (<see cref="RunDequantized(byte*, int, int, int, sbyte*, int*, float*, float*, int)"/>,
/// for a layer followed by squeeze-excite). Register-blocked micro-kernels per instruction set (<see cref="Isa"/>):
/// AVX-VNNI <see cref="Gemm6x32AvxVnni"/>, AVX-512BW <see cref="Gemm8x32Avx512BW"/>, AVX2 <see cref="Gemm4x16Avx2"/>,
/// and scalar loops; all write the same bytes.
/// </summary>
/// <remarks>
/// The AVX-512BW and AVX2 paths add u8 x s8 products in pairs into a saturating int16 (<c>vpmaddubsw</c>); they are exact
/// only for weights that satisfy the pair rule, which the loader checks with <see cref="Int8Packing.FindPairOverflow"/>.
/// </remarks>
public static unsafe class PointwiseConvInt8
{
    /// <summary>
    /// How many times the activations' size the weights must be before a layer is split by output channels rather than
    /// by pixels (both are bytes here, so the FP32 ratio <see cref="PointwiseConv.WeightsToActivationsForChannelSplit"/> carries over).
    /// </summary>
    internal const int WeightsToActivationsForChannelSplit = PointwiseConv.WeightsToActivationsForChannelSplit;

    /// <summary>Pixels per part of a pixel split: a multiple of every tile's rows (6, 8, 4).</summary>
    internal const int SplitPixels = 24;

    /// <summary>Gets the instruction set the pointwise GEMM uses at the current <see cref="Simd.Level"/> on this CPU.</summary>
    public static Int8Isa Isa => Int8KernelTable.Current.PointwiseIsa;

    /// <summary>Runs the convolution with requantized u8 output on spans; every length is checked before any memory is touched.</summary>
    /// <param name="input">u8 NHWC-16 input, at least <c>pixels * inChannelsPadded</c> bytes.</param>
    /// <param name="pixels">Pixels (height x width).</param>
    /// <param name="inChannels">Input channels.</param>
    /// <param name="inChannelsPadded">Input channels rounded up to a multiple of 16.</param>
    /// <param name="weights">Packed weights, at least <c>outChannelsPadded * inChannelsPadded</c> bytes.</param>
    /// <param name="bias">Int32 bias, at least <c>outChannelsPadded</c> (padding 0).</param>
    /// <param name="multipliers">Requantization multipliers <c>m[o]</c>, at least <c>outChannelsPadded</c> (padding 0).</param>
    /// <param name="output">u8 NHWC-16 output, at least <c>pixels * outChannelsPadded</c> bytes.</param>
    /// <param name="outChannelsPadded">Output channels rounded up to a multiple of 16.</param>
    /// <exception cref="ArgumentException">A span is too short (the exception names it).</exception>
    public static void Run(
        ReadOnlySpan<byte> input, int pixels, int inChannels, int inChannelsPadded,
        ReadOnlySpan<sbyte> weights, ReadOnlySpan<int> bias, ReadOnlySpan<float> multipliers, Span<byte> output, int outChannelsPadded) =>
        Run(input, pixels, inChannels, inChannelsPadded, weights, bias, multipliers, output, outChannelsPadded, Isa);

    /// <summary>Runs the convolution with requantized u8 output.</summary>
    /// <param name="input">u8 NHWC-16 input, <c>pixels * inChannelsPadded</c> bytes (padding channels 0).</param>
    /// <param name="pixels">Pixels (height x width).</param>
    /// <param name="inChannels">Real input channels.</param>
    /// <param name="inChannelsPadded">Input row stride, a multiple of 16.</param>
    /// <param name="weights">Packed weight <c>[CoutP/16][CinP/4][16][4]</c> (<see cref="Int8Packing.PackPointwise"/>).</param>
    /// <param name="bias">Int32 bias <c>[CoutP]</c>.</param>
    /// <param name="multipliers">Requantization multipliers <c>[CoutP]</c>, <c>m[o] = (float)((double)s_in * s_w[o] / s_out)</c>.</param>
    /// <param name="output">u8 NHWC-16 output, <c>pixels * outChannelsPadded</c> bytes.</param>
    /// <param name="outChannelsPadded">Output channels rounded up to a multiple of 16.</param>
    public static void Run(
        byte* input, int pixels, int inChannels, int inChannelsPadded,
        sbyte* weights, int* bias, float* multipliers, byte* output, int outChannelsPadded) =>
        Compute(input, pixels, inChannels, inChannelsPadded, weights, bias, multipliers, output, outChannelsPadded, floats: false, Isa);

    /// <summary>Runs the convolution with dequantized float output on spans; every length is checked before any memory is touched.</summary>
    /// <param name="input">u8 NHWC-16 input, at least <c>pixels * inChannelsPadded</c> bytes.</param>
    /// <param name="pixels">Pixels (height x width).</param>
    /// <param name="inChannels">Input channels.</param>
    /// <param name="inChannelsPadded">Input channels rounded up to a multiple of 16.</param>
    /// <param name="weights">Packed weights, at least <c>outChannelsPadded * inChannelsPadded</c> bytes.</param>
    /// <param name="bias">Int32 bias, at least <c>outChannelsPadded</c> (padding 0).</param>
    /// <param name="scales">Dequantization multipliers <c>d[o]</c>, at least <c>outChannelsPadded</c> (padding 0).</param>
    /// <param name="output">Float NHWC-16 output, at least <c>pixels * outChannelsPadded</c> floats.</param>
    /// <param name="outChannelsPadded">Output channels rounded up to a multiple of 16.</param>
    /// <exception cref="ArgumentException">A span is too short (the exception names it).</exception>
    public static void RunDequantized(
        ReadOnlySpan<byte> input, int pixels, int inChannels, int inChannelsPadded,
        ReadOnlySpan<sbyte> weights, ReadOnlySpan<int> bias, ReadOnlySpan<float> scales, Span<float> output, int outChannelsPadded) =>
        RunDequantized(input, pixels, inChannels, inChannelsPadded, weights, bias, scales, output, outChannelsPadded, Isa);

    /// <summary>Runs the convolution with dequantized float output: <c>f = (float)acc * d[o]</c>, no clamp.</summary>
    /// <param name="input">u8 NHWC-16 input, <c>pixels * inChannelsPadded</c> bytes (padding channels 0).</param>
    /// <param name="pixels">Pixels (height x width).</param>
    /// <param name="inChannels">Real input channels.</param>
    /// <param name="inChannelsPadded">Input row stride, a multiple of 16.</param>
    /// <param name="weights">Packed weight <c>[CoutP/16][CinP/4][16][4]</c> (<see cref="Int8Packing.PackPointwise"/>).</param>
    /// <param name="bias">Int32 bias <c>[CoutP]</c>.</param>
    /// <param name="scales">Dequantization multipliers <c>[CoutP]</c>, <c>d[o] = (float)((double)s_in * s_w[o])</c>.</param>
    /// <param name="output">Float NHWC-16 output, <c>pixels * outChannelsPadded</c> floats.</param>
    /// <param name="outChannelsPadded">Output channels rounded up to a multiple of 16.</param>
    public static void RunDequantized(
        byte* input, int pixels, int inChannels, int inChannelsPadded,
        sbyte* weights, int* bias, float* scales, float* output, int outChannelsPadded) =>
        Compute(input, pixels, inChannels, inChannelsPadded, weights, bias, scales, (byte*)output, outChannelsPadded, floats: true, Isa);

    /// <summary>The span entry point on an explicit instruction set (tests run every one this CPU has).</summary>
    internal static void Run(
        ReadOnlySpan<byte> input, int pixels, int inChannels, int inChannelsPadded,
        ReadOnlySpan<sbyte> weights, ReadOnlySpan<int> bias, ReadOnlySpan<float> multipliers, Span<byte> output, int outChannelsPadded, Int8Isa isa)
    {
        CheckLengths(input, pixels, inChannelsPadded, weights, bias, multipliers, nameof(multipliers), outChannelsPadded);
        KernelArguments.Length<byte>(output, (long)pixels * outChannelsPadded, nameof(output));
        fixed (byte* i = input)
        fixed (sbyte* w = weights)
        fixed (int* b = bias)
        fixed (float* m = multipliers)
        fixed (byte* o = output)
        {
            Compute(i, pixels, inChannels, inChannelsPadded, w, b, m, o, outChannelsPadded, floats: false, isa);
        }
    }

    /// <summary>The dequantizing span entry point on an explicit instruction set.</summary>
    internal static void RunDequantized(
        ReadOnlySpan<byte> input, int pixels, int inChannels, int inChannelsPadded,
        ReadOnlySpan<sbyte> weights, ReadOnlySpan<int> bias, ReadOnlySpan<float> scales, Span<float> output, int outChannelsPadded, Int8Isa isa)
    {
        CheckLengths(input, pixels, inChannelsPadded, weights, bias, scales, nameof(scales), outChannelsPadded);
        KernelArguments.Length<float>(output, (long)pixels * outChannelsPadded, nameof(output));
        fixed (byte* i = input)
        fixed (sbyte* w = weights)
        fixed (int* b = bias)
        fixed (float* d = scales)
        fixed (float* o = output)
        {
            Compute(i, pixels, inChannels, inChannelsPadded, w, b, d, (byte*)o, outChannelsPadded, floats: true, isa);
        }
    }

    /// <summary>The pointer entry point on an explicit instruction set.</summary>
    internal static void Compute(
        byte* input, int pixels, int inChannels, int inChannelsPadded,
        sbyte* weights, int* bias, float* scale, byte* output, int outChannelsPadded, bool floats, Int8Isa isa)
    {
        KernelArguments.Positive(pixels, nameof(pixels));
        KernelArguments.Positive(inChannels, nameof(inChannels));
        KernelArguments.Padded(inChannelsPadded, inChannels, nameof(inChannelsPadded));
        KernelArguments.Padded(outChannelsPadded, 1, nameof(outChannelsPadded));
        if (!Int8KernelTable.IsSupported(isa))
        {
            throw new ArgumentOutOfRangeException(nameof(isa), isa, $"{isa} is not supported by this CPU (or is disabled in this process).");
        }

        long start = KernelProfiler.Start();
        var ctx = new Context
        {
            Input = input, Pixels = pixels, Cin = inChannels, CinP = inChannelsPadded,
            Weights = weights, Bias = bias, Scale = scale, Output = output, CoutP = outChannelsPadded,
            ElementSize = floats ? sizeof(float) : 1,
            Gemm = isa == Int8KernelTable.Current.PointwiseIsa
                ? (floats ? Int8KernelTable.Current.PointwiseToFloats : Int8KernelTable.Current.PointwiseToBytes)
                : Int8KernelTable.Pointwise(isa, floats),
        };

        // As PointwiseConv: split the pixels across threads, or the output channels when the weights outweigh the
        // activations, so that each thread streams only its share of the weights.
        int blocks = outChannelsPadded / 16;
        ctx.SplitChannels = (long)inChannelsPadded * outChannelsPadded > (long)pixels * inChannelsPadded * WeightsToActivationsForChannelSplit;
        int maxParts = ctx.SplitChannels ? (blocks + 1) / 2 : (pixels + SplitPixels - 1) / SplitPixels;
        long macs = (long)pixels * inChannels * outChannelsPadded;
        if (macs < 400_000)
        {
            maxParts = 1; // not worth waking a worker (the INT8 GEMM is about twice as fast as the FP32 one)
        }

        Parallelism.For(&Part, &ctx, maxParts);
        KernelProfiler.Stop(start, start == 0 ? string.Empty : FormattableString.Invariant($"int8 pointwise {pixels,5}px {inChannels,4}->{outChannelsPadded,-4}"), macs);
    }

    /// <summary>Throws unless the input, weights, bias and multiplier spans are long enough.</summary>
    private static void CheckLengths(
        ReadOnlySpan<byte> input, int pixels, int inChannelsPadded, ReadOnlySpan<sbyte> weights, ReadOnlySpan<int> bias,
        ReadOnlySpan<float> scale, string scaleName, int outChannelsPadded)
    {
        KernelArguments.Length(input, (long)pixels * inChannelsPadded, nameof(input));
        KernelArguments.Length(weights, (long)outChannelsPadded * inChannelsPadded, nameof(weights));
        KernelArguments.Length(bias, outChannelsPadded, nameof(bias));
        KernelArguments.Length(scale, outChannelsPadded, scaleName);
    }

    private static void Part(void* context, int part, int parts)
    {
        var c = (Context*)context;
        int blocks = c->CoutP / 16;
        if (c->SplitChannels)
        {
            Parallelism.Range(blocks, 2, part, parts, out int b0, out int b1);
            if (b1 > b0)
            {
                nint panel = (nint)c->CinP * 16;
                c->Gemm(c->Input, c->Pixels, c->Cin, c->CinP, c->Weights + (b0 * panel), c->Bias + (b0 * 16), c->Scale + (b0 * 16), c->Output + (b0 * 16 * c->ElementSize), c->CoutP, b1 - b0);
            }
        }
        else
        {
            Parallelism.Range(c->Pixels, SplitPixels, part, parts, out int p0, out int p1);
            if (p1 > p0)
            {
                c->Gemm(c->Input + ((nint)p0 * c->CinP), p1 - p0, c->Cin, c->CinP, c->Weights, c->Bias, c->Scale, c->Output + ((nint)p0 * c->CoutP * c->ElementSize), c->CoutP, blocks);
            }
        }
    }

    private struct Context
    {
        public byte* Input;
        public sbyte* Weights;
        public int* Bias;
        public float* Scale;
        public byte* Output;
        public int Pixels;
        public int Cin;
        public int CinP;
        public int CoutP;
        public int ElementSize;
        public bool SplitChannels;
        public PointwiseInt8Kernel Gemm;
    }
}
