namespace MobileOne.Runtime;

/// <summary>
/// The instruction set of the INT8 pointwise GEMM (<see cref="PointwiseConvInt8"/>). Every value computes the same exact
/// int32 sums and the same bytes (docs/quantization.md); they differ only in speed. The default for each
/// <see cref="SimdLevel"/> is chosen once (<see cref="PointwiseConvInt8.Isa"/>).
/// </summary>
public enum Int8Isa
{
    /// <summary>Plain loops with int32 accumulation (every CPU; the path of <see cref="SimdLevel.Scalar"/> and <see cref="SimdLevel.Vector128"/>).</summary>
    Scalar = 0,

    /// <summary>
    /// 256-bit <c>vpmaddubsw</c> (u8 x s8 pairs into saturating int16) then <c>vpmaddwd</c> with ones (into int32). Exact
    /// only for weights that satisfy the pair rule (<see cref="Int8Packing.FindPairOverflow"/>).
    /// </summary>
    Avx2 = 1,

    /// <summary>The <see cref="Avx2"/> pair at 512 bits (AVX-512BW; <see cref="SimdLevel.Vector512"/> only). Relies on the pair rule too.</summary>
    Avx512BW = 2,

    /// <summary>256-bit <c>vpdpbusd</c> (AVX-VNNI: u8 x s8 quadruples straight into int32, no intermediate saturation).</summary>
    AvxVnni = 3,
}
