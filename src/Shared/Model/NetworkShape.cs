// The one description of a MobileOne in this repository (docs/mobileone.md): presets, the layer walk, the tensors of
// the fused and the train-time network, counts and limits. Compiled into every assembly that needs it (the
// generator, the runtime, the conversion library), the way dotnet/runtime links its Regex parser into its generator.
using System;
using System.Collections.Generic;
using System.Globalization;
using System.Text;

namespace MobileOne.Model;

/// <summary>Kind of a MobileOne conv layer.</summary>
internal enum LayerType
{
    /// <summary><c>stage0</c>: full 3x3 conv, stride 2, pad 1, groups 1.</summary>
    Stem,

    /// <summary>Even index of a stage: 3x3 depthwise, pad 1, stride 2 for the first pair of a stage, else 1.</summary>
    Depthwise,

    /// <summary>Odd index of a stage: 1x1 conv, stride 1, groups 1.</summary>
    Pointwise,
}

/// <summary>A tensor's (Apple) name and shape.</summary>
internal readonly struct TensorShape
{
    public TensorShape(string name, int[] shape)
    {
        Name = name;
        Shape = shape;
    }

    public string Name { get; }

    public int[] Shape { get; }

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

    public static string Format(IReadOnlyList<int> shape)
    {
        var sb = new StringBuilder("[");
        for (int i = 0; i < shape.Count; i++)
        {
            sb.Append(i == 0 ? string.Empty : ", ").Append(shape[i].ToString(CultureInfo.InvariantCulture));
        }

        return sb.Append(']').ToString();
    }
}

/// <summary>One MobileOne block: a conv (fused, or k conv-BN branches + scale + skip at train time), optional SE, ReLU.</summary>
internal sealed class LayerShape : IEquatable<LayerShape>
{
    public LayerShape(string name, LayerType type, int inChannels, int outChannels, int stride, int inHeight, int inWidth, int outHeight, int outWidth, int seReduced)
    {
        Name = name;
        Type = type;
        InChannels = inChannels;
        OutChannels = outChannels;
        Stride = stride;
        InHeight = inHeight;
        InWidth = inWidth;
        OutHeight = outHeight;
        OutWidth = outWidth;
        SeReduced = seReduced;
    }

    /// <summary>Apple's prefix: <c>stage0</c>, <c>stage2.5</c>, …</summary>
    public string Name { get; }

    public LayerType Type { get; }

    public int InChannels { get; }

    public int OutChannels { get; }

    public int Stride { get; }

    public int InHeight { get; }

    public int InWidth { get; }

    public int OutHeight { get; }

    public int OutWidth { get; }

    /// <summary>SE hidden width, 0 without SE.</summary>
    public int SeReduced { get; }

    public bool HasSe => SeReduced > 0;

    /// <summary>3 for the stem and depthwise layers, 1 for pointwise.</summary>
    public int KernelSize => Type == LayerType.Pointwise ? 1 : 3;

    /// <summary>Conv groups: the channel count for depthwise, else 1.</summary>
    public int Groups => Type == LayerType.Depthwise ? InChannels : 1;

    /// <summary>Symmetric zero padding: 1 for 3x3, 0 for 1x1.</summary>
    public int Padding => KernelSize / 2;

    /// <summary>OIHW shape of the conv weight.</summary>
    public int[] WeightShape => new[] { OutChannels, InChannels / Groups, KernelSize, KernelSize };

    /// <summary>The train-time block has the 1x1 scale branch (<c>rbr_scale</c>) iff its kernel is larger than 1x1.</summary>
    public bool HasScaleBranch => KernelSize > 1;

    /// <summary>The train-time block has the BN-only skip (<c>rbr_skip</c>) iff Cin = Cout and stride 1.</summary>
    public bool HasSkipBranch => InChannels == OutChannels && Stride == 1;

    public int OutPixels => OutHeight * OutWidth;

    /// <summary>Fused conv weight + bias, plus SE weights and biases.</summary>
    public long ParameterCount =>
        ((long)OutChannels * (InChannels / Groups) * KernelSize * KernelSize) + OutChannels
        + (HasSe ? (2L * SeReduced * OutChannels) + SeReduced + OutChannels : 0);

    /// <summary>Cout·(Cin/g)·k²·Hout·Wout, plus the SE 1x1 convs on the pooled vector.</summary>
    public long Macs =>
        ((long)OutChannels * (InChannels / Groups) * KernelSize * KernelSize * OutHeight * OutWidth)
        + (HasSe ? 2L * SeReduced * OutChannels : 0);

