using System;
using System.Collections.Generic;
using System.Linq;

namespace MobileOne.TestSupport;

/// <summary>
/// The tensors of a fused MobileOne, keyed by canonical (Apple) name, in <see cref="TensorCatalog.ExpectedTensors"/>
/// order. The arrays are returned by reference (mutate them to build odd cases).
/// </summary>
public sealed class FusedWeights
{
    private readonly Dictionary<string, float[]> _data = new(StringComparer.Ordinal);
    private readonly Dictionary<string, int[]> _shapes = new(StringComparer.Ordinal);
    private readonly List<string> _names = new();

    /// <summary>All-zero weights for <paramref name="arch"/>.</summary>
    public FusedWeights(MobileOneArchitecture arch)
    {
        ArgumentNullException.ThrowIfNull(arch);
        Architecture = arch;
        foreach (TensorInfo t in TensorCatalog.ExpectedTensors(arch, TensorNaming.Apple))
        {
            _names.Add(t.Name);
            _shapes[t.Name] = t.Shape;
            _data[t.Name] = new float[t.ElementCount];
        }
    }

    /// <summary>The architecture the tensors belong to.</summary>
    public MobileOneArchitecture Architecture { get; }

    /// <summary>Canonical names in file order.</summary>
    public IReadOnlyList<string> Names => _names;

    /// <summary>Number of tensors.</summary>
    public int Count => _names.Count;

    /// <summary>Total number of floats (= <see cref="MobileOneArchitecture.ParameterCount"/>).</summary>
    public long ParameterCount => _data.Values.Sum(a => (long)a.Length);

    /// <summary>Values of tensor <paramref name="name"/> (canonical Apple name), row-major.</summary>
    public float[] this[string name] => _data.TryGetValue(name, out float[]? v)
        ? v
        : throw new KeyNotFoundException($"No tensor named '{name}' in {Architecture}.");

    /// <summary>Shape of tensor <paramref name="name"/>.</summary>
    public int[] Shape(string name) => (int[])_shapes[name].Clone();

    /// <summary>Whether the tensor exists.</summary>
    public bool Contains(string name) => _data.ContainsKey(name);

    /// <summary>Replaces the values of a tensor (length must match its shape).</summary>
    public void Set(string name, float[] values)
    {
        ArgumentNullException.ThrowIfNull(values);
        if (values.Length != this[name].Length)
        {
            throw new ArgumentException($"{name}: {values.Length} values, expected {this[name].Length}.");
        }

        _data[name] = values;
    }

    /// <summary>(name, shape, values) in file order.</summary>
    public IEnumerable<(string Name, int[] Shape, float[] Values)> Tensors()
    {
        foreach (string n in _names)
        {
            yield return (n, _shapes[n], _data[n]);
        }
    }

    /// <summary>Deep copy.</summary>
    public FusedWeights Clone()
    {
        var c = new FusedWeights(Architecture);
        foreach (string n in _names)
        {
            c._data[n] = (float[])_data[n].Clone();
        }

        return c;
    }

    /// <summary>
    /// The values a reader gets back after storing these weights as <paramref name="dtype"/> ("F32", "F16", "BF16")
    /// and widening to float (see <see cref="SafetensorsWriter.RoundTo"/>).
    /// </summary>
    public FusedWeights RoundedTo(string dtype)
    {
        var c = new FusedWeights(Architecture);
        foreach (string n in _names)
        {
            float[] src = _data[n], dst = c._data[n];
            for (int i = 0; i < src.Length; i++)
            {
                dst[i] = SafetensorsWriter.RoundTo(src[i], dtype);
            }
        }
        return c;
    }

    /// <summary>Target mean of each SE expand output (pre-sigmoid) after calibration: gates ≈ sigmoid(1.5 ± 1).</summary>
    public const double SeGateCenter = 1.5;

    /// <summary>Std of the per-channel offsets β_c added to each conv's calibrated pre-activation.</summary>
    public const double ChannelMeanStd = 0.25;

