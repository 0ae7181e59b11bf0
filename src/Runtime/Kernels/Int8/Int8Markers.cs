namespace MobileOne.Runtime;

/// <summary>
/// A compile-time count of 16-channel output blocks: an INT8 GEMM tile generic over it (e.g. <see cref="Gemm6x32AvxVnni"/>
/// with <see cref="Blocks1"/>) computes that many of its blocks, and the JIT removes the others (as <see cref="IRowCount"/>
/// does for pixel rows). The marker types are kept together in this file.
/// </summary>
internal interface IBlockCount
{
    /// <summary>Gets the number of 16-channel blocks.</summary>
    static abstract int Count { get; }
}

internal struct Blocks1 : IBlockCount { public static int Count => 1; }
internal struct Blocks2 : IBlockCount { public static int Count => 2; }
internal struct Blocks3 : IBlockCount { public static int Count => 3; }
internal struct Blocks4 : IBlockCount { public static int Count => 4; }

/// <summary>
/// What an INT8 convolution writes (docs/quantization.md), as a compile-time choice: the kernels are generic over it, so
/// the epilogue has no run-time branch.
/// </summary>
internal interface IInt8Output
{
    /// <summary>Gets whether the output is float (dequantized) rather than u8 (requantized).</summary>
    static abstract bool Floats { get; }

    /// <summary>Gets the size of one output element in bytes.</summary>
    static abstract int ElementSize { get; }
}

/// <summary>Requantize to u8: <c>q = (byte)round_even(min(max((float)acc * m[o], 0), 255))</c>; the clamp is the ReLU.</summary>
internal struct RequantizedBytes : IInt8Output
{
    public static bool Floats => false;

    public static int ElementSize => 1;
}

/// <summary>Dequantize to float, no clamp (a layer followed by squeeze-excite): <c>f = (float)acc * d[o]</c>.</summary>
internal struct DequantizedFloats : IInt8Output
{
    public static bool Floats => true;

    public static int ElementSize => 4;
}