    /// <summary><c>conv3x3/2</c>, <c>dwconv3x3/1</c>, <c>conv1x1</c>.</summary>
    public string Operation => Type switch
    {
        LayerType.Stem => "conv3x3/" + Stride.ToString(CultureInfo.InvariantCulture),
        LayerType.Depthwise => "dwconv3x3/" + Stride.ToString(CultureInfo.InvariantCulture),
        _ => "conv1x1",
    };

    /// <summary>A C# identifier for the layer: <c>stage2.5</c> → <c>Stage2_5</c>.</summary>
    public string Identifier => "S" + Name.Substring(1).Replace('.', '_');

    public bool Equals(LayerShape? other) =>
        other != null && Name == other.Name && Type == other.Type && InChannels == other.InChannels && OutChannels == other.OutChannels
        && Stride == other.Stride && InHeight == other.InHeight && InWidth == other.InWidth && OutHeight == other.OutHeight
        && OutWidth == other.OutWidth && SeReduced == other.SeReduced;

    public override bool Equals(object? obj) => Equals(obj as LayerShape);

    public override int GetHashCode()
    {
        unchecked
        {
            int h = Name.GetHashCode();
            foreach (int v in new[] { (int)Type, InChannels, OutChannels, Stride, InHeight, InWidth, OutHeight, OutWidth, SeReduced })
            {
                h = (h * 31) + v;
            }

            return h;
        }
    }
}

/// <summary>
/// A MobileOne's structure: stem (<c>stage0</c>), four stages of (depthwise 3x3, pointwise 1x1) pairs, global average
/// pool, linear. Arrays are indexed by stage 1..4 → [0..3]. Immutable and equatable.
/// </summary>
internal sealed class NetworkShape : IEquatable<NetworkShape>
{
    public const int Stages = 4;
    public const int MinInputSize = 32;
    public const int MaxInputSize = 8192;
    public const int MaxChannels = 65536;
    public const int MaxBlocks = 1024;
    public const int MaxClasses = 1_000_000;
    public const int DefaultInputSize = 224;

    private readonly int[] _stageChannels;
    private readonly int[] _stageBlocks;
    private readonly int[] _seBlocks;
    private readonly Dictionary<string, int> _seReduced;
    private IReadOnlyList<LayerShape>? _layers;

    /// <summary>A structure; <paramref name="seReduced"/> holds SE hidden widths by layer name where they differ from <see cref="DefaultSeReduced"/> (timm's can).</summary>
    public NetworkShape(int inputChannels, int inputHeight, int inputWidth, int stemChannels, int[] stageChannels, int[] stageBlocks, int[] seBlocks, int numClasses, IReadOnlyDictionary<string, int>? seReduced = null)
    {
        InputChannels = inputChannels;
        InputHeight = inputHeight;
        InputWidth = inputWidth;
        StemChannels = stemChannels;
        _stageChannels = (int[])stageChannels.Clone();
        _stageBlocks = (int[])stageBlocks.Clone();
        _seBlocks = (int[])seBlocks.Clone();
        NumClasses = numClasses;
        _seReduced = new Dictionary<string, int>(StringComparer.Ordinal);
        if (seReduced != null)
        {
            foreach (KeyValuePair<string, int> kv in seReduced)
            {
                _seReduced[kv.Key] = kv.Value;
            }
        }
    }

    public int InputChannels { get; }

    public int InputHeight { get; }

    public int InputWidth { get; }

    public int StemChannels { get; }

    public IReadOnlyList<int> StageChannels => _stageChannels;

    public IReadOnlyList<int> StageBlocks => _stageBlocks;

    public IReadOnlyList<int> SeBlocks => _seBlocks;

    public int NumClasses { get; }

    /// <summary>SE widths that differ from the default, by layer name.</summary>
    public IReadOnlyDictionary<string, int> SeReducedOverrides => _seReduced;

    /// <summary>In-features of the classifier: the last stage's width.</summary>
    public int FeatureChannels => _stageChannels[Stages - 1];

    /// <summary>Floats in one CHW input image.</summary>
    public long InputLength => (long)InputChannels * InputHeight * InputWidth;

    /// <summary>Apple's default SE width: <c>int(C * 0.0625)</c>, at least 1.</summary>
    public static int DefaultSeReduced(int channels) => Math.Max(1, channels / 16);

