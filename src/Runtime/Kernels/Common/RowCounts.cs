namespace MobileOne.Runtime;

/// <summary>
/// A compile-time row (pixel) count: a micro-kernel generic over it, e.g. <see cref="Gemm14x32Avx512"/> with
/// <see cref="Rows3"/>, computes that many of its up to 14 pixel rows; the JIT specialises each count and removes the dead
/// rows. The marker types are kept together in this file.
/// </summary>
internal interface IRowCount
{
    /// <summary>Gets the number of rows.</summary>
    static abstract int Count { get; }
}

internal struct Rows1 : IRowCount { public static int Count => 1; }
internal struct Rows2 : IRowCount { public static int Count => 2; }
internal struct Rows3 : IRowCount { public static int Count => 3; }
internal struct Rows4 : IRowCount { public static int Count => 4; }
internal struct Rows5 : IRowCount { public static int Count => 5; }
internal struct Rows6 : IRowCount { public static int Count => 6; }
internal struct Rows7 : IRowCount { public static int Count => 7; }
internal struct Rows8 : IRowCount { public static int Count => 8; }
internal struct Rows9 : IRowCount { public static int Count => 9; }
internal struct Rows10 : IRowCount { public static int Count => 10; }
internal struct Rows11 : IRowCount { public static int Count => 11; }
internal struct Rows12 : IRowCount { public static int Count => 12; }
internal struct Rows13 : IRowCount { public static int Count => 13; }
internal struct Rows14 : IRowCount { public static int Count => 14; }
