using System;
using System.Buffers.Binary;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using MobileOne.Formats.Safetensors;
using MobileOne.Model;

namespace MobileOne.Conversion.Quantization;

/// <summary>One quantized convolution (docs/quantization.md): int8 weights, their per-output-channel scales, the int32 bias and the output scale.</summary>
/// <param name="Name">Layer name (<c>stage0</c>, <c>stage1.0</c>, …).</param>
/// <param name="Kind">Stem, depthwise or pointwise.</param>
/// <param name="WeightShape"><c>[out, in/groups, k, k]</c>.</param>
/// <param name="Weight">Int8 weights in [-127, 127], row-major in <paramref name="WeightShape"/>.</param>
/// <param name="WeightScale">Scale of each output channel's weights, positive and finite.</param>
/// <param name="Bias">Int32 bias of each output channel, in units of <c>inputScale * WeightScale[o]</c>.</param>
/// <param name="OutputScale">Scale of the layer's uint8 output (after ReLU, and after squeeze-excite where the layer has it).</param>
public sealed record QuantizedLayer(string Name, ConvLayerKind Kind, int[] WeightShape, sbyte[] Weight, float[] WeightScale, int[] Bias, float OutputScale);

/// <summary>
/// A quantized MobileOne in memory: the file <c>mobileone quantize</c> writes and the generator compiles
/// (docs/quantization.md, "File format"). Read and written here; checked by the same shared rules the generator and the
/// runtime apply.
/// </summary>
public sealed class QuantizedNetwork
{
    private readonly Dictionary<string, float[]> _floatTensors;

    /// <summary>Creates the network and checks it against the shared rules.</summary>
    /// <exception cref="ArgumentException">A tensor is missing or has the wrong size, a scale is not positive and finite, or a pointwise weight breaks the pair rule.</exception>
    public QuantizedNetwork(
        NetworkArchitecture architecture, string architectureJson, float inputScale, IReadOnlyList<QuantizedLayer> layers,
        IReadOnlyDictionary<string, float[]> floatTensors, string method, double? percentile, int calibrationImages)
    {
        ArgumentNullException.ThrowIfNull(architecture);
        ArgumentNullException.ThrowIfNull(architectureJson);
        ArgumentNullException.ThrowIfNull(layers);
        ArgumentNullException.ThrowIfNull(floatTensors);
        Architecture = architecture;
        ArchitectureJson = architectureJson;
        InputScale = inputScale;
        Layers = layers.ToList();
        _floatTensors = new Dictionary<string, float[]>(floatTensors, StringComparer.Ordinal);
        Method = method ?? "percentile";
        Percentile = percentile;
        CalibrationImages = calibrationImages;
        string? error = Validate();
        if (error != null)
        {
            throw new ArgumentException(error, nameof(layers));
        }
    }

    /// <summary>The structure.</summary>
    public NetworkArchitecture Architecture { get; }

    /// <summary>The architecture JSON stored in the file (with the mean, std, crop and labels of the FP32 file it came from).</summary>
    public string ArchitectureJson { get; }

    /// <summary>Scale of the int8 network input.</summary>
    public float InputScale { get; }

    /// <summary>The convolutions in network order (stem, then depthwise/pointwise pairs).</summary>
    public IReadOnlyList<QuantizedLayer> Layers { get; }

    /// <summary>Calibration method ("minmax" or "percentile").</summary>
    public string Method { get; }

    /// <summary>Percentile of the percentile method.</summary>
    public double? Percentile { get; }

    /// <summary>Images the activation ranges were measured on.</summary>
    public int CalibrationImages { get; }

    /// <summary>The float tensors (squeeze-excite and the linear head) by Apple name.</summary>
    public IReadOnlyDictionary<string, float[]> FloatTensors => _floatTensors;

    /// <summary>A layer by name.</summary>
    public QuantizedLayer this[string layer] => Layers.FirstOrDefault(l => l.Name == layer) ?? throw new KeyNotFoundException($"No layer '{layer}'.");

    /// <summary>The input scale of a layer: the previous layer's output scale, <see cref="InputScale"/> for the stem.</summary>
    public float InputScaleOf(string layer)
    {
        for (int i = 0; i < Layers.Count; i++)
        {
            if (Layers[i].Name == layer)
            {
                return i == 0 ? InputScale : Layers[i - 1].OutputScale;
            }
        }

        throw new KeyNotFoundException($"No layer '{layer}'.");
    }