    /// <summary>Output size of a 3x3, pad 1 conv.</summary>
    public static int OutSize(int size, int stride) => ((size + 2 - 3) / stride) + 1;

    /// <summary>The same structure at another input size.</summary>
    public NetworkShape WithInputSize(int height, int width) =>
        new NetworkShape(InputChannels, height, width, StemChannels, _stageChannels, _stageBlocks, _seBlocks, NumClasses, _seReduced);

    /// <summary>The same structure with another class count.</summary>
    public NetworkShape WithNumClasses(int numClasses) =>
        new NetworkShape(InputChannels, InputHeight, InputWidth, StemChannels, _stageChannels, _stageBlocks, _seBlocks, numClasses, _seReduced);

    /// <summary>The first thing that makes this structure unbuildable, or null. The limits are the generator's.</summary>
    public string? ValidationError() => Check(generatorLimits: true);

    /// <summary>
    /// The first thing that makes the layer walk impossible, or null: sizes below 1, stage arrays without 4 entries, more SE
    /// blocks than blocks. Unlike <see cref="ValidationError"/> it has no upper limits and no 32-pixel minimum input: the
    /// numerical references and the training tests run nets smaller than the generator builds.
    /// </summary>
    public string? StructureError() => Check(generatorLimits: false);

    private string? Check(bool generatorLimits)
    {
        int maxChannels = generatorLimits ? MaxChannels : int.MaxValue;
        if (InputChannels < 1 || InputChannels > maxChannels)
        {
            return Range("inputChannels", InputChannels, 1, maxChannels);
        }

        if (generatorLimits && (InputHeight < MinInputSize || InputHeight > MaxInputSize || InputWidth < MinInputSize || InputWidth > MaxInputSize))
        {
            return string.Format(CultureInfo.InvariantCulture, "the input size {0}x{1} is outside {2}..{3} (five stride-2 layers need at least {2} pixels a side)", InputHeight, InputWidth, MinInputSize, MaxInputSize);
        }

        if (InputHeight < 1 || InputWidth < 1)
        {
            return string.Format(CultureInfo.InvariantCulture, "the input size {0}x{1} is not positive", InputHeight, InputWidth);
        }

        if (StemChannels < 1 || StemChannels > maxChannels)
        {
            return Range("stemChannels", StemChannels, 1, maxChannels);
        }

        if (_stageChannels.Length != Stages || _stageBlocks.Length != Stages || _seBlocks.Length != Stages)
        {
            return "stageChannels, stageBlocks and seBlocks must have 4 entries each";
        }

        int maxBlocks = generatorLimits ? MaxBlocks : int.MaxValue;
        for (int s = 0; s < Stages; s++)
        {
            string stage = " of stage " + (s + 1).ToString(CultureInfo.InvariantCulture);
            if (_stageChannels[s] < 1 || _stageChannels[s] > maxChannels)
            {
                return Range("the width" + stage, _stageChannels[s], 1, maxChannels);
            }

            if (_stageBlocks[s] < 1 || _stageBlocks[s] > maxBlocks)
            {
                return Range("the block count" + stage, _stageBlocks[s], 1, maxBlocks);
            }

            if (_seBlocks[s] < 0 || _seBlocks[s] > _stageBlocks[s])
            {
                return Range("the SE block count" + stage, _seBlocks[s], 0, _stageBlocks[s]);
            }
        }

        int maxClasses = generatorLimits ? MaxClasses : int.MaxValue;
        if (NumClasses < 1 || NumClasses > maxClasses)
        {
            return Range("numClasses", NumClasses, 1, maxClasses);
        }

        foreach (KeyValuePair<string, int> kv in _seReduced)
        {
            if (kv.Value < 1 || kv.Value > maxChannels)
            {
                return Range("the SE width of " + kv.Key, kv.Value, 1, maxChannels);
            }
        }

        return null;

        static string Range(string what, int value, int min, int max) => max == int.MaxValue
            ? string.Format(CultureInfo.InvariantCulture, "{0} is {1}, less than {2}", what, value, min)
            : string.Format(CultureInfo.InvariantCulture, "{0} is {1}, outside {2}..{3}", what, value, min, max);
    }

    /// <summary>
    /// Every conv layer in execution order: stage0, stage1.0, stage1.1, … The walk needs only a walkable structure
    /// (<see cref="StructureError"/>); whether the generator can build it is <see cref="ValidationError"/>'s question.
    /// </summary>
    /// <exception cref="ArgumentException">The structure cannot be walked (<see cref="StructureError"/>).</exception>
    public IReadOnlyList<LayerShape> Layers() => _layers ??= Walk();

