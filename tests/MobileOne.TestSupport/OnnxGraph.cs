using System;
using System.Collections.Generic;
using System.IO;
using MobileOne.Conversion;
using Onnx;

namespace MobileOne.TestSupport;

/// <summary>
/// Builds a fused MobileOne as an ONNX model (IR 8, opset 17): input <c>input</c> [N, C, H, W] float, output
/// <c>logits</c> [N, classes] float, weights as initializers under their Apple names. A thin wrapper over
/// <see cref="OnnxExport"/> (src/Conversion), the one ONNX writer shared by the <c>mobileone</c> tool, the tests and the benchmarks.
/// </summary>
public static class OnnxGraph
{
    /// <summary>Opset of the default domain.</summary>
    public const int Opset = OnnxExport.Opset;

    /// <summary>Name of the graph input.</summary>
    public const string InputName = OnnxExport.InputName;

    /// <summary>Name of the graph output.</summary>
    public const string OutputName = OnnxExport.OutputName;

    /// <summary>Serialized ModelProto. With <paramref name="symbolicBatch"/> the batch dimension is the parameter "N", else 1.</summary>
    public static byte[] Build(MobileOneArchitecture arch, FusedWeights weights, bool symbolicBatch = true)
        => OnnxExport.Build(ToNetwork(arch, weights), symbolicBatch, "MobileOne.TestSupport");

    /// <summary>Writes <see cref="Build"/> to <paramref name="path"/>.</summary>
    public static void Save(string path, MobileOneArchitecture arch, FusedWeights weights, bool symbolicBatch = true)
        => File.WriteAllBytes(path, Build(arch, weights, symbolicBatch));

    /// <summary>The model as an <c>Onnx.ModelProto</c> (OnnxSharp's generated protobuf classes).</summary>
    public static ModelProto BuildModel(MobileOneArchitecture arch, FusedWeights weights, bool symbolicBatch = true)
        => OnnxExport.BuildModel(ToNetwork(arch, weights), symbolicBatch, "MobileOne.TestSupport");

    /// <summary>The weights as a <see cref="FusedNetwork"/> (arrays shared, not copied).</summary>
    public static FusedNetwork ToNetwork(MobileOneArchitecture arch, FusedWeights weights)
    {
        ArgumentNullException.ThrowIfNull(arch);
        ArgumentNullException.ThrowIfNull(weights);
        if (!weights.Architecture.Equals(arch))
        {
            throw new ArgumentException($"Weights are for {weights.Architecture}, not {arch}.", nameof(weights));
        }

        var tensors = new Dictionary<string, float[]>(StringComparer.Ordinal);
        foreach ((string name, _, float[] values) in weights.Tensors())
        {
            tensors[name] = values;
        }

        return new FusedNetwork(arch.ToConversion(), tensors);
    }
}
