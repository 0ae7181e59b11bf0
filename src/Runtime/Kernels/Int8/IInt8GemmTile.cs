namespace MobileOne.Runtime;

/// <summary>
/// A register tile of the INT8 pointwise GEMM for one instruction set: up to <see cref="Pixels"/> pixels x
/// <see cref="Blocks"/> blocks of 16 output channels, int32 accumulators started at the bias, the epilogue
/// (<see cref="Int8Epilogue"/>) fused. <see cref="PointwiseInt8Sweep"/> drives any tile over a range.
/// </summary>
internal unsafe interface IInt8GemmTile
{
    /// <summary>Gets the pixel rows of a full tile.</summary>
    static abstract int Pixels { get; }

    /// <summary>Gets the 16-channel output blocks of a full tile.</summary>
    static abstract int Blocks { get; }

    /// <summary>Computes <paramref name="rows"/> (1 to <see cref="Pixels"/>) pixels x <paramref name="blocks"/> (1 to <see cref="Blocks"/>) blocks.</summary>
    /// <param name="rows">Pixels to compute.</param>
    /// <param name="blocks">16-channel blocks to compute.</param>
    /// <param name="a">The first pixel's input row (u8, NHWC-16).</param>
    /// <param name="cinP">Bytes per input row.</param>
    /// <param name="steps">4-channel steps: <c>(inChannels + 3) / 4</c>.</param>
    /// <param name="w">The first block's packed weight panel <c>[CinP/4][16][4]</c>.</param>
    /// <param name="panel">Bytes per panel (<c>CinP * 16</c>).</param>
    /// <param name="bias">The first block's int32 biases.</param>
    /// <param name="scale">The first block's float multipliers (<c>m[o]</c> or <c>d[o]</c>).</param>
    /// <param name="o">The first output element.</param>
    /// <param name="outStride">Bytes per output row.</param>
    /// <typeparam name="TOut">Requantized bytes or dequantized floats.</typeparam>
    static abstract void Run<TOut>(int rows, int blocks, byte* a, nint cinP, int steps, sbyte* w, nint panel, int* bias, float* scale, byte* o, nint outStride)
        where TOut : struct, IInt8Output;
}