    /// <summary>Fused parameters: convs, SE, linear.</summary>
    public long ParameterCount
    {
        get
        {
            long n = ((long)NumClasses * FeatureChannels) + NumClasses;
            foreach (LayerShape l in Layers())
            {
                n += l.ParameterCount;
            }

            return n;
        }
    }

    /// <summary>Multiply-accumulates of the convs, SE convs and linear (no pooling adds), batch 1.</summary>
    public long Macs
    {
        get
        {
            long n = (long)NumClasses * FeatureChannels;
            foreach (LayerShape l in Layers())
            {
                n += l.Macs;
            }

            return n;
        }
    }

    /// <summary>"s0".."s4" when the structure (not the input size or class count) is a published variant's, else "custom".</summary>
    public string Variant => Presets.Detect(this);

    /// <summary>
    /// The fused tensors in file order (Apple names): per layer <c>reparam_conv.weight/bias</c> (+ <c>se.reduce/expand.weight/bias</c>),
    /// then <c>linear.weight/bias</c>.
    /// </summary>
    public IReadOnlyList<TensorShape> FusedTensors()
    {
        var list = new List<TensorShape>();
        foreach (LayerShape l in Layers())
        {
            list.Add(new TensorShape(l.Name + ".reparam_conv.weight", l.WeightShape));
            list.Add(new TensorShape(l.Name + ".reparam_conv.bias", new[] { l.OutChannels }));
            AddSe(list, l);
        }

        AddLinear(list);
        return list;
    }

    /// <summary>
    /// The train-time tensors: per layer k conv-BN branches (<c>rbr_conv.J.conv.weight</c>, <c>rbr_conv.J.bn.*</c>), the scale
    /// branch (<c>rbr_scale.*</c>) for 3x3 kernels, the BN-only skip (<c>rbr_skip.*</c>) when Cin = Cout and stride 1, SE,
    /// then linear. <paramref name="convBranches"/> gives k per layer name (Apple's stem has 1).
    /// </summary>
    public IReadOnlyList<TensorShape> TrainTimeTensors(Func<string, int> convBranches)
    {
        var list = new List<TensorShape>();
        foreach (LayerShape l in Layers())
        {
            int c = l.OutChannels;
            int k = convBranches(l.Name);
            for (int j = 0; j < k; j++)
            {
                string p = l.Name + ".rbr_conv." + j.ToString(CultureInfo.InvariantCulture) + ".";
                list.Add(new TensorShape(p + "conv.weight", l.WeightShape));
                AddBatchNorm(list, p + "bn.", c);
            }

            if (l.HasScaleBranch)
            {
                list.Add(new TensorShape(l.Name + ".rbr_scale.conv.weight", new[] { c, l.InChannels / l.Groups, 1, 1 }));
                AddBatchNorm(list, l.Name + ".rbr_scale.bn.", c);
            }

            if (l.HasSkipBranch)
            {
                AddBatchNorm(list, l.Name + ".rbr_skip.", c);
            }

            AddSe(list, l);
        }

        AddLinear(list);
        return list;

        static void AddBatchNorm(List<TensorShape> list, string prefix, int c)
        {
            foreach (string n in new[] { "weight", "bias", "running_mean", "running_var" })
            {
                list.Add(new TensorShape(prefix + n, new[] { c }));
            }
        }
    }

    public bool Equals(NetworkShape? other)
    {
        if (other == null || InputChannels != other.InputChannels || InputHeight != other.InputHeight || InputWidth != other.InputWidth
            || StemChannels != other.StemChannels || NumClasses != other.NumClasses
            || !SameInts(_stageChannels, other._stageChannels) || !SameInts(_stageBlocks, other._stageBlocks) || !SameInts(_seBlocks, other._seBlocks))
        {
            return false;
        }

        // SE widths are equal when every layer has the same effective width (an override equal to the default counts as none).
        if (_seReduced.Count == 0 && other._seReduced.Count == 0)
        {
            return true;
        }

        if (StructureError() != null || other.StructureError() != null)
        {
            return false;
        }

        IReadOnlyList<LayerShape> a = Layers(), b = other.Layers();
        for (int i = 0; i < a.Count; i++)
        {
            if (a[i].SeReduced != b[i].SeReduced)
            {
                return false;
            }
        }

        return true;
    }

    public override bool Equals(object? obj) => Equals(obj as NetworkShape);

