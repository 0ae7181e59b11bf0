using MobileOne.Generator.Helpers;
using MobileOne.Model;

namespace MobileOne.Generator.Model;

/// <summary>One fused conv layer: conv (+ bias) → optional squeeze-excite → ReLU. The pipeline's equatable copy of a <see cref="LayerShape"/>.</summary>
internal sealed record LayerSpec(
    string Name,
    LayerType Kind,
    string Identifier,
    string Operation,
    int InChannels,
    int OutChannels,
    int Stride,
    int InHeight,
    int InWidth,
    int OutHeight,
    int OutWidth,
    int SeReducedChannels)
{
    public bool HasSqueezeExcite => SeReducedChannels > 0;

    public string WeightName => Name + ".reparam_conv.weight";

    public string BiasName => Name + ".reparam_conv.bias";

    public static LayerSpec From(LayerShape l) => new LayerSpec(
        l.Name, l.Type, l.Identifier, l.Operation, l.InChannels, l.OutChannels, l.Stride, l.InHeight, l.InWidth, l.OutHeight, l.OutWidth, l.SeReduced);
}

/// <summary>
/// A tensor the network reads: its canonical (Apple) name, the name in the file, shape, where it is in the file, and
/// its row of the packing plan (<see cref="PackedLayout.Tensors"/>: the runtime packing, the region, the scale indexes).
/// </summary>
/// <remarks><see cref="DType"/> is empty and the offsets are -1 when no weight file was seen at build time.</remarks>
internal sealed record TensorSpec(string Name, string FileName, EquatableArray<int> Shape, string DType, long Begin, long End, string Packing, string Region, int InputScaleIndex, int OutputScaleIndex);

/// <summary>One region of the packed weight buffer (<see cref="PackedLayout.Regions"/>), in floats.</summary>
internal sealed record PackedRegionSpec(string Name, long Offset, long Length)
{
    public static PackedRegionSpec From(PackedRegion r) => new PackedRegionSpec(r.Name, r.Offset, r.Length);
}

/// <summary>Everything the emitter needs for one generated class. Value-equatable; no Roslyn symbols.</summary>
internal sealed record NetworkSpec(
    string ClassName,
    string Namespace,
    string Accessibility,
    string SourceFileName,
    string ArchitectureSource,
    string Variant,
    int InputChannels,
    int InputHeight,
    int InputWidth,
    int NumClasses,
    long ParameterCount,
    long Macs,
    EquatableArray<LayerSpec> Layers,
    EquatableArray<TensorSpec> Tensors,
    EquatableArray<PackedRegionSpec> Packed,
    EquatableArray<float> Mean,
    EquatableArray<float> Std,
    float CropPct,
    EquatableArray<string> Labels,
    bool HasWeights,
    bool EmbedWeights,
    string ResourceName,
    long FileLength,
    ulong HeaderHash,
    long DataOffset,
    QuantizationSpec? Quantization = null)
{
    /// <summary>Whether the network is quantized (int8, docs/quantization.md).</summary>
    public bool IsQuantized => Quantization != null;

    public LayerSpec LastLayer => Layers[Layers.Count - 1];

    public int FeatureChannels => LastLayer.OutChannels;

    /// <summary>Floats of the packed weight buffer: the end of its last region.</summary>
    public long PackedLength => Packed.Count == 0 ? 0 : Packed[Packed.Count - 1].Offset + Packed[Packed.Count - 1].Length;
}

/// <summary>
/// What the generator knows of a quantized network's calibration at build time: the method and the scales of the file
/// it was generated from (shown in the generated code; <c>Load</c> reads the scales of the file it is given).
/// </summary>
internal sealed record QuantizationSpec(string Method, int CalibrationImages, float InputScale, EquatableArray<float> ActivationScales);

/// <summary>The outcome of parsing one model: a spec (null on errors) and its diagnostics.</summary>
internal sealed record ParseResult(NetworkSpec? Spec, EquatableArray<DiagnosticInfo> Diagnostics, string FilePath);

/// <summary>What the emit step gets: a spec and the file it came from (where MO0016 goes if emitting throws).</summary>
internal sealed record EmitInput(NetworkSpec Spec, string FilePath);