    /// <summary>
    /// Fraction of each channel's probe mean removed by the calibration. 0 keeps He's behaviour (well conditioned,
    /// but two random inputs end up with nearly the same logits in a 43-layer net); 1 is BatchNorm-like full centering,
    /// which drives random nets chaotic (a 1e-6 relative input change moves S1's logits by ~2x the test tolerance).
    /// 0.1 keeps float errors ~1% of the tolerance and the two-input spread ≥ ~600x it.
    /// </summary>
    public const double MeanRemoval = 0.1;

    /// <summary>
    /// Deterministic weights that do not depend on libm: uniform in ±sqrt(3 / fan-in) from a seeded
    /// <see cref="System.Random"/> (whose seeded sequence is fixed across platforms), biases uniform in ±0.05.
    /// </summary>
    public static FusedWeights Uniform(MobileOneArchitecture arch, int seed)
    {
        var weights = new FusedWeights(arch);
        var rng = new System.Random(seed);
        foreach (var (_, shape, values) in weights.Tensors())
        {
            long fanIn = 1;
            for (int i = 1; i < shape.Length; i++)
            {
                fanIn *= shape[i];
            }

            double scale = shape.Length == 1 ? 0.05 : Math.Sqrt(3.0 / fanIn);
            for (int i = 0; i < values.Length; i++)
            {
                values[i] = (float)(((rng.NextDouble() * 2) - 1) * scale);
            }
        }

        return weights;
    }