    public override int GetHashCode()
    {
        unchecked
        {
            int h = (InputChannels * 31) + InputHeight;
            h = (h * 31) + InputWidth;
            h = (h * 31) + StemChannels;
            h = (h * 31) + NumClasses;
            for (int s = 0; s < _stageChannels.Length; s++)
            {
                h = (h * 31) + _stageChannels[s];
                h = (h * 31) + (s < _stageBlocks.Length ? _stageBlocks[s] : 0);
                h = (h * 31) + (s < _seBlocks.Length ? _seBlocks[s] : 0);
            }

            return h;
        }
    }

    public override string ToString() => string.Format(
        CultureInfo.InvariantCulture,
        "MobileOne(in {0}x{1}x{2}, stem {3}, stages [{4}], blocks [{5}], se [{6}], {7} classes)",
        InputChannels, InputHeight, InputWidth, StemChannels, Join(_stageChannels), Join(_stageBlocks), Join(_seBlocks), NumClasses);

    internal static string Join(IReadOnlyList<int> values)
    {
        var sb = new StringBuilder();
        for (int i = 0; i < values.Count; i++)
        {
            sb.Append(i == 0 ? string.Empty : ",").Append(values[i].ToString(CultureInfo.InvariantCulture));
        }

        return sb.ToString();
    }

    /// <summary>Element-wise equality of two int lists (shapes, stage lists).</summary>
    internal static bool SameInts(IReadOnlyList<int> a, IReadOnlyList<int> b)
    {
        if (a.Count != b.Count)
        {
            return false;
        }

        for (int i = 0; i < a.Count; i++)
        {
            if (a[i] != b[i])
            {
                return false;
            }
        }

        return true;
    }

    private static void AddSe(List<TensorShape> list, LayerShape l)
    {
        if (l.HasSe)
        {
            int c = l.OutChannels, r = l.SeReduced;
            list.Add(new TensorShape(l.Name + ".se.reduce.weight", new[] { r, c, 1, 1 }));
            list.Add(new TensorShape(l.Name + ".se.reduce.bias", new[] { r }));
            list.Add(new TensorShape(l.Name + ".se.expand.weight", new[] { c, r, 1, 1 }));
            list.Add(new TensorShape(l.Name + ".se.expand.bias", new[] { c }));
        }
    }

    private void AddLinear(List<TensorShape> list)
    {
        list.Add(new TensorShape("linear.weight", new[] { NumClasses, FeatureChannels }));
        list.Add(new TensorShape("linear.bias", new[] { NumClasses }));
    }

    private IReadOnlyList<LayerShape> Walk()
    {
        string? error = StructureError();
        if (error != null)
        {
            throw new ArgumentException("Not a buildable MobileOne: " + error + ": " + ToString());
        }

        int blocksTotal = 0;
        foreach (int b in _stageBlocks)
        {
            blocksTotal += b;
        }

        var layers = new List<LayerShape>(1 + (2 * blocksTotal));
        int h = InputHeight, w = InputWidth;
        int ho = OutSize(h, 2), wo = OutSize(w, 2);
        layers.Add(new LayerShape("stage0", LayerType.Stem, InputChannels, StemChannels, 2, h, w, ho, wo, 0));
        h = ho;
        w = wo;
        int c = StemChannels;
        for (int s = 0; s < Stages; s++)
        {
            int n = _stageBlocks[s], planes = _stageChannels[s];
            string stage = "stage" + (s + 1).ToString(CultureInfo.InvariantCulture) + ".";
            for (int ix = 0; ix < n; ix++)
            {
                int stride = ix == 0 ? 2 : 1;
                bool se = ix >= n - _seBlocks[s];
                ho = OutSize(h, stride);
                wo = OutSize(w, stride);
                string dw = stage + (2 * ix).ToString(CultureInfo.InvariantCulture);
                string pw = stage + ((2 * ix) + 1).ToString(CultureInfo.InvariantCulture);
                layers.Add(new LayerShape(dw, LayerType.Depthwise, c, c, stride, h, w, ho, wo, se ? SeWidth(dw, c) : 0));
                layers.Add(new LayerShape(pw, LayerType.Pointwise, c, planes, 1, ho, wo, ho, wo, se ? SeWidth(pw, planes) : 0));
                c = planes;
                h = ho;
                w = wo;
            }
        }

        return layers;
    }

    private int SeWidth(string layer, int channels) => _seReduced.TryGetValue(layer, out int r) ? r : DefaultSeReduced(channels);
}
