// The signature of each INT8 table entry, named once here and used by the table and the operators' contexts.

// INT8 pointwise GEMM on a pixel range and a block range: input, pixels, cin, cinP, weights, bias, scale, output, outStride (elements), blocks.
global using unsafe PointwiseInt8Kernel = delegate*<byte*, int, int, int, sbyte*, int*, float*, byte*, int, int, void>;

// INT8 depthwise output rows [oyBegin, oyEnd): input, inHeight, inWidth, channelsPadded, weights, bias, scale, output, outHeight, outWidth, stride, biasInSum, oyBegin, oyEnd.
global using unsafe DepthwiseInt8RowsKernel = delegate*<byte*, int, int, int, float*, int*, float*, byte*, int, int, int, bool, int, int, void>;

// Integer sums in float NHWC-16 to u8: input, pixels, channelsPadded, bias, multipliers, output.
global using unsafe RequantizeAccumulatorsKernel = delegate*<float*, int, int, int*, float*, byte*, void>;

// Float activations to u8: input, count, inv, output.
global using unsafe QuantizeActivationsKernel = delegate*<float*, int, float, byte*, void>;

// Float input to integer-valued floats: input, count, inv, output.
global using unsafe QuantizeInputKernel = delegate*<float*, int, float, float*, void>;

// Per-channel pixel sums of u8 NHWC-16 times k: input, pixels, channelsPadded, k, output.
global using unsafe SumBytesKernel = delegate*<byte*, int, int, float, float*, void>;

using System.Diagnostics.CodeAnalysis;
using System.Runtime.Intrinsics.X86;

namespace MobileOne.Runtime;

/// <summary>
/// The INT8 micro-kernels of one <see cref="SimdLevel"/>, chosen once, not in every call (as <see cref="KernelTable"/>
/// does for FP32): the pointwise GEMM's instruction set (<see cref="Int8Isa"/>) and the <c>Int8 ... Block16</c> kernels
/// on the level's block. One immutable table per level is built on first use; <see cref="Current"/> is the table of
/// <see cref="Simd.Level"/>, so lowering the level (as the tests do) switches every INT8 kernel too.
/// </summary>
/// <remarks>
/// Pointwise instruction set per level, by measurement on an Intel Xeon (Sapphire/Emerald Rapids, AVX-512 + AVX-VNNI),
/// one thread, MobileOne-S1's pointwise shapes (3136 px 96->96, 784 px 192->192, 196 px 512->512, 49 px 512->1280):
/// AVX-VNNI (256-bit <c>vpdpbusd</c>, <see cref="Gemm6x32AvxVnni"/>) 331-430 GOP/s, 2.0-2.3x the FP32 GEMM;
/// AVX-512BW (<c>vpmaddubsw</c> + <c>vpmaddwd</c> at 512 bits, three instructions per 64 multiply-accumulates where VNNI
/// needs one per 32) 247-292 GOP/s; AVX2 164-200 GOP/s; scalar 5-6 GOP/s. So Vector512 and Vector256 take AVX-VNNI
/// when present, else AVX-512BW (Vector512 only) or AVX2; Vector128 and Scalar take the scalar loops.
/// </remarks>
[SuppressMessage("Usage", "CA2252:Opt in to preview features", Justification = "AvxVnni is marked preview only in the net8.0 reference assemblies; the instructions and the API are final (not preview from .NET 9 on).")]
internal sealed unsafe class Int8KernelTable
{
    /// <summary>The tables, indexed by <see cref="SimdLevel"/>.</summary>
    private static readonly Int8KernelTable[] s_byLevel =
    [
        Create(SimdLevel.Scalar),
        Create(SimdLevel.Vector128),
        Create(SimdLevel.Vector256),
        Create(SimdLevel.Vector512),
    ];

    private Int8KernelTable()
    {
    }

    /// <summary>Gets the table of the current <see cref="Simd.Level"/>.</summary>
    public static Int8KernelTable Current => s_byLevel[(int)Simd.Level];

    /// <summary>Gets the level these kernels are compiled for.</summary>
    public SimdLevel Level { get; private init; }