    /// <summary>The <c>__metadata__</c> of the file: the architecture and the quantization parameters.</summary>
    public IReadOnlyDictionary<string, string> Metadata(string producedBy) => new Dictionary<string, string>
    {
        ["format"] = "pt",
        [FusedNetwork.ArchitectureMetadataKey] = ArchitectureJson,
        [QuantizationDocument.MetadataKey] = QuantizationScheme.Write(Document()),
        ["mobileone.producer"] = producedBy,
    };

    /// <summary>Writes the network as safetensors (whole or not at all).</summary>
    /// <exception cref="ConversionException">The output cannot be written.</exception>
    public void Write(string path, string producedBy = "MobileOne.Conversion")
    {
        ArgumentNullException.ThrowIfNull(path);
        AtomicFile.Write(path, stream => WriteTo(stream, producedBy));
    }

    /// <summary>Writes the network as safetensors to a stream.</summary>
    public void WriteTo(Stream stream, string producedBy = "MobileOne.Conversion")
    {
        ArgumentNullException.ThrowIfNull(stream);
        var tensors = new List<(string Name, string DType, int[] Shape, byte[] Bytes)>();
        var byName = Layers.ToDictionary(l => l.Name, StringComparer.Ordinal);
        foreach (QuantizedTensorShape t in QuantizationScheme.Tensors(Architecture.ToShape()))
        {
            string layer = t.Name.Substring(0, Math.Max(0, t.Name.IndexOf(".reparam_conv.", StringComparison.Ordinal)));
            byte[] bytes = t.DType switch
            {
                "I8" => MemoryMarshal.AsBytes(byName[layer].Weight.AsSpan()).ToArray(),
                "I32" => LittleEndian(byName[layer].Bias),
                _ when t.Name.EndsWith(QuantizationScheme.WeightScaleSuffix, StringComparison.Ordinal) => LittleEndian(byName[layer].WeightScale),
                _ => LittleEndian(_floatTensors[t.Name]),
            };
            tensors.Add((t.Name, t.DType, t.Shape, bytes));
        }

        SafetensorsFile.WriteHeader(stream, tensors.ConvertAll(t => (t.Name, t.DType, t.Shape, (long)t.Bytes.Length)), Metadata(producedBy));
        foreach (var (_, _, _, bytes) in tensors)
        {
            stream.Write(bytes);
        }
    }

    /// <summary>Whether a safetensors file's metadata marks it as quantized.</summary>
    public static bool IsQuantized(IReadOnlyDictionary<string, string>? metadata) => QuantizationScheme.IsQuantized(metadata);

    /// <summary>
    /// Whether <paramref name="path"/> is a safetensors file whose metadata marks it as quantized (only the header is
    /// read). False for anything else, including files that do not exist or are not safetensors: the caller's ordinary
    /// reader reports those.
    /// </summary>
    public static bool IsQuantizedFile(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        try
        {
            using FileStream f = File.OpenRead(path);
            byte[] prefix = new byte[8];
            if (f.ReadAtLeast(prefix, 8, throwOnEndOfStream: false) < 8)
            {
                return false;
            }

            long n = SafetensorsHeader.ReadHeaderLength(prefix, f.Length);
            byte[] header = new byte[n];
            f.ReadExactly(header);
            return IsQuantized(SafetensorsHeader.Parse(header, f.Length - 8 - n).Metadata);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or SafetensorsFormatException)
        {
            return false;
        }
    }

    /// <summary>Reads a quantized file.</summary>
    /// <exception cref="ConversionException">The file is not a valid quantized MobileOne; the message says why.</exception>
    public static QuantizedNetwork Read(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        return Read(File.ReadAllBytes(path), Path.GetFileName(path));
    }

