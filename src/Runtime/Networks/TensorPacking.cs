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
}