    /// <summary>Gets the instruction set of the pointwise GEMM at this level.</summary>
    public Int8Isa PointwiseIsa { get; private init; }

    /// <summary>Gets the pointwise GEMM writing requantized bytes.</summary>
    public PointwiseInt8Kernel PointwiseToBytes { get; private init; }

    /// <summary>Gets the pointwise GEMM writing dequantized floats.</summary>
    public PointwiseInt8Kernel PointwiseToFloats { get; private init; }

    /// <summary>Gets the depthwise convolution writing requantized bytes, over a range of output rows.</summary>
    public DepthwiseInt8RowsKernel DepthwiseRowsToBytes { get; private init; }

    /// <summary>Gets the depthwise convolution writing dequantized floats, over a range of output rows.</summary>
    public DepthwiseInt8RowsKernel DepthwiseRowsToFloats { get; private init; }

    /// <summary>Gets <see cref="RequantizeAccumulators"/>'s kernel.</summary>
    public RequantizeAccumulatorsKernel RequantizeAccumulators { get; private init; }

    /// <summary>Gets <see cref="QuantizeActivations"/>'s kernel.</summary>
    public QuantizeActivationsKernel QuantizeActivations { get; private init; }

    /// <summary>Gets <see cref="QuantizeInput"/>'s kernel.</summary>
    public QuantizeInputKernel QuantizeInput { get; private init; }

    /// <summary>Gets <see cref="GlobalAvgPoolInt8"/>'s kernel.</summary>
    public SumBytesKernel SumBytes { get; private init; }

    /// <summary>Returns the table of <paramref name="level"/> (a defined level; not checked against the hardware).</summary>
    public static Int8KernelTable For(SimdLevel level) => s_byLevel[(int)level];

    /// <summary>Whether this process can run <paramref name="isa"/>'s pointwise GEMM.</summary>
    public static bool IsSupported(Int8Isa isa) => isa switch
    {
        Int8Isa.Scalar => true,
        Int8Isa.Avx2 => Avx2.IsSupported,
        Int8Isa.Avx512BW => Avx512BW.IsSupported,
        Int8Isa.AvxVnni => AvxVnni.IsSupported,
        _ => false,
    };

    /// <summary>The pointwise GEMM of <paramref name="isa"/> (supported here), writing bytes or floats.</summary>
    public static PointwiseInt8Kernel Pointwise(Int8Isa isa, bool floats) => (isa, floats) switch
    {
        (Int8Isa.AvxVnni, false) => &PointwiseInt8Sweep.Compute<Gemm6x32AvxVnni, RequantizedBytes>,
        (Int8Isa.AvxVnni, true) => &PointwiseInt8Sweep.Compute<Gemm6x32AvxVnni, DequantizedFloats>,
        (Int8Isa.Avx512BW, false) => &PointwiseInt8Sweep.Compute<Gemm8x32Avx512BW, RequantizedBytes>,
        (Int8Isa.Avx512BW, true) => &PointwiseInt8Sweep.Compute<Gemm8x32Avx512BW, DequantizedFloats>,
        (Int8Isa.Avx2, false) => &PointwiseInt8Sweep.Compute<Gemm4x16Avx2, RequantizedBytes>,
        (Int8Isa.Avx2, true) => &PointwiseInt8Sweep.Compute<Gemm4x16Avx2, DequantizedFloats>,
        (_, false) => &PointwiseInt8Scalar.Compute<RequantizedBytes>,
        (_, true) => &PointwiseInt8Scalar.Compute<DequantizedFloats>,
    };

    /// <summary>The pointwise instruction set of <paramref name="level"/> on this CPU (see the remarks).</summary>
    internal static Int8Isa DefaultIsa(SimdLevel level) => level switch
    {
        SimdLevel.Vector512 when AvxVnni.IsSupported => Int8Isa.AvxVnni,
        SimdLevel.Vector512 when Avx512BW.IsSupported => Int8Isa.Avx512BW,
        SimdLevel.Vector512 or SimdLevel.Vector256 when AvxVnni.IsSupported => Int8Isa.AvxVnni,
        SimdLevel.Vector512 or SimdLevel.Vector256 when Avx2.IsSupported => Int8Isa.Avx2,
        _ => Int8Isa.Scalar,
    };

