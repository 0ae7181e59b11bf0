// The signature of each table entry, named once here and used by the table and the operators' contexts.

// Stem output rows [oyBegin, oyEnd): input, inChannels, inHeight, inWidth, weights, bias, output, outChannelsPadded, outHeight, outWidth, stride, relu, oyBegin, oyEnd.
global using unsafe StemRowsKernel = delegate*<float*, int, int, int, float*, float*, float*, int, int, int, int, bool, int, int, void>;

// Depthwise output rows [oyBegin, oyEnd): input, inHeight, inWidth, channelsPadded, weights, bias, output, outHeight, outWidth, stride, relu, oyBegin, oyEnd.
global using unsafe DepthwiseRowsKernel = delegate*<float*, int, int, int, float*, float*, float*, int, int, int, bool, int, int, void>;

// Pointwise GEMM on a pixel range and a block range: input, pixels, cin, cinP, weights, bias, output, outStride, blocks, relu.
global using unsafe PointwiseGemmKernel = delegate*<float*, int, int, int, float*, float*, float*, int, int, bool, void>;

// Linear head on a block range: input, inFeatures, weights, bias, outFeaturesPadded (of the range), output.
global using unsafe LinearGemvKernel = delegate*<float*, int, float*, float*, int, float*, void>;

// Per-channel mean over pixels: input, pixels, channelsPadded, output.
global using unsafe MeanKernel = delegate*<float*, int, int, float*, void>;

// Squeeze-excite in place: x, pixels, channels, channelsPadded, reducedChannels, reduceWeights, reduceBias, expandWeights, expandBias, scratch, relu.
global using unsafe SqueezeExciteKernel = delegate*<float*, int, int, int, int, float*, float*, float*, float*, float*, bool, void>;

namespace MobileOne.Runtime;

/// <summary>
/// The micro-kernels of one <see cref="SimdLevel"/>: the instruction set is chosen here, once, not in every kernel call.
/// One immutable table per level is built on first use; <see cref="Simd.Kernels"/> holds the current level's table and is
/// swapped together with <see cref="Simd.Level"/> (it is where the level is stored), so a kernel call reads one static
/// reference and one function pointer, allocation-free. The threaded kernels copy the pointer into the context their
/// <c>Part</c> callbacks read.
/// </summary>
/// <remarks>
/// Vector512 uses the hand-written AVX-512 pointwise GEMM (<see cref="PointwiseAvx512"/>); every other entry, and every
/// entry of the lower levels, is the <c>Block16</c> micro-kernel instantiated on that level's <see cref="IBlock16{T}"/>.
/// </remarks>
internal sealed unsafe class KernelTable
{
    /// <summary>The tables, indexed by <see cref="SimdLevel"/>.</summary>
    private static readonly KernelTable[] s_byLevel =
    [
        Create(SimdLevel.Scalar),
        Create(SimdLevel.Vector128),
        Create(SimdLevel.Vector256),
        Create(SimdLevel.Vector512),
    ];

    private KernelTable()
    {
    }

    /// <summary>Gets the level these kernels are compiled for.</summary>
    public SimdLevel Level { get; private init; }

    /// <summary>Gets the stem (<see cref="StemConv3x3"/>) over a range of output rows.</summary>
    public StemRowsKernel StemRows { get; private init; }

    /// <summary>Gets the depthwise convolution (<see cref="DepthwiseConv3x3"/>) over a range of output rows.</summary>
    public DepthwiseRowsKernel DepthwiseRows { get; private init; }

    /// <summary>Gets the pointwise GEMM (<see cref="PointwiseConv"/>) over a range of pixels and 16-channel blocks.</summary>
    public PointwiseGemmKernel PointwiseGemm { get; private init; }

    /// <summary>Gets the classifier head (<see cref="Linear"/>) over a range of 16-output blocks.</summary>
    public LinearGemvKernel LinearGemv { get; private init; }

    /// <summary>Gets the per-channel mean (<see cref="GlobalAvgPool"/>).</summary>
    public MeanKernel Mean { get; private init; }

    /// <summary>Gets squeeze-and-excite (<see cref="SqueezeExcite"/>).</summary>
    public SqueezeExciteKernel SqueezeExcite { get; private init; }

    /// <summary>Returns the table of <paramref name="level"/> (a defined level; not checked against the hardware).</summary>
    public static KernelTable For(SimdLevel level) => s_byLevel[(int)level];

    /// <summary>The one place that maps a level to its micro-kernels.</summary>
    private static KernelTable Create(SimdLevel level) => level switch
    {
        SimdLevel.Vector512 => new()
        {
            Level = level,
            StemRows = &StemBlock16.Rows<Block16Vector512>,
            DepthwiseRows = &DepthwiseBlock16.Rows<Block16Vector512>,
            PointwiseGemm = &PointwiseAvx512.Compute,
            LinearGemv = &Gemv1x64Block16.Run<Block16Vector512>,
            Mean = &Mean4x16Block16.Run<Block16Vector512>,
            SqueezeExcite = &SqueezeExciteBlock16.Run<Block16Vector512>,
        },
        SimdLevel.Vector256 => new()
        {
            Level = level,
            StemRows = &StemBlock16.Rows<Block16Vector256>,
            DepthwiseRows = &DepthwiseBlock16.Rows<Block16Vector256>,
            PointwiseGemm = &PointwiseBlock16.Compute<Block16Vector256>,
            LinearGemv = &Gemv1x64Block16.Run<Block16Vector256>,
            Mean = &Mean4x16Block16.Run<Block16Vector256>,
            SqueezeExcite = &SqueezeExciteBlock16.Run<Block16Vector256>,
        },
        SimdLevel.Vector128 => new()
        {
            Level = level,
            StemRows = &StemBlock16.Rows<Block16Vector128>,
            DepthwiseRows = &DepthwiseBlock16.Rows<Block16Vector128>,
            PointwiseGemm = &PointwiseBlock16.Compute<Block16Vector128>,
            LinearGemv = &Gemv1x64Block16.Run<Block16Vector128>,
            Mean = &Mean4x16Block16.Run<Block16Vector128>,
            SqueezeExcite = &SqueezeExciteBlock16.Run<Block16Vector128>,
        },
        _ => new()
        {
            Level = SimdLevel.Scalar,
            StemRows = &StemBlock16.Rows<Block16Scalar>,
            DepthwiseRows = &DepthwiseBlock16.Rows<Block16Scalar>,
            PointwiseGemm = &PointwiseBlock16.Compute<Block16Scalar>,
            LinearGemv = &Gemv1x64Block16.Run<Block16Scalar>,
            Mean = &Mean4x16Block16.Run<Block16Scalar>,
            SqueezeExcite = &SqueezeExciteBlock16.Run<Block16Scalar>,
        },
    };
}