    /// <summary>Reads a quantized file from its bytes.</summary>
    /// <exception cref="ConversionException">The file is not a valid quantized MobileOne; the message says why.</exception>
    public static QuantizedNetwork Read(byte[] file, string source)
    {
        ArgumentNullException.ThrowIfNull(file);
        SafetensorsHeader header;
        try
        {
            long n = SafetensorsHeader.ReadHeaderLength(file.AsSpan(0, Math.Min(8, file.Length)).ToArray(), file.LongLength);
            header = SafetensorsHeader.Parse(file.AsSpan(8, (int)n).ToArray(), file.LongLength - 8 - n);
        }
        catch (SafetensorsFormatException e)
        {
            throw new ConversionException(ConversionErrorKind.InvalidFormat, $"{source} is not a valid safetensors file: {e.Message}", e);
        }

        if (!header.Metadata.TryGetValue(QuantizationDocument.MetadataKey, out string? quantJson))
        {
            throw new ConversionException(ConversionErrorKind.WrongForm, $"{source} is not a quantized MobileOne (no '{QuantizationDocument.MetadataKey}' metadata); quantize it with mobileone quantize.");
        }

        if (!header.Metadata.TryGetValue(FusedNetwork.ArchitectureMetadataKey, out string? archJson))
        {
            throw new ConversionException(ConversionErrorKind.NotMobileOne, $"{source} has no '{FusedNetwork.ArchitectureMetadataKey}' metadata; a quantized file must carry its architecture.");
        }

        var errors = new List<ArchitectureJsonError>();
        ArchitectureDocument? doc = Model.ArchitectureJson.Read(archJson, errors);
        if (doc == null || errors.Count > 0 || !doc.IsComplete)
        {
            string why = errors.Count > 0 ? errors[0].ToString() ?? "invalid" : "incomplete";
            throw new ConversionException(ConversionErrorKind.NotMobileOne, $"{source}: the architecture metadata is not valid: {why}.");
        }

        NetworkShape shape = new NetworkShape(doc.InputChannels!.Value, doc.InputHeight!.Value, doc.InputWidth!.Value, doc.StemChannels!.Value, doc.StageChannels!, doc.StageBlocks!, doc.SeBlocks!, doc.NumClasses!.Value);
        if (shape.StructureError() is string structure)
        {
            throw new ConversionException(ConversionErrorKind.NotMobileOne, $"{source}: {structure}.");
        }

        QuantizationDocument? q = QuantizationScheme.Read(quantJson, out string? qError);
        if (q == null || QuantizationScheme.Check(q, shape) is string)
        {
            throw new ConversionException(ConversionErrorKind.InvalidFormat, $"{source}: '{QuantizationDocument.MetadataKey}' is not valid: {qError ?? QuantizationScheme.Check(q!, shape)}.");
        }

        var byName = header.Tensors.ToDictionary(t => t.Name, StringComparer.Ordinal);
        var expected = QuantizationScheme.Tensors(shape);
        foreach (QuantizedTensorShape t in expected)
        {
            if (!byName.TryGetValue(t.Name, out SafetensorsTensor? found))
            {
                throw new ConversionException(ConversionErrorKind.NotMobileOne, $"{source} has no tensor '{t.Name}' ({t.DType} {TensorShape.Format(t.Shape)}).");
            }

            if (found.DType != t.DType || !found.Shape.Select(d => (int)d).SequenceEqual(t.Shape))
            {
                throw new ConversionException(ConversionErrorKind.NotMobileOne, $"Tensor '{t.Name}' in {source} is {found.DType} {found.ShapeText}; a quantized MobileOne needs {t.DType} {TensorShape.Format(t.Shape)}.");
            }
        }

        if (header.Tensors.FirstOrDefault(t => !expected.Any(e => e.Name == t.Name)) is SafetensorsTensor extra)
        {
            throw new ConversionException(ConversionErrorKind.NotMobileOne, $"{source} has tensor '{extra.Name}', which is not part of the quantized MobileOne it describes.");
        }

        ReadOnlySpan<byte> Bytes(string name)
        {
            SafetensorsTensor t = byName[name];
            return file.AsSpan((int)(header.DataOffset + t.Begin), (int)(t.End - t.Begin));
        }

        var layers = new List<QuantizedLayer>();
        foreach (LayerShape l in shape.Layers())
        {
            string w = l.Name + ".reparam_conv.weight";
            layers.Add(new QuantizedLayer(
                l.Name, (ConvLayerKind)l.Type, l.WeightShape,
                MemoryMarshal.Cast<byte, sbyte>(Bytes(w)).ToArray(),
                Floats(Bytes(l.Name + QuantizationScheme.WeightScaleSuffix)),
                Ints(Bytes(l.Name + ".reparam_conv.bias")),
                q.ScaleOf(l.Name)));
        }

        var floats = expected.Where(t => t.DType == "F32" && !t.Name.EndsWith(QuantizationScheme.WeightScaleSuffix, StringComparison.Ordinal))
            .ToDictionary(t => t.Name, t => Floats(Bytes(t.Name)), StringComparer.Ordinal);
        var architecture = NetworkArchitecture.FromShape(shape);
        try
        {
            return new QuantizedNetwork(architecture, archJson, q.InputScale, layers, floats, q.Method, q.Percentile, q.CalibrationImages);
        }
        catch (ArgumentException e)
        {
            throw new ConversionException(ConversionErrorKind.InvalidFormat, $"{source}: {e.Message}", e);
        }
    }

