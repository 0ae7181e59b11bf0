namespace MobileOne.Runtime;

/// <summary>
/// Sixteen channels (one NHWC-16 block) as single-precision floats, with the conversions the INT8 kernels need: u8 in,
/// exact integer sums plus an int32 bias, and u8 out per docs/quantization.md. The <c>Int8 ... Block16</c> kernels
/// (depthwise, requantization, quantization, pooling) are written once over this interface and instantiated per
/// <see cref="SimdLevel"/> (<see cref="Int8Block16Vector512"/>, <see cref="Int8Block16Vector256"/>,
/// <see cref="Int8Block16Vector128"/>, <see cref="Int8Block16Scalar"/>), as the FP32 kernels are over
/// <see cref="IBlock16{T}"/>. Every operation is exact or rounds exactly as the contract says, so every level writes
/// the same bytes.
/// </summary>
/// <typeparam name="T">The implementing struct.</typeparam>
internal unsafe interface IInt8Block16<T>
    where T : struct, IInt8Block16<T>
{
    /// <summary>Gets a block of zeros.</summary>
    static abstract T Zero { get; }

    /// <summary>Loads 16 floats.</summary>
    static abstract T Load(float* source);

    /// <summary>Stores 16 floats.</summary>
    static abstract void Store(float* destination, T value);

    /// <summary>Loads 16 unsigned bytes as (exact) floats.</summary>
    static abstract T LoadBytes(byte* source);

    /// <summary>Returns a block with every lane equal to <paramref name="value"/>.</summary>
    static abstract T Broadcast(float value);

    /// <summary>Returns <c>a * b + c</c> (fused where the hardware can; used only on exact integers, where it makes no difference).</summary>
    static abstract T MultiplyAdd(T a, T b, T c);

    /// <summary>Returns <c>a * b</c> (one rounding).</summary>
    static abstract T Multiply(T a, T b);

    /// <summary>Returns <c>a + b</c>.</summary>
    static abstract T Add(T a, T b);

    /// <summary>Returns <c>(float)((int)exactSum + bias)</c> per lane: the int32 accumulator, rounded to float to nearest even.</summary>
    static abstract T AddBias(T exactSum, int* bias);

    /// <summary>Returns <c>(float)bias</c> per lane (exact for biases up to 2^24 in magnitude).</summary>
    static abstract T LoadBias(int* bias);

    /// <summary>Stores <c>(byte)round_even(min(max(y, 0), 255))</c> per lane.</summary>
    static abstract void StoreBytes(byte* destination, T y);

    /// <summary>Returns <c>(float)(int)round_even(min(max(v, -127), 127))</c> per lane (an exact integer; zero is +0).</summary>
    static abstract T RoundToInt8(T v);
}
