using System.Collections.Generic;

namespace MobileOne.Runtime;

/// <summary>
/// The per-model constants and factory a generated class supplies to <see cref="MobileOneNetwork{TSelf}"/>, which
/// holds everything that is the same for every model (argument checks, scratch, batching, loading).
/// </summary>
/// <typeparam name="TSelf">The generated class.</typeparam>
public interface IMobileOneModel<TSelf>
    where TSelf : MobileOneNetwork<TSelf>, IMobileOneModel<TSelf>
{
    /// <summary>Gets the channels of the input image.</summary>
    static abstract int InputChannels { get; }

    /// <summary>Gets the height of the input image.</summary>
    static abstract int InputHeight { get; }

    /// <summary>Gets the width of the input image.</summary>
    static abstract int InputWidth { get; }

    /// <summary>Gets the number of classes (logits per image).</summary>
    static abstract int NumClasses { get; }

    /// <summary>Gets the channels of the last feature map: the length of the pooled embedding.</summary>
    static abstract int FeatureChannels { get; }

    /// <summary>Gets the floats in the stride-8 feature map, CHW.</summary>
    static abstract int Stride8Length { get; }

    /// <summary>Gets the floats in the stride-16 feature map, CHW.</summary>
    static abstract int Stride16Length { get; }

    /// <summary>Gets the floats in the stride-32 feature map, CHW.</summary>
    static abstract int Stride32Length { get; }

    /// <summary>Gets the tensors the network reads, each with its packing and its place in the packed weights.</summary>
    static abstract IReadOnlyList<TensorDescriptor> Tensors { get; }

    /// <summary>Gets the floats of the packed weight buffer.</summary>
    static abstract int PackedLength { get; }

    /// <summary>Gets the floats of the per-thread activation buffer.</summary>
    static abstract int ScratchLength { get; }

    /// <summary>
    /// Gets, for a quantized (int8) network, its convolutions in order, whose output scales <c>Load</c> reads from the
    /// file's <c>mobileone.quantization</c> metadata (docs/quantization.md); null (the default) for an FP32 network.
    /// </summary>
    static virtual IReadOnlyList<string>? QuantizedLayers => null;

    /// <summary>Gets, for a quantized network, where its activation scales lie in the packed weights (the input scale, then one per layer).</summary>
    static virtual int ActivationScalesOffset => -1;

    /// <summary>Creates the network over packed weights (<see cref="PackedLength"/> floats).</summary>
    /// <param name="weights">The packed weights.</param>
    /// <returns>The network.</returns>
    static abstract TSelf Create(AlignedFloatBuffer weights);
}