    private QuantizationDocument Document()
    {
        var doc = new QuantizationDocument { Method = Method, Percentile = Percentile, CalibrationImages = CalibrationImages, InputScale = InputScale };
        foreach (QuantizedLayer l in Layers)
        {
            doc.ActivationScales.Add(new KeyValuePair<string, float>(l.Name, l.OutputScale));
        }

        return doc;
    }

    private string? Validate()
    {
        NetworkShape shape = Architecture.ToShape();
        IReadOnlyList<LayerShape> expected = shape.Layers();
        if (Layers.Count != expected.Count)
        {
            return $"Expected {expected.Count} layers, got {Layers.Count}.";
        }

        for (int i = 0; i < expected.Count; i++)
        {
            LayerShape e = expected[i];
            QuantizedLayer l = Layers[i];
            if (l.Name != e.Name || !l.WeightShape.SequenceEqual(e.WeightShape) || l.Weight.LongLength != Tensor.ElementCountOf(e.WeightShape)
                || l.WeightScale.Length != e.OutChannels || l.Bias.Length != e.OutChannels)
            {
                return $"Layer {i} should be '{e.Name}' with weight {TensorShape.Format(e.WeightShape)}, {e.OutChannels} scales and {e.OutChannels} biases.";
            }

            int badScale = Array.FindIndex(l.WeightScale, s => !(s > 0 && float.IsFinite(s)));
            if (badScale >= 0)
            {
                return $"The weight scale of output channel {badScale} of '{l.Name}' is {l.WeightScale[badScale].ToString("R", CultureInfo.InvariantCulture)}; scales must be positive and finite.";
            }

            if (QuantizationScheme.FindOutOfRange(l.Weight) is int at && at >= 0)
            {
                return $"Weight {at} of '{l.Name}' is -128; int8 weights are symmetric, in [-127, 127].";
            }

            if (e.Type == LayerType.Pointwise && QuantizationScheme.FindPairOverflow(l.Weight, e.OutChannels, e.InChannels) is (int oc, int pair) && oc >= 0)
            {
                return $"Output channel {oc} of '{l.Name}' has input channels {2 * pair} and {(2 * pair) + 1} whose same-sign weights sum beyond ±{QuantizationScheme.MaxPairSum} (docs/quantization.md, \"Pairs\").";
            }
        }

        var doc = Document();
        if (QuantizationScheme.Check(doc, shape) is string error)
        {
            return error + ".";
        }

        foreach (QuantizedTensorShape t in QuantizationScheme.Tensors(shape).Where(t => t.DType == "F32" && !t.Name.EndsWith(QuantizationScheme.WeightScaleSuffix, StringComparison.Ordinal)))
        {
            if (!_floatTensors.TryGetValue(t.Name, out float[]? v) || v.LongLength != t.ElementCount)
            {
                return $"Float tensor '{t.Name}' is missing or does not have {t.ElementCount} values.";
            }
        }

        return null;
    }

    private static byte[] LittleEndian(float[] values) => MemoryMarshal.AsBytes(values.AsSpan()).ToArray();

    private static byte[] LittleEndian(int[] values) => MemoryMarshal.AsBytes(values.AsSpan()).ToArray();

    private static float[] Floats(ReadOnlySpan<byte> bytes) => MemoryMarshal.Cast<byte, float>(bytes).ToArray();

    private static int[] Ints(ReadOnlySpan<byte> bytes) => MemoryMarshal.Cast<byte, int>(bytes).ToArray();
}