    /// <summary>
    /// Deterministic random weights of a realistic scale whose output still depends on the input at every depth,
    /// while float rounding errors stay far below the comparison tolerance.
    /// <para>
    /// 1. He init: conv/linear weights N(0, 2/fan_in), biases N(0, 0.05²); SE reduce N(0, 2/C), expand N(0, 2/R).
    /// </para><para>
    /// 2. Calibration layer by layer with the double reference on seeded N(0,1) probe inputs (one probe, or more when
    /// the last feature map has fewer than 49 pixels): for each conv, m_c = channel mean of its output over the
    /// probes; s = RMS over the whole layer of (z − <see cref="MeanRemoval"/>·m_c); the layer becomes
    /// W_c / s, (b_c − 0.1·m_c) / s + β_c with β_c ~ N(0, 0.25²), i.e. its pre-activation has RMS ≈ 1.
    /// Each SE expand layer gets one affine map so its pre-sigmoid values over the probes have mean
    /// <see cref="SeGateCenter"/> and unit std (gates mostly 0.6–0.95, varying per channel; without this, S4's 12
    /// gates shrink the signal by orders of magnitude). The linear head keeps its He init.
    /// </para>
    /// </summary>
    public static FusedWeights Random(MobileOneArchitecture arch, int seed)
    {
        ArgumentNullException.ThrowIfNull(arch);
        var w = new FusedWeights(arch);
        var rng = new Random(seed);
        IReadOnlyList<LayerInfo> layers = arch.Layers();

        // 1. He-style init.
        foreach (LayerInfo l in layers)
        {
            int fanIn = l.InChannels / l.Groups * l.KernelSize * l.KernelSize;
            Fill(w[l.Name + ".reparam_conv.weight"], rng, Math.Sqrt(2.0 / fanIn));
            Fill(w[l.Name + ".reparam_conv.bias"], rng, 0.05);
            if (l.HasSe)
            {
                Fill(w[l.Name + ".se.reduce.weight"], rng, Math.Sqrt(2.0 / l.OutChannels));
                Fill(w[l.Name + ".se.reduce.bias"], rng, 0.05);
                Fill(w[l.Name + ".se.expand.weight"], rng, Math.Sqrt(2.0 / l.SeReducedChannels));
                Fill(w[l.Name + ".se.expand.bias"], rng, 0.05);
            }
        }
        Fill(w["linear.weight"], rng, Math.Sqrt(2.0 / arch.FeatureChannels));
        Fill(w["linear.bias"], rng, 0.05);

        // 2. Calibration on probe inputs.
        LayerInfo last = layers[^1];
        int finalPixels = last.OutHeight * last.OutWidth;
        int probes = Math.Clamp((49 + finalPixels - 1) / finalPixels, 1, 16);
        var xs = new double[probes][];
        for (int p = 0; p < probes; p++)
        {
            float[] input = TestData.RandomInput(arch, unchecked(seed * 31 + 0x51ED + p));
            xs[p] = Array.ConvertAll(input, v => (double)v);
        }
        foreach (LayerInfo l in layers)
        {
            float[] cw = w[l.Name + ".reparam_conv.weight"], cb = w[l.Name + ".reparam_conv.bias"];
            int pixels = l.OutHeight * l.OutWidth, cout = l.OutChannels;
            double n = (double)probes * pixels;
            var zs = new double[probes][];
            for (int p = 0; p < probes; p++)
            {
                zs[p] = DoubleReference.Conv(xs[p], l.InChannels, l.InHeight, l.InWidth, cw, cb, cout,
                    l.KernelSize, l.Stride, l.Groups, out _, out _);
            }

            // Remove a fraction of each channel's probe mean, then one scale for the whole layer.
            var shift = new double[cout];
            double sumSq = 0;
            for (int c = 0; c < cout; c++)
            {
                double sum = 0;
                foreach (double[] z in zs)
                {
                    for (int i = c * pixels; i < (c + 1) * pixels; i++)
                    {
                        sum += z[i];
                    }
                }

                shift[c] = MeanRemoval * sum / n;
                foreach (double[] z in zs)
                {
                    for (int i = c * pixels; i < (c + 1) * pixels; i++)
                    {
                        sumSq += (z[i] - shift[c]) * (z[i] - shift[c]);
                    }
                }
            }
            double scale = Math.Sqrt(sumSq / (n * cout));
            if (!(scale > 1e-12))
            {
                scale = 1;
            }

            int weightsPerChannel = cw.Length / cout;
            for (int c = 0; c < cout; c++)
            {
                double beta = ChannelMeanStd * TestData.NextGaussian(rng);
                for (int i = c * weightsPerChannel; i < (c + 1) * weightsPerChannel; i++)
                {
                    cw[i] = (float)(cw[i] / scale);
                }

                cb[c] = (float)((cb[c] - shift[c]) / scale + beta);
                foreach (double[] z in zs)
                {
                    for (int i = c * pixels; i < (c + 1) * pixels; i++)
                    {
                        z[i] = (z[i] - shift[c]) / scale + beta;
                    }
                }
            }

            if (l.HasSe)
            {
                string se = l.Name + ".se.";
                float[] rw = w[se + "reduce.weight"], rb = w[se + "reduce.bias"];
                float[] ew = w[se + "expand.weight"], eb = w[se + "expand.bias"];
                var pre = new List<double>();
                foreach (double[] z in zs)
                {
                    DoubleReference.SeGate(z, cout, pixels, l.SeReducedChannels, rw, rb, ew, eb, out double[] e);
                    pre.AddRange(e);
                }
                double m = pre.Average();
                double sd = Math.Sqrt(pre.Select(v => (v - m) * (v - m)).Average());
                if (!(sd > 1e-3))
                {
                    sd = 1e-3;
                }

                for (int i = 0; i < ew.Length; i++)
                {
                    ew[i] = (float)(ew[i] / sd);
                }

                for (int c = 0; c < cout; c++)
                {
                    eb[c] = (float)((eb[c] - m) / sd + SeGateCenter);
                }

                foreach (double[] z in zs)
                {
                    DoubleReference.SqueezeExcite(z, cout, pixels, l.SeReducedChannels, rw, rb, ew, eb);
                }
            }
            foreach (double[] z in zs)
            {
                DoubleReference.Relu(z);
            }

            xs = zs;
        }
        return w;
    }

    private static void Fill(float[] a, Random rng, double std)
    {
        for (int i = 0; i < a.Length; i++)
        {
            a[i] = (float)(std * TestData.NextGaussian(rng));
        }
    }
}
