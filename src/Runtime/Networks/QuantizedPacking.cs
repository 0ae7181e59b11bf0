using System;
using System.Collections.Generic;
using System.Runtime.InteropServices;
using MobileOne.Model;

namespace MobileOne.Runtime;

/// <summary>
/// Binds a quantized weight file (docs/quantization.md) to a generated int8 network: reads the activation scales from
/// the file's <c>mobileone.quantization</c> metadata, checks every int8 weight (the symmetric range, and for pointwise
/// weights the pair rule the AVX2/AVX-512BW kernels rely on), and packs each tensor of the class's table: int8 weights
/// for their kernels, int32 biases, the per-channel requantisation multipliers, and the FP32 squeeze-excite and head.
/// </summary>
public static class QuantizedPacking
{
    /// <summary>Packs every tensor of <paramref name="tensors"/> and the activation scales into <paramref name="packed"/>.</summary>
    /// <param name="reader">The weight file, opened with <paramref name="tensors"/>.</param>
    /// <param name="tensors">The network's tensor table.</param>
    /// <param name="layers">The network's convolutions in order: their output scales are read from the file.</param>
    /// <param name="activationScalesOffset">Where the scales go in <paramref name="packed"/>: the input scale, then one per layer.</param>
    /// <param name="packed">The packed weight buffer.</param>
    /// <exception cref="WeightFileException">The file is not quantized, its scales are missing or invalid, or a weight breaks the rules.</exception>
    public static void PackAll(WeightReader reader, IReadOnlyList<TensorDescriptor> tensors, IReadOnlyList<string> layers, int activationScalesOffset, Span<float> packed)
    {
        ArgumentNullException.ThrowIfNull(reader);
        ArgumentNullException.ThrowIfNull(tensors);
        ArgumentNullException.ThrowIfNull(layers);
        Span<float> scales = packed.Slice(activationScalesOffset, layers.Count + 1);
        ReadActivationScales(reader, layers, scales);

        var floats = new List<TensorDescriptor>();
        foreach (TensorDescriptor t in tensors)
        {
            Span<float> dst = t.Packing == TensorPacking.None ? default : packed.Slice(t.PackedOffset, t.PackedLength);
            switch (t.Packing)
            {
                case TensorPacking.Int8Stem:
                    WeightPacking.PackStem(Widen(Int8Weights(reader, t)), t.Shape[0], t.Shape[1], dst);
                    break;
                case TensorPacking.Int8Depthwise:
                    Int8Packing.PackDepthwise(Int8Weights(reader, t), t.Shape[0], dst);
                    break;
                case TensorPacking.Int8Pointwise:
                    ReadOnlySpan<sbyte> w = Int8Weights(reader, t);
                    (int oc, int pair) = QuantizationScheme.FindPairOverflow(w, t.Shape[0], t.Shape[1]);
                    if (oc >= 0)
                    {
                        throw new WeightFileException($"Tensor '{t.Name}' in {reader.Source}: output channel {oc} has input channels {2 * pair} and {(2 * pair) + 1} whose same-sign weights sum beyond ±{QuantizationScheme.MaxPairSum}, which the AVX2 and AVX-512BW kernels cannot add without saturating (docs/quantization.md, \"Pairs\"); quantize the network with mobileone quantize.");
                    }

                    Int8Packing.PackPointwise(w, t.Shape[0], t.Shape[1], MemoryMarshal.Cast<float, sbyte>(dst));
                    break;
                case TensorPacking.Int32Bias:
                    ReadOnlySpan<int> bias = MemoryMarshal.Cast<byte, int>(reader.ReadBytes(t.Name, out _));
                    Span<int> biasDst = MemoryMarshal.Cast<float, int>(dst);
                    biasDst.Clear();
                    bias.CopyTo(biasDst);
                    break;
                case TensorPacking.Requantize:
                case TensorPacking.Dequantize:
                    PackMultipliers(reader, t, scales, dst);
                    break;
                case TensorPacking.None:
                    break;
                default:
                    floats.Add(t);
                    break;
            }
        }

        WeightPacking.PackAll(reader, floats, packed);
    }

    /// <summary>Reads the input scale and each layer's output scale from <c>mobileone.quantization</c>.</summary>
    private static void ReadActivationScales(WeightReader reader, IReadOnlyList<string> layers, Span<float> scales)
    {
        if (!reader.Metadata.TryGetValue(QuantizationDocument.MetadataKey, out string? json))
        {
            throw new WeightFileException($"{reader.Source} is not a quantized MobileOne: it has no '{QuantizationDocument.MetadataKey}' metadata. Quantize it with mobileone quantize, or use the FP32 class.");
        }

        QuantizationDocument? doc = QuantizationScheme.Read(json, out string? error);
        if (doc == null || doc.Format != QuantizationDocument.CurrentFormat)
        {
            throw new WeightFileException($"The '{QuantizationDocument.MetadataKey}' metadata of {reader.Source} is not valid: {error ?? "format " + doc!.Format + " is not supported (this version reads format 1)"}.");
        }

        scales[0] = Positive(doc.InputScale, "inputScale", reader);
        for (int i = 0; i < layers.Count; i++)
        {
            float s = float.NaN;
            foreach (KeyValuePair<string, float> kv in doc.ActivationScales)
            {
                if (kv.Key == layers[i])
                {
                    s = kv.Value;
                }
            }

            scales[i + 1] = Positive(s, "the activation scale of '" + layers[i] + "'", reader);
        }
    }

    private static float Positive(float value, string what, WeightReader reader) =>
        value > 0 && float.IsFinite(value) ? value
            : throw new WeightFileException($"In {reader.Source}, {what} is {(float.IsNaN(value) ? "missing" : value.ToString("R", System.Globalization.CultureInfo.InvariantCulture))}; scales must be positive and finite.");

    private static ReadOnlySpan<sbyte> Int8Weights(WeightReader reader, TensorDescriptor t)
    {
        ReadOnlySpan<sbyte> w = MemoryMarshal.Cast<byte, sbyte>(reader.ReadBytes(t.Name, out _));
        int at = QuantizationScheme.FindOutOfRange(w);
        if (at >= 0)
        {
            throw new WeightFileException($"Tensor '{t.Name}' in {reader.Source} has -128 at element {at}; int8 weights are symmetric, in [-127, 127].");
        }

        return w;
    }

    private static float[] Widen(ReadOnlySpan<sbyte> w)
    {
        var result = new float[w.Length];
        for (int i = 0; i < w.Length; i++)
        {
            result[i] = w[i];
        }

        return result;
    }

    /// <summary>The contract's multipliers: <c>(float)((double)s_in * s_w[o] / s_out)</c>, or without <c>/ s_out</c> to dequantize.</summary>
    private static void PackMultipliers(WeightReader reader, TensorDescriptor t, ReadOnlySpan<float> scales, Span<float> dst)
    {
        ReadOnlySpan<float> weightScales = MemoryMarshal.Cast<byte, float>(reader.ReadBytes(t.Name, out _));
        double inputScale = scales[t.InputScaleIndex];
        double outputScale = t.Packing == TensorPacking.Requantize ? scales[t.OutputScaleIndex] : 1.0;
        dst.Clear();
        for (int o = 0; o < weightScales.Length; o++)
        {
            float s = weightScales[o];
            if (!(s > 0 && float.IsFinite(s)))
            {
                throw new WeightFileException($"Tensor '{t.Name}' in {reader.Source} has scale {s.ToString("R", System.Globalization.CultureInfo.InvariantCulture)} for output channel {o}; scales must be positive and finite.");
            }

            dst[o] = (float)(inputScale * s / outputScale);
        }
    }
}
