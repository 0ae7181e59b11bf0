namespace MobileOne.Runtime;

/// <summary>A compile-time row count: micro-kernels generic over it are specialised by the JIT, dead rows removed.</summary>
internal interface IRowCount
{
    /// <summary>Gets the number of rows.</summary>
    static abstract int Count { get; }
}

#pragma warning disable SA1402, SA1649 // tiny marker types kept together
internal struct Rows1 : IRowCount { public static int Count => 1; }
internal struct Rows2 : IRowCount { public static int Count => 2; }
internal struct Rows3 : IRowCount { public static int Count => 3; }
internal struct Rows4 : IRowCount { public static int Count => 4; }
internal struct Rows5 : IRowCount { public static int Count => 5; }
internal struct Rows6 : IRowCount { public static int Count => 6; }
internal struct Rows7 : IRowCount { public static int Count => 7; }
internal struct Rows8 : IRowCount { public static int Count => 8; }
#pragma warning restore SA1402, SA1649
