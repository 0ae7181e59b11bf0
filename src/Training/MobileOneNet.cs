using System;
using System.Collections.Generic;
using System.Linq;

namespace MobileOne.Training;

/// <summary>
/// The train-time MobileOne: blocks (<see cref="MobileOneBlock"/>), global average pool, linear, softmax
/// cross-entropy. Input: <c>batch</c> CHW images back to back (normalised), as the generated classes take them.
/// </summary>
public sealed unsafe class MobileOneNet
{
    private readonly List<Parameter> _parameters = new();
    private readonly FloatBuffer _input = new(), _lastGrad = new();
    private float[] _features = Array.Empty<float>(), _logits = Array.Empty<float>(), _probs = Array.Empty<float>();
    private int _batch;

    /// <summary>Builds the net with random weights from <paramref name="seed"/>.</summary>
    public MobileOneNet(TrainingArchitecture architecture, int seed = 1)
    {
        Architecture = architecture;
        var random = new Random(seed);
        Blocks = architecture.Blocks().Select(b => new MobileOneBlock(b, random)).ToArray();
        foreach (MobileOneBlock b in Blocks)
        {
            _parameters.AddRange(b.Parameters);
        }

        int f = architecture.FeatureChannels;
        LinearWeight = new Parameter("linear.weight", new[] { architecture.NumClasses, f }, decay: true);
        LinearBias = new Parameter("linear.bias", new[] { architecture.NumClasses }, decay: false);
        LinearWeight.InitHeNormal(random, f, 0.5f);
        _parameters.Add(LinearWeight);
        _parameters.Add(LinearBias);
    }

    /// <summary>The architecture.</summary>
    public TrainingArchitecture Architecture { get; }

    /// <summary>The blocks, stem first.</summary>
    public IReadOnlyList<MobileOneBlock> Blocks { get; }

    /// <summary><c>linear.weight</c> [classes, features].</summary>
    public Parameter LinearWeight { get; }

    /// <summary><c>linear.bias</c>.</summary>
    public Parameter LinearBias { get; }

    /// <summary>All learnable parameters.</summary>
    public IReadOnlyList<Parameter> Parameters => _parameters;

    /// <summary>Every BN in the net.</summary>
    public IEnumerable<BatchNorm> BatchNorms => Blocks.SelectMany(b => b.BatchNorms);

    /// <summary>Number of learnable floats.</summary>
    public long ParameterCount => _parameters.Sum(p => (long)p.Length);

    /// <summary>Logits of the last forward, <c>batch x classes</c>.</summary>
    public ReadOnlySpan<float> Logits => _logits.AsSpan(0, _batch * Architecture.NumClasses);

    /// <summary>Forward pass on <paramref name="batch"/> images; returns the logits.</summary>
    public ReadOnlySpan<float> Forward(ReadOnlySpan<float> inputs, int batch, bool training)
    {
        TrainingArchitecture a = Architecture;
        if (inputs.Length < (long)batch * a.InputLength)
        {
            throw new ArgumentException($"Expected {batch} x {a.InputLength} floats.", nameof(inputs));
        }

        _batch = batch;
        long n = (long)batch * a.InputLength;
        _input.Ensure(n);
        inputs[..(int)n].CopyTo(_input.AsSpan(n));
        FloatBuffer x = _input;
        foreach (MobileOneBlock b in Blocks)
        {
            x = b.Forward(x, batch, training);
        }

        BlockInfo last = Blocks[^1].Info;
        int pixels = last.OutHeight * last.OutWidth, c = last.OutChannels, k = a.NumClasses;
        if (_features.Length < batch * c)
        {
            _features = new float[batch * c];
        }

        if (_logits.Length < batch * k)
        {
            _logits = new float[batch * k];
            _probs = new float[batch * k];
        }

        float* o = x.Ptr;
        float[] w = LinearWeight.Value, bias = LinearBias.Value;
        for (int i = 0; i < batch; i++)
        {
            Span<float> f = _features.AsSpan(i * c, c);
            f.Clear();
            for (int p = 0; p < pixels; p++)
            {
                for (int ch = 0; ch < c; ch++)
                {
                    f[ch] += o[(((long)i * pixels) + p) * c + ch];
                }
            }

            for (int ch = 0; ch < c; ch++)
            {
                f[ch] /= pixels;
            }

            for (int j = 0; j < k; j++)
            {
                float s = bias[j];
                for (int ch = 0; ch < c; ch++)
                {
                    s += w[(j * c) + ch] * f[ch];
                }

                _logits[(i * k) + j] = s;
            }
        }

        return Logits;
    }

    /// <summary>Mean softmax cross-entropy of the last forward's logits against <paramref name="labels"/>; counts correct top-1.</summary>
    public double Loss(ReadOnlySpan<byte> labels, out int correct)
    {
        int k = Architecture.NumClasses;
        double loss = 0;
        correct = 0;
        for (int i = 0; i < _batch; i++)
        {
            ReadOnlySpan<float> z = _logits.AsSpan(i * k, k);
            float max = float.NegativeInfinity;
            int arg = 0;
            for (int j = 0; j < k; j++)
            {
                if (z[j] > max)
                {
                    max = z[j];
                    arg = j;
                }
            }

            double sum = 0;
            for (int j = 0; j < k; j++)
            {
                sum += Math.Exp(z[j] - max);
            }

            for (int j = 0; j < k; j++)
            {
                _probs[(i * k) + j] = (float)(Math.Exp(z[j] - max) / sum);
            }

            loss += Math.Log(sum) + max - z[labels[i]];
            correct += arg == labels[i] ? 1 : 0;
        }

        return loss / _batch;
    }

