using System;
using System.Collections.Generic;
using System.Linq;
using Google.Protobuf;
using Microsoft.ML.OnnxRuntime;
using MobileOne.TestSupport;
using Onnx;

namespace MobileOne.TestSupport.Tests;

/// <summary>
/// Intermediate tensors of the <see cref="OnnxGraph"/> model as ONNX Runtime computes them: the named node outputs are
/// added as extra graph outputs (ORT must then compute and return them as they are) and the model is run on one input.
/// An independent check of <see cref="DoubleReference"/>'s per-layer outputs, not only of its logits.
/// </summary>
internal static class OnnxNodeOutputs
{
    /// <summary>Output of layer <paramref name="layerName"/> in the graph: its final Relu (after SE, if any).</summary>
    public static string LayerOutput(string layerName) => layerName + ".relu";

    /// <summary>Output of the head's global average pool.</summary>
    public const string Pooled = "gap";

    /// <summary>
    /// Runs the model of <paramref name="arch"/> / <paramref name="weights"/> on one CHW input and returns the values of
    /// <paramref name="nodeOutputs"/> (NCHW with N = 1, so the same order as CHW) plus the logits.
    /// </summary>
    public static Dictionary<string, float[]> Run(MobileOneArchitecture arch, FusedWeights weights, float[] inputChw, IEnumerable<string> nodeOutputs)
    {
        ModelProto model = OnnxGraph.BuildModel(arch, weights, symbolicBatch: false);
        var names = nodeOutputs.Distinct().ToList();
        var produced = new HashSet<string>(model.Graph.Node.SelectMany(n => n.Output), StringComparer.Ordinal);
        foreach (string n in names)
        {
            if (!produced.Contains(n))
            {
                throw new ArgumentException($"No node of the exported graph produces '{n}'.", nameof(nodeOutputs));
            }

            model.Graph.Output.Add(new ValueInfoProto
            {
                Name = n,
                Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = (int)TensorProto.Types.DataType.Float } },
            });
        }

        using var options = new SessionOptions
        {
            GraphOptimizationLevel = GraphOptimizationLevel.ORT_DISABLE_ALL,
            IntraOpNumThreads = 1,
            InterOpNumThreads = 1,
        };
        using var session = new InferenceSession(model.ToByteArray(), options);
        using OrtValue input = OrtValue.CreateTensorValueFromMemory(inputChw, new long[] { 1, arch.InputChannels, arch.InputHeight, arch.InputWidth });
        string[] outputNames = names.Append(OnnxGraph.OutputName).ToArray();
        using var runOptions = new RunOptions();
        using IDisposableReadOnlyCollection<OrtValue> outputs = session.Run(runOptions, new[] { OnnxGraph.InputName }, new[] { input }, outputNames);
        var result = new Dictionary<string, float[]>(StringComparer.Ordinal);
        for (int i = 0; i < outputNames.Length; i++)
        {
            result[outputNames[i]] = outputs[i].GetTensorDataAsSpan<float>().ToArray();
        }

        return result;
    }
}