    /// <summary>The one place that maps a level to its INT8 micro-kernels.</summary>
    private static Int8KernelTable Create(SimdLevel level)
    {
        Int8Isa isa = DefaultIsa(level);
        return level switch
        {
            SimdLevel.Vector512 => new()
            {
                Level = level,
                PointwiseIsa = isa,
                PointwiseToBytes = Pointwise(isa, floats: false),
                PointwiseToFloats = Pointwise(isa, floats: true),
                DepthwiseRowsToBytes = &DepthwiseInt8Block16.Rows<Int8Block16Vector512, RequantizedBytes>,
                DepthwiseRowsToFloats = &DepthwiseInt8Block16.Rows<Int8Block16Vector512, DequantizedFloats>,
                RequantizeAccumulators = &QuantizeBlock16.Accumulators<Int8Block16Vector512>,
                QuantizeActivations = &QuantizeBlock16.Activations<Int8Block16Vector512>,
                QuantizeInput = &QuantizeBlock16.Input<Int8Block16Vector512>,
                SumBytes = &SumBytes4x16Block16.Run<Int8Block16Vector512>,
            },
            SimdLevel.Vector256 => new()
            {
                Level = level,
                PointwiseIsa = isa,
                PointwiseToBytes = Pointwise(isa, floats: false),
                PointwiseToFloats = Pointwise(isa, floats: true),
                DepthwiseRowsToBytes = &DepthwiseInt8Block16.Rows<Int8Block16Vector256, RequantizedBytes>,
                DepthwiseRowsToFloats = &DepthwiseInt8Block16.Rows<Int8Block16Vector256, DequantizedFloats>,
                RequantizeAccumulators = &QuantizeBlock16.Accumulators<Int8Block16Vector256>,
                QuantizeActivations = &QuantizeBlock16.Activations<Int8Block16Vector256>,
                QuantizeInput = &QuantizeBlock16.Input<Int8Block16Vector256>,
                SumBytes = &SumBytes4x16Block16.Run<Int8Block16Vector256>,
            },
            SimdLevel.Vector128 => new()
            {
                Level = level,
                PointwiseIsa = isa,
                PointwiseToBytes = Pointwise(isa, floats: false),
                PointwiseToFloats = Pointwise(isa, floats: true),
                DepthwiseRowsToBytes = &DepthwiseInt8Block16.Rows<Int8Block16Vector128, RequantizedBytes>,
                DepthwiseRowsToFloats = &DepthwiseInt8Block16.Rows<Int8Block16Vector128, DequantizedFloats>,
                RequantizeAccumulators = &QuantizeBlock16.Accumulators<Int8Block16Vector128>,
                QuantizeActivations = &QuantizeBlock16.Activations<Int8Block16Vector128>,
                QuantizeInput = &QuantizeBlock16.Input<Int8Block16Vector128>,
                SumBytes = &SumBytes4x16Block16.Run<Int8Block16Vector128>,
            },
            _ => new()
            {
                Level = SimdLevel.Scalar,
                PointwiseIsa = isa,
                PointwiseToBytes = Pointwise(isa, floats: false),
                PointwiseToFloats = Pointwise(isa, floats: true),
                DepthwiseRowsToBytes = &DepthwiseInt8Block16.Rows<Int8Block16Scalar, RequantizedBytes>,
                DepthwiseRowsToFloats = &DepthwiseInt8Block16.Rows<Int8Block16Scalar, DequantizedFloats>,
                RequantizeAccumulators = &QuantizeBlock16.Accumulators<Int8Block16Scalar>,
                QuantizeActivations = &QuantizeBlock16.Activations<Int8Block16Scalar>,
                QuantizeInput = &QuantizeBlock16.Input<Int8Block16Scalar>,
                SumBytes = &SumBytes4x16Block16.Run<Int8Block16Scalar>,
            },
        };
    }
}