    /// <summary>Backward of <see cref="Loss"/> after a training forward; adds to every parameter's gradient.</summary>
    public void Backward(ReadOnlySpan<byte> labels)
    {
        int k = Architecture.NumClasses;
        var dLogits = new float[_batch * k];
        for (int i = 0; i < _batch; i++)
        {
            for (int j = 0; j < k; j++)
            {
                dLogits[(i * k) + j] = (_probs[(i * k) + j] - (j == labels[i] ? 1f : 0f)) / _batch;
            }
        }

        BackwardFromLogits(dLogits);
    }

    /// <summary>Backward from a given gradient of the logits (<c>batch x classes</c>).</summary>
    public void BackwardFromLogits(ReadOnlySpan<float> dLogits)
    {
        BlockInfo last = Blocks[^1].Info;
        int pixels = last.OutHeight * last.OutWidth, c = last.OutChannels, k = Architecture.NumClasses;
        float[] w = LinearWeight.Value, gw = LinearWeight.Grad, gb = LinearBias.Grad;
        long n = (long)_batch * pixels * c;
        _lastGrad.Ensure(n);
        float* g = _lastGrad.Ptr;
        var dFeature = new float[c];
        for (int i = 0; i < _batch; i++)
        {
            Array.Clear(dFeature);
            for (int j = 0; j < k; j++)
            {
                float d = dLogits[(i * k) + j];
                gb[j] += d;
                for (int ch = 0; ch < c; ch++)
                {
                    gw[(j * c) + ch] += d * _features[(i * c) + ch];
                    dFeature[ch] += d * w[(j * c) + ch];
                }
            }

            for (int p = 0; p < pixels; p++)
            {
                for (int ch = 0; ch < c; ch++)
                {
                    g[(((long)i * pixels) + p) * c + ch] = dFeature[ch] / pixels;
                }
            }
        }

        FloatBuffer grad = _lastGrad;
        for (int b = Blocks.Count - 1; b >= 0; b--)
        {
            Blocks[b].Backward(grad);
            grad = Blocks[b].InputGrad;
        }
    }

    /// <summary>Zeroes every gradient.</summary>
    public void ZeroGrad()
    {
        foreach (Parameter p in _parameters)
        {
            Array.Clear(p.Grad);
        }
    }

    /// <summary>Every tensor of the train-time state dict (Apple unfused names, docs/mobileone.md, "Tensor names"), in network order.</summary>
    public IEnumerable<(string Name, int[] Shape, float[] Values)> StateTensors()
    {
        foreach (MobileOneBlock b in Blocks)
        {
            for (int j = 0; j < b.ConvWeights.Length; j++)
            {
                yield return Tensor(b.ConvWeights[j]);
                foreach (var t in BnTensors(b.ConvBns[j]))
                {
                    yield return t;
                }
            }

            if (b.ScaleWeight != null)
            {
                yield return Tensor(b.ScaleWeight);
                foreach (var t in BnTensors(b.ScaleBn!))
                {
                    yield return t;
                }
            }

            if (b.SkipBn != null)
            {
                foreach (var t in BnTensors(b.SkipBn))
                {
                    yield return t;
                }
            }

            if (b.Se != null)
            {
                yield return Tensor(b.Se.ReduceWeight);
                yield return Tensor(b.Se.ReduceBias);
                yield return Tensor(b.Se.ExpandWeight);
                yield return Tensor(b.Se.ExpandBias);
            }
        }

        yield return Tensor(LinearWeight);
        yield return Tensor(LinearBias);

        static (string, int[], float[]) Tensor(Parameter p) => (p.Name, p.Shape, p.Value);

        static IEnumerable<(string, int[], float[])> BnTensors(BatchNorm bn)
        {
            int[] shape = { bn.Channels };
            yield return (bn.Weight.Name, shape, bn.Weight.Value);
            yield return (bn.Bias.Name, shape, bn.Bias.Value);
            yield return (bn.Prefix + ".running_mean", shape, bn.RunningMean);
            yield return (bn.Prefix + ".running_var", shape, bn.RunningVar);
        }
    }

    /// <summary>Loads a state dict produced by <see cref="StateTensors"/> (same names and shapes; extra keys such as <c>num_batches_tracked</c> are ignored).</summary>
    public void LoadState(IReadOnlyDictionary<string, float[]> tensors)
    {
        foreach (var (name, _, values) in StateTensors())
        {
            if (!tensors.TryGetValue(name, out float[]? src))
            {
                throw new ArgumentException($"The state dict has no '{name}'.");
            }

            if (src.Length != values.Length)
            {
                throw new ArgumentException($"'{name}' has {src.Length} values, expected {values.Length}.");
            }

            src.CopyTo(values, 0);
        }
    }

    /// <summary>Eval-mode top-1 predictions of <paramref name="count"/> images, in batches.</summary>
    public int[] Predict(ReadOnlySpan<float> inputs, int count, int batchSize = 250)
    {
        var predictions = new int[count];
        int len = Architecture.InputLength, k = Architecture.NumClasses;
        for (int start = 0; start < count; start += batchSize)
        {
            int n = Math.Min(batchSize, count - start);
            ReadOnlySpan<float> logits = Forward(inputs.Slice(start * len, n * len), n, training: false);
            for (int i = 0; i < n; i++)
            {
                ReadOnlySpan<float> z = logits.Slice(i * k, k);
                int arg = 0;
                for (int j = 1; j < k; j++)
                {
                    if (z[j] > z[arg])
                    {
                        arg = j;
                    }
                }

                predictions[start + i] = arg;
            }
        }

        return predictions;
    }
}
