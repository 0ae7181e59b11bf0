// The one description of a quantized MobileOne (docs/quantization.md): its tensors and dtypes, the
// mobileone.quantization metadata (read and written here only), the checks every reader applies, and the pair rule
// that keeps the AVX2/AVX-512BW kernels from saturating. Linked into the generator, the runtime and the conversion
// library like the rest of src/Shared/Model.
using System;
using System.Collections.Generic;
using System.Globalization;
using System.Text;
using MobileOne.Formats.Json;

namespace MobileOne.Model;

/// <summary>A tensor of a quantized file: (Apple) name, shape and safetensors dtype.</summary>
internal readonly struct QuantizedTensorShape
{
    public QuantizedTensorShape(string name, int[] shape, string dtype)
    {
        Name = name;
        Shape = shape;
        DType = dtype;
    }

    public string Name { get; }

    public int[] Shape { get; }

    public string DType { get; }

    public long ElementCount
    {
        get
        {
            long n = 1;
            foreach (int d in Shape)
            {
                n *= d;
            }

            return n;
        }
    }
}

/// <summary>What <c>mobileone.quantization</c> says (docs/quantization.md, "File format").</summary>
internal sealed class QuantizationDocument
{
    /// <summary>The safetensors metadata key.</summary>
    public const string MetadataKey = "mobileone.quantization";

    /// <summary>The format this code reads and writes.</summary>
    public const int CurrentFormat = 1;

    /// <summary>The weight scheme, the only one: symmetric int8 per output channel.</summary>
    public const string WeightScheme = "int8-symmetric-per-channel";

    /// <summary>The activation scheme, the only one: uint8 per tensor, zero point 0.</summary>
    public const string ActivationScheme = "uint8-per-tensor";

    public int Format { get; set; } = CurrentFormat;

    /// <summary>"minmax" or "percentile" (informative; readers do not depend on it).</summary>
    public string Method { get; set; } = "percentile";

    /// <summary>The percentile of the percentile method (informative).</summary>
    public double? Percentile { get; set; }

    /// <summary>Images the activation ranges were measured on (informative).</summary>
    public int CalibrationImages { get; set; }

    /// <summary>Scale of the int8 network input.</summary>
    public float InputScale { get; set; }

    /// <summary>Output scale of every convolution by layer name (<c>stage0</c>, <c>stage1.0</c>, …), in layer order.</summary>
    public List<KeyValuePair<string, float>> ActivationScales { get; } = new List<KeyValuePair<string, float>>();

    /// <summary>The output scale of a layer.</summary>
    /// <exception cref="KeyNotFoundException">The layer has none.</exception>
    public float ScaleOf(string layer)
    {
        foreach (KeyValuePair<string, float> kv in ActivationScales)
        {
            if (kv.Key == layer)
            {
                return kv.Value;
            }
        }

        throw new KeyNotFoundException("No activation scale for layer '" + layer + "'.");
    }
}

/// <summary>The tensors, metadata and rules of a quantized MobileOne.</summary>
internal static class QuantizationScheme
{
    /// <summary>Largest weight magnitude (symmetric range [-127, 127]; -128 is never used).</summary>
    public const int MaxWeight = 127;

    /// <summary>Largest sum of same-sign weights in one input-channel pair of a pointwise weight (docs/quantization.md, "Pairs").</summary>
    public const int MaxPairSum = 128;

    /// <summary>Most input channels the stem may have: 9 x channels x 127 x 127 stays below 2^24 (exact in float).</summary>
    public const int MaxStemInputChannels = 115;

    /// <summary>Suffix of the per-output-channel weight scale tensor of a convolution.</summary>
    public const string WeightScaleSuffix = ".reparam_conv.weight_scale";

    /// <summary>
    /// The tensors of a quantized file in file order: per convolution <c>reparam_conv.weight</c> (I8),
    /// <c>reparam_conv.weight_scale</c> (F32) and <c>reparam_conv.bias</c> (I32), its squeeze-excite (F32), then the
    /// linear head (F32).
    /// </summary>
    public static IReadOnlyList<QuantizedTensorShape> Tensors(NetworkShape shape)
    {
        var list = new List<QuantizedTensorShape>();
        foreach (TensorShape t in shape.FusedTensors())
        {
            if (t.Name.EndsWith(".reparam_conv.weight", StringComparison.Ordinal))
            {
                string layer = t.Name.Substring(0, t.Name.Length - ".reparam_conv.weight".Length);
                list.Add(new QuantizedTensorShape(t.Name, t.Shape, "I8"));
                list.Add(new QuantizedTensorShape(layer + WeightScaleSuffix, new[] { t.Shape[0] }, "F32"));
            }
            else if (t.Name.EndsWith(".reparam_conv.bias", StringComparison.Ordinal))
            {
                list.Add(new QuantizedTensorShape(t.Name, t.Shape, "I32"));
            }
            else
            {
                list.Add(new QuantizedTensorShape(t.Name, t.Shape, "F32"));
            }
        }

        return list;
    }

