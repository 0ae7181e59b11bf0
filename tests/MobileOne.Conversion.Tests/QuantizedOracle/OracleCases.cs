using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Linq;
using Google.Protobuf;
using Microsoft.ML.OnnxRuntime;
using MobileOne.Conversion.Quantization;
using MobileOne.TestSupport;
using Onnx;
using Xunit;

namespace MobileOne.Conversion.Tests.QuantizedOracle;

/// <summary>
/// A quantized network for the oracle tests: TestSupport's random fused weights (realistic, unit-scale activations)
/// quantized by <see cref="Int8TestQuantizer"/> with ranges from 3 calibration inputs, and 2 other inputs to run.
/// </summary>
public sealed class OracleCase
{
    public OracleCase(string name, MobileOneArchitecture architecture, int seed)
    {
        Name = name;
        Architecture = architecture;
        Weights = FusedWeights.Random(architecture, seed);
        float[][] calibration = Enumerable.Range(0, 3).Select(i => TestData.RandomInput(architecture, seed + 100 + i)).ToArray();
        Network = Int8TestQuantizer.Quantize(architecture, Weights, calibration);
        Reference = new Int8Reference(Network);
        // The second input is twice as large as the calibration inputs: its quantized values reach the ±127 clamp and
        // many activations the 255 clamp.
        Inputs = new[] { TestData.RandomInput(architecture, seed + 1), TestData.RandomInput(architecture, seed + 2).Select(v => 2 * v).ToArray() };
    }

    public string Name { get; }

    public MobileOneArchitecture Architecture { get; }

    public FusedWeights Weights { get; }

    public QuantizedNetwork Network { get; }

    public Int8Reference Reference { get; }

    public float[][] Inputs { get; }

    public override string ToString() => Name;
}

public static class OracleCases
{
    private static readonly ConcurrentDictionary<string, Lazy<OracleCase>> Cache = new();

    /// <summary>The five presets at a small input (64x64, S4 with its SE blocks) and a custom network.</summary>
    public static TheoryData<string> All => new() { "s0", "s1", "s2", "s3", "s4", "custom" };

    public static MobileOneArchitecture Architecture(string name)
    {
        if (name == "custom")
        {
            // Odd widths (odd pointwise inputs pair with the zero padding), a non-square input, SE in stages 3 and 4
            // (R = 3 and 4), 10 classes.
            return new MobileOneArchitecture(3, 37, 45, 13, new[] { 21, 35, 50, 70 }, new[] { 1, 2, 2, 1 }, new[] { 0, 0, 1, 1 }, 10);
        }

        MobileOneArchitecture p = MobileOneArchitecture.Preset(name);
        return p with { InputHeight = 64, InputWidth = 64 };
    }

    public static OracleCase Get(string name) =>
        Cache.GetOrAdd(name, n => new Lazy<OracleCase>(() => new OracleCase(n, Architecture(n), 4000 + TestData.StableSeed(n)))).Value;
}

/// <summary>One ONNX Runtime run of a QDQ model with every layer's uint8 output (QuantizeLinear) and the pooled vector.</summary>
public sealed record QdqRunResult(sbyte[] Input, IReadOnlyDictionary<string, byte[]> Layers, float[] Pooled, float[] Logits);

/// <summary>
/// <see cref="QdqOnnxExport"/>'s model of a network in an ONNX Runtime session (one thread) with the quantized input
/// (int8), each layer's QuantizeLinear output (uint8) and the pooled vector added as graph outputs. At ORT_ENABLE_ALL
/// the DequantizeLinear → Conv → QuantizeLinear groups still fuse into QLinearConv (whose output is the Q output).
/// </summary>
public sealed class QdqOrt : IDisposable
{
    private readonly InferenceSession _session;
    private readonly QuantizedNetwork _network;
    private readonly string[] _layers;

    public QdqOrt(QuantizedNetwork network, GraphOptimizationLevel level = GraphOptimizationLevel.ORT_ENABLE_ALL, QdqOptions? options = null)
    {
        _network = network;
        ModelProto model = QdqOnnxExport.BuildModel(network, symbolicBatch: false, options: options);
        _layers = network.Layers.Select(l => l.Name).ToArray();
        foreach (string l in _layers)
        {
            model.Graph.Output.Add(Value(QdqOnnxExport.QuantizedOutput(l), TensorProto.Types.DataType.Uint8));
        }

        model.Graph.Output.Add(Value(QdqOnnxExport.PooledName, TensorProto.Types.DataType.Float));
        model.Graph.Output.Add(Value(QdqOnnxExport.QuantizedInputName, TensorProto.Types.DataType.Int8));
        _session = Session(model.ToByteArray(), level);
    }

    /// <summary>Runs one CHW input.</summary>
    public QdqRunResult Run(float[] inputChw)
    {
        NetworkArchitecture a = _network.Architecture;
        using OrtValue input = OrtValue.CreateTensorValueFromMemory(inputChw, new long[] { 1, a.InputChannels, a.InputHeight, a.InputWidth });
        string[] names = _layers.Select(QdqOnnxExport.QuantizedOutput).Append(QdqOnnxExport.PooledName).Append(QdqOnnxExport.OutputName).Append(QdqOnnxExport.QuantizedInputName).ToArray();
        using var runOptions = new RunOptions();
        using IDisposableReadOnlyCollection<OrtValue> outputs = _session.Run(runOptions, new[] { QdqOnnxExport.InputName }, new[] { input }, names);
        var bytes = new Dictionary<string, byte[]>(StringComparer.Ordinal);
        for (int i = 0; i < _layers.Length; i++)
        {
            bytes[_layers[i]] = outputs[i].GetTensorDataAsSpan<byte>().ToArray();
        }

        int n = _layers.Length;
        return new QdqRunResult(outputs[n + 2].GetTensorDataAsSpan<sbyte>().ToArray(), bytes, outputs[n].GetTensorDataAsSpan<float>().ToArray(), outputs[n + 1].GetTensorDataAsSpan<float>().ToArray());
    }

    /// <inheritdoc/>
    public void Dispose() => _session.Dispose();

    /// <summary>A one-thread session; with <paramref name="optimizedModelPath"/> ORT writes the graph it runs there.</summary>
    public static InferenceSession Session(byte[] model, GraphOptimizationLevel level, string? optimizedModelPath = null, int threads = 1)
    {
        using var options = new SessionOptions
        {
            GraphOptimizationLevel = level,
            IntraOpNumThreads = threads,
            InterOpNumThreads = 1,
            ExecutionMode = ExecutionMode.ORT_SEQUENTIAL,
        };
        if (optimizedModelPath != null)
        {
            options.OptimizedModelFilePath = optimizedModelPath;
        }

        return new InferenceSession(model, options);
    }

    /// <summary>The op types of the graph ORT runs (its optimized model), with their counts.</summary>
    public static Dictionary<string, int> OptimizedOps(byte[] model, GraphOptimizationLevel level, string path)
    {
        using (Session(model, level, path))
        {
        }

        ModelProto optimized = ModelProto.Parser.ParseFrom(System.IO.File.ReadAllBytes(path));
        return optimized.Graph.Node.GroupBy(n => n.OpType).ToDictionary(g => g.Key, g => g.Count(), StringComparer.Ordinal);
    }

    private static ValueInfoProto Value(string name, TensorProto.Types.DataType type) => new()
    {
        Name = name,
        Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = (int)type } },
    };
}
