namespace MobileOne.Runtime;

/// <summary>
/// A block of sixteen single-precision floats (one channel block of the NHWC-16 layout: "16" counts lanes, it is not
/// half precision) held in whatever registers a SIMD level offers. The <c>Block16</c> micro-kernels are written once,
/// generic over this interface; the JIT specialises each struct instantiation (<see cref="Block16Vector512"/>,
/// <see cref="Block16Vector256"/>, <see cref="Block16Vector128"/>, <see cref="Block16Scalar"/>), so the static abstract
/// calls compile to straight vector instructions.
/// </summary>
/// <typeparam name="T">The implementing struct.</typeparam>
internal unsafe interface IBlock16<T>
    where T : struct, IBlock16<T>
{
    /// <summary>Gets a block of zeros.</summary>
    static abstract T Zero { get; }

    /// <summary>Loads 16 floats from <paramref name="source"/> (no alignment required).</summary>
    static abstract T Load(float* source);

    /// <summary>Stores 16 floats to <paramref name="destination"/> (no alignment required).</summary>
    static abstract void Store(float* destination, T value);

    /// <summary>Returns a block with every lane equal to <paramref name="value"/>.</summary>
    static abstract T Broadcast(float value);

    /// <summary>Returns <c>a * b + c</c>, fused where the hardware can.</summary>
    static abstract T MultiplyAdd(T a, T b, T c);

    /// <summary>Returns <c>a + b</c>.</summary>
    static abstract T Add(T a, T b);

    /// <summary>Returns <c>a * b</c>.</summary>
    static abstract T Multiply(T a, T b);

    /// <summary>Returns the lane-wise maximum.</summary>
    static abstract T Max(T a, T b);

    /// <summary>Returns <c>max(x, 0)</c> lane-wise (ReLU).</summary>
    static abstract T ReluMax(T x);

    /// <summary>Returns the sum of the 16 lanes.</summary>
    static abstract float Sum(T value);
}
