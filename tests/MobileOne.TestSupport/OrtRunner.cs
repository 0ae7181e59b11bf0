using System;
using System.Collections.Generic;
using System.Linq;
using Microsoft.ML.OnnxRuntime;

namespace MobileOne.TestSupport;

/// <summary>Runs an ONNX model with one float input [N, C, H, W] and one float output [N, K] on the CPU provider.</summary>
public sealed class OrtRunner : IDisposable
{
    private readonly InferenceSession _session;
    private readonly string _inputName;
    private readonly string _outputName;
    private readonly int[] _inputDims; // C, H, W
    private readonly bool _symbolicBatch;

    /// <summary>Creates a session for <paramref name="modelBytes"/>.</summary>
    /// <param name="optimizationLevel">ORT graph optimisation level (default: all, as ORT itself).</param>
    /// <param name="intraOpThreads">Intra-op thread count (default 1; 0 = ORT's choice).</param>
    public OrtRunner(byte[] modelBytes, GraphOptimizationLevel optimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL,
        int intraOpThreads = 1)
    {
        ArgumentNullException.ThrowIfNull(modelBytes);
        using var options = new SessionOptions
        {
            GraphOptimizationLevel = optimizationLevel,
            IntraOpNumThreads = intraOpThreads,
            InterOpNumThreads = 1,
            ExecutionMode = ExecutionMode.ORT_SEQUENTIAL,
        };
        _session = new InferenceSession(modelBytes, options);
        KeyValuePair<string, NodeMetadata> input = _session.InputMetadata.Single();
        _inputName = input.Key;
        _outputName = _session.OutputMetadata.Single().Key;
        int[] dims = input.Value.Dimensions;
        if (dims.Length != 4)
        {
            throw new ArgumentException($"Expected a 4-D input, got [{string.Join(",", dims)}].");
        }

        _symbolicBatch = dims[0] < 0;
        _inputDims = dims[1..];
    }

    /// <summary>Builds the model with <see cref="OnnxGraph.Build"/> and opens it.</summary>
    public static OrtRunner Create(MobileOneArchitecture arch, FusedWeights weights,
        GraphOptimizationLevel optimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL, int intraOpThreads = 1)
        => new(OnnxGraph.Build(arch, weights), optimizationLevel, intraOpThreads);

    /// <summary>The underlying session (for benchmarks that want to drive it directly).</summary>
    public InferenceSession Session => _session;

    /// <summary>Floats of one CHW input.</summary>
    public int InputLength => _inputDims[0] * _inputDims[1] * _inputDims[2];

    /// <summary>Logits for one CHW input.</summary>
    public float[] Run(float[] inputChw) => RunBatch(inputChw, 1);

    /// <summary>Logits [batch, K] for <paramref name="batch"/> CHW inputs stacked as NCHW.</summary>
    public float[] RunBatch(float[] inputNchw, int batch)
    {
        ArgumentNullException.ThrowIfNull(inputNchw);
        if (batch < 1 || inputNchw.Length != batch * InputLength)
        {
            throw new ArgumentException($"Input has {inputNchw.Length} floats, expected {batch} x {InputLength}.");
        }

        if (batch != 1 && !_symbolicBatch)
        {
            throw new ArgumentException("The model has a fixed batch of 1.");
        }

        long[] shape = { batch, _inputDims[0], _inputDims[1], _inputDims[2] };
        using OrtValue input = OrtValue.CreateTensorValueFromMemory(inputNchw, shape);
        using var runOptions = new RunOptions();
        using IDisposableReadOnlyCollection<OrtValue> outputs =
            _session.Run(runOptions, new[] { _inputName }, new[] { input }, new[] { _outputName });
        return outputs[0].GetTensorDataAsSpan<float>().ToArray();
    }

    /// <inheritdoc/>
    public void Dispose() => _session.Dispose();
}