    /// <summary>Whether safetensors metadata describes a quantized file.</summary>
    public static bool IsQuantized(IReadOnlyDictionary<string, string>? metadata) =>
        metadata != null && metadata.ContainsKey(QuantizationDocument.MetadataKey);

    /// <summary>
    /// The first reason the document cannot drive <paramref name="shape"/>: a missing, extra, non-positive or
    /// non-finite scale, an unknown format or scheme; null when it can.
    /// </summary>
    public static string? Check(QuantizationDocument doc, NetworkShape shape)
    {
        if (doc.Format != QuantizationDocument.CurrentFormat)
        {
            return "format " + doc.Format.ToString(CultureInfo.InvariantCulture) + " is not supported (this version reads format 1)";
        }

        if (!IsPositiveFinite(doc.InputScale))
        {
            return "'inputScale' is " + Text(doc.InputScale) + "; scales must be positive and finite";
        }

        if (shape.InputChannels > MaxStemInputChannels)
        {
            return "the stem has " + shape.InputChannels.ToString(CultureInfo.InvariantCulture) + " input channels; int8 supports at most " + MaxStemInputChannels.ToString(CultureInfo.InvariantCulture);
        }

        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (KeyValuePair<string, float> kv in doc.ActivationScales)
        {
            if (!seen.Add(kv.Key))
            {
                return "'activationScales' has '" + kv.Key + "' twice";
            }

            if (!IsPositiveFinite(kv.Value))
            {
                return "the activation scale of '" + kv.Key + "' is " + Text(kv.Value) + "; scales must be positive and finite";
            }
        }

        var layers = new HashSet<string>(StringComparer.Ordinal);
        foreach (LayerShape l in shape.Layers())
        {
            layers.Add(l.Name);
            if (!seen.Contains(l.Name))
            {
                return "'activationScales' has no scale for layer '" + l.Name + "'";
            }
        }

        foreach (string name in seen)
        {
            if (!layers.Contains(name))
            {
                return "'activationScales' has '" + name + "', which is not a convolution of this network";
            }
        }

        return null;
    }

    /// <summary>
    /// The first (output channel, pair) of a pointwise weight <c>[out][in]</c> whose positive or negative parts of input
    /// channels <c>(2j, 2j+1)</c> sum beyond ±<see cref="MaxPairSum"/>, or holding -128; (-1, -1) when none does.
    /// An odd last input channel pairs with the zero padding.
    /// </summary>
    public static (int OutChannel, int Pair) FindPairOverflow(ReadOnlySpan<sbyte> weights, int outChannels, int inChannels)
    {
        if (weights.Length != (long)outChannels * inChannels)
        {
            throw new ArgumentException("Expected " + ((long)outChannels * inChannels).ToString(CultureInfo.InvariantCulture) + " weights, got " + weights.Length.ToString(CultureInfo.InvariantCulture) + ".", nameof(weights));
        }

        for (int o = 0; o < outChannels; o++)
        {
            ReadOnlySpan<sbyte> row = weights.Slice(o * inChannels, inChannels);
            for (int i = 0; i < inChannels; i += 2)
            {
                int a = row[i], b = i + 1 < inChannels ? row[i + 1] : 0;
                int positive = Math.Max(a, 0) + Math.Max(b, 0), negative = Math.Min(a, 0) + Math.Min(b, 0);
                if (a == sbyte.MinValue || b == sbyte.MinValue || positive > MaxPairSum || negative < -MaxPairSum)
                {
                    return (o, i / 2);
                }
            }
        }

        return (-1, -1);
    }

    /// <summary>The index of the first weight that is -128 (outside the symmetric range), or -1.</summary>
    public static int FindOutOfRange(ReadOnlySpan<sbyte> weights)
    {
        for (int i = 0; i < weights.Length; i++)
        {
            if (weights[i] == sbyte.MinValue)
            {
                return i;
            }
        }

        return -1;
    }

