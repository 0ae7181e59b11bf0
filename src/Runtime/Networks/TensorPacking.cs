namespace MobileOne.Runtime;

/// <summary>How a tensor of a generated network's table is packed for its kernel (see <see cref="WeightPacking"/>).</summary>
public enum TensorPacking
{
    /// <summary>Not packed (a descriptor that only names a tensor).</summary>
    None,

    /// <summary>Stem weight <c>[Cout, Cin, 3, 3]</c>: <see cref="WeightPacking.PackStem"/>.</summary>
    Stem,

    /// <summary>Depthwise weight <c>[C, 1, 3, 3]</c>: <see cref="WeightPacking.PackDepthwise"/>.</summary>
    Depthwise,

    /// <summary>Pointwise weight <c>[Cout, Cin, 1, 1]</c>: <see cref="WeightPacking.PackPointwise"/>.</summary>
    Pointwise,

    /// <summary>Bias <c>[N]</c>: <see cref="WeightPacking.PackBias"/>.</summary>
    Bias,

    /// <summary>Squeeze-excite reduce weight <c>[R, C, 1, 1]</c>: <see cref="WeightPacking.PackSeReduce"/>.</summary>
    SeReduce,

    /// <summary>Squeeze-excite expand weight <c>[C, R, 1, 1]</c>: <see cref="WeightPacking.PackSeExpand"/>.</summary>
    SeExpand,

    /// <summary>Classifier weight <c>[Classes, Features]</c>: <see cref="WeightPacking.PackLinear"/>.</summary>
    Linear,

    /// <summary>Int8 stem weight <c>[Cout, Cin, 3, 3]</c> (I8): widened to float integers in the stem layout (docs/quantization.md).</summary>
    Int8Stem,

    /// <summary>Int8 depthwise weight <c>[C, 1, 3, 3]</c> (I8): widened to float integers in the int8 depthwise kernel's layout.</summary>
    Int8Depthwise,

    /// <summary>Int8 pointwise weight <c>[Cout, Cin, 1, 1]</c> (I8): packed <c>[CoutP/16][CinP/4][16][4]</c>, the pair rule checked.</summary>
    Int8Pointwise,

    /// <summary>Int32 bias <c>[N]</c> (I32), stored as int32 bits, padded with zeros.</summary>
    Int32Bias,

    /// <summary>
    /// Per-output-channel weight scale <c>[N]</c> (F32) → requantisation multipliers
    /// <c>(float)((double)s_in * s_w[o] / s_out)</c>, with the activation scales named by the descriptor.
    /// </summary>
    Requantize,

    /// <summary>Per-output-channel weight scale <c>[N]</c> (F32) → dequantisation multipliers <c>(float)((double)s_in * s_w[o])</c> (a layer followed by squeeze-excite).</summary>
    Dequantize,
}