    /// <summary>Reads <c>mobileone.quantization</c>; null (with a reason in <paramref name="error"/>) when it is not a valid document.</summary>
    public static QuantizationDocument? Read(string text, out string? error)
    {
        JsonValue root;
        try
        {
            root = JsonReader.Parse(text);
        }
        catch (JsonParseException e)
        {
            error = e.Message;
            return null;
        }

        error = null;
        if (root.Kind != JsonKind.Object)
        {
            error = "it must be a JSON object, not " + root.KindName;
            return null;
        }

        var doc = new QuantizationDocument();
        foreach (KeyValuePair<string, JsonValue> member in root.Members)
        {
            JsonValue v = member.Value;
            switch (member.Key)
            {
                case "format":
                    doc.Format = v.TryGetInt64(out long f) && f is > 0 and < int.MaxValue ? (int)f : -1;
                    break;
                case "weights":
                    if (v.Kind != JsonKind.String || v.Text != QuantizationDocument.WeightScheme)
                    {
                        error = "'weights' must be \"" + QuantizationDocument.WeightScheme + "\"";
                        return null;
                    }

                    break;
                case "activations":
                    if (v.Kind != JsonKind.String || v.Text != QuantizationDocument.ActivationScheme)
                    {
                        error = "'activations' must be \"" + QuantizationDocument.ActivationScheme + "\"";
                        return null;
                    }

                    break;
                case "method":
                    doc.Method = v.Kind == JsonKind.String ? v.Text : doc.Method;
                    break;
                case "percentile":
                    doc.Percentile = v.TryGetDouble(out double p) ? p : null;
                    break;
                case "calibrationImages":
                    doc.CalibrationImages = v.TryGetInt64(out long n) && n is >= 0 and <= int.MaxValue ? (int)n : 0;
                    break;
                case "inputScale":
                    if (!Number(v, out float inputScale))
                    {
                        error = "'inputScale' must be a number";
                        return null;
                    }

                    doc.InputScale = inputScale;
                    break;
                case "activationScales":
                    if (v.Kind != JsonKind.Object)
                    {
                        error = "'activationScales' must be an object of layer name to scale";
                        return null;
                    }

                    foreach (KeyValuePair<string, JsonValue> scale in v.Members)
                    {
                        if (!Number(scale.Value, out float s))
                        {
                            error = "the activation scale of '" + scale.Key + "' must be a number";
                            return null;
                        }

                        doc.ActivationScales.Add(new KeyValuePair<string, float>(scale.Key, s));
                    }

                    break;
                default:
                    break;
            }
        }

        if (doc.Format < 0)
        {
            error = "'format' must be a positive integer";
            return null;
        }

        return doc;
    }

    /// <summary>Writes <c>mobileone.quantization</c> (scales in round-trip form).</summary>
    public static string Write(QuantizationDocument doc)
    {
        var sb = new StringBuilder("{");
        sb.Append("\"format\": ").Append(doc.Format.ToString(CultureInfo.InvariantCulture))
          .Append(", \"weights\": \"").Append(QuantizationDocument.WeightScheme)
          .Append("\", \"activations\": \"").Append(QuantizationDocument.ActivationScheme)
          .Append("\", \"method\": ");
        ArchitectureJson.AppendString(sb, doc.Method);
        if (doc.Percentile.HasValue)
        {
            sb.Append(", \"percentile\": ").Append(doc.Percentile.Value.ToString("R", CultureInfo.InvariantCulture));
        }

        sb.Append(", \"calibrationImages\": ").Append(doc.CalibrationImages.ToString(CultureInfo.InvariantCulture))
          .Append(", \"inputScale\": ").Append(Text(doc.InputScale))
          .Append(", \"activationScales\": {");
        for (int i = 0; i < doc.ActivationScales.Count; i++)
        {
            sb.Append(i == 0 ? string.Empty : ", ");
            ArchitectureJson.AppendString(sb, doc.ActivationScales[i].Key);
            sb.Append(": ").Append(Text(doc.ActivationScales[i].Value));
        }

        return sb.Append("}}").ToString();
    }

    private static bool Number(JsonValue v, out float value)
    {
        value = 0;
        if (v.Kind != JsonKind.Number || !v.TryGetDouble(out double d))
        {
            return false;
        }

        value = (float)d;
        return true;
    }

    private static bool IsPositiveFinite(float value) => value > 0 && !float.IsInfinity(value) && !float.IsNaN(value);

    private static string Text(float value) => value.ToString("R", CultureInfo.InvariantCulture);
}
