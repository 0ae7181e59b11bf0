using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Text;
using MobileOne.Formats;

namespace MobileOne.Conversion;

/// <summary>Fused (<c>reparam_conv</c>, inference) or train-time (<c>rbr_conv</c>/<c>rbr_scale</c>/<c>rbr_skip</c>) checkpoint.</summary>
public enum CheckpointForm
{
    /// <summary>One conv with bias per layer: what the generator compiles.</summary>
    Fused,

    /// <summary>k conv-BN branches, a 1x1 conv-BN scale branch and a BN skip per layer: fold with <c>mobileone fuse</c>.</summary>
    TrainTime,
}

/// <summary>Which convention the tensor names follow.</summary>
public enum NamingConvention
{
    /// <summary>Apple ml-mobileone: <c>stage0.</c>, <c>stage1.0.</c>, <c>rbr_conv</c>, <c>se.reduce</c>, <c>linear</c>.</summary>
    Apple,

    /// <summary>timm ByobNet: <c>stem.</c>, <c>stages.0.0.</c>, <c>conv_kxk</c>, <c>attn.fc1</c>, <c>head.fc</c>.</summary>
    Timm,
}

/// <summary>
/// A state dict recognised as a MobileOne: its naming, form, architecture (inferred from the tensor shapes) and, for a
/// train-time checkpoint, the number of conv branches of every layer. Every tensor was checked against the list the
/// architecture implies: nothing missing, nothing unknown, every shape right.
/// </summary>
public sealed class MobileOneCheckpoint
{
    private static readonly string[] BnParts = { "weight", "bias", "running_mean", "running_var" };
    private readonly Dictionary<string, Tensor> _canonical;

    private MobileOneCheckpoint(StateDict stateDict, Dictionary<string, Tensor> canonical, NamingConvention naming, CheckpointForm form,
        NetworkArchitecture architecture, IReadOnlyDictionary<string, int> branches)
    {
        StateDict = stateDict;
        _canonical = canonical;
        Naming = naming;
        Form = form;
        Architecture = architecture;
        ConvBranches = branches;
    }

    /// <summary>The tensors as read.</summary>
    public StateDict StateDict { get; }

    /// <summary>Apple's or timm's names.</summary>
    public NamingConvention Naming { get; }

    /// <summary>Fused or train-time.</summary>
    public CheckpointForm Form { get; }

    /// <summary>The structure implied by the tensor shapes (input size as given to <see cref="Analyze"/>).</summary>
    public NetworkArchitecture Architecture { get; }

    /// <summary>Train-time: number of conv branches k per layer (Apple name). Fused: empty.</summary>
    public IReadOnlyDictionary<string, int> ConvBranches { get; }

    /// <summary>Train-time: the largest k of the stage layers (S0: 4, S1–S4: 1); fused: 0.</summary>
    public int NumConvBranches => ConvBranches.Count == 0 ? 0 : ConvBranches.Where(kv => kv.Key != "stage0").Select(kv => kv.Value).DefaultIfEmpty(1).Max();

    /// <summary>The tensor with canonical (Apple) name <paramref name="name"/>.</summary>
    public Tensor this[string name] => _canonical.TryGetValue(name, out Tensor? t) ? t : throw new KeyNotFoundException($"No tensor '{name}'.");

    /// <summary>Whether a tensor with canonical name <paramref name="name"/> exists.</summary>
    public bool Contains(string name) => _canonical.ContainsKey(name);

    /// <summary>Learnable parameters in the file (convs, BN weight and bias, SE, linear; not BN running statistics).</summary>
    public long LearnableParameters => _canonical.Where(kv => !kv.Key.EndsWith(".running_mean", StringComparison.Ordinal)
        && !kv.Key.EndsWith(".running_var", StringComparison.Ordinal) && !kv.Key.EndsWith(".num_batches_tracked", StringComparison.Ordinal)).Sum(kv => kv.Value.ElementCount);

    /// <summary>Names of the file's tensors by canonical name (the file's own spelling).</summary>
    public string FileName(string canonical) => _canonical.TryGetValue(canonical, out Tensor? t) ? t.Name : TensorNames.FromCanonical(canonical, ToShared(Naming));

    /// <summary>
    /// Recognises a MobileOne in <paramref name="stateDict"/>. The input size cannot be read from weights; it defaults to 224x224.
    /// </summary>
    /// <exception cref="ConversionException">Not a MobileOne, or missing/unknown tensors or wrong shapes (all listed by name).</exception>
    public static MobileOneCheckpoint Analyze(StateDict stateDict, int inputHeight = 224, int inputWidth = 224)
    {
        ArgumentNullException.ThrowIfNull(stateDict);
        string source = stateDict.Source;
        if (stateDict.Count == 0)
        {
            throw new ConversionException(ConversionErrorKind.NotMobileOne, $"{source} is not a MobileOne checkpoint: it holds no tensors.");
        }

        // 1. Names.
        var canonical = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        var unknown = new List<Tensor>();
        bool apple = false, timm = false;
        foreach (Tensor t in stateDict.Tensors)
        {
            string c = TensorNames.ToCanonical(t.Name, out TensorNaming n);
            if (n == TensorNaming.Unknown)
            {
                unknown.Add(t);
                continue;
            }

            apple |= n == TensorNaming.Apple;
            timm |= n == TensorNaming.Timm;
            if (!canonical.TryAdd(c, t))
            {
                throw new ConversionException(ConversionErrorKind.NotMobileOne, $"{source} has two names for tensor '{c}': '{canonical[c].Name}' and '{t.Name}'.");
            }
        }

        if (canonical.Count == 0)
        {
            throw new ConversionException(ConversionErrorKind.NotMobileOne,
                $"{source} is not a MobileOne checkpoint: none of its {stateDict.Count} tensors has a MobileOne name (Apple's stage0./stageN./linear. or timm's stem./stages./head.fc.); the first is '{stateDict.Tensors[0].Name}' {stateDict.Tensors[0].ShapeText}.");
        }

        if (apple && timm)
        {
            throw new ConversionException(ConversionErrorKind.NotMobileOne, $"{source} mixes Apple's tensor names (stage0., linear.) with timm's (stem., stages., head.fc.).");
        }

        NamingConvention naming = timm ? NamingConvention.Timm : NamingConvention.Apple;

        // 2. Form.
        string? fusedExample = canonical.Keys.FirstOrDefault(k => k.Contains(".reparam_conv.", StringComparison.Ordinal));
        string? trainExample = canonical.Keys.FirstOrDefault(k => k.Contains(".rbr_", StringComparison.Ordinal));
        if (fusedExample != null && trainExample != null)
        {
            throw new ConversionException(ConversionErrorKind.NotMobileOne,
                $"{source} mixes fused tensors ('{canonical[fusedExample].Name}') with train-time ones ('{canonical[trainExample].Name}').");
        }

        CheckpointForm form = trainExample != null ? CheckpointForm.TrainTime : CheckpointForm.Fused;
        string Main(string layer) => form == CheckpointForm.Fused ? layer + ".reparam_conv.weight" : layer + ".rbr_conv.0.conv.weight";
        string Named(string c) => TensorNames.FromCanonical(c, ToShared(naming));

        // 3. Architecture from the shapes.
        if (!canonical.TryGetValue(Main("stage0"), out Tensor? stem))
        {
            throw new ConversionException(ConversionErrorKind.NotMobileOne,
                $"{source} is not a complete MobileOne checkpoint: it has no stem tensor '{Named(Main("stage0"))}'.");
        }

        if (stem.Shape.Length != 4 || stem.Shape[2] != 3 || stem.Shape[3] != 3)
        {
            throw new ConversionException(ConversionErrorKind.NotMobileOne, $"Tensor '{stem.Name}' in {source} has shape {stem.ShapeText}, but a MobileOne stem is [C, Cin, 3, 3].");
        }

        var stageChannels = new int[4];
        var stageBlocks = new int[4];
        var seBlocks = new int[4];
        var seWidths = new Dictionary<string, int>(StringComparer.Ordinal);
        for (int s = 1; s <= 4; s++)
        {
            string stagePrefix = $"stage{s}.";
            int maxIndex = -1;
            foreach (string k in canonical.Keys)
            {
                if (k.StartsWith(stagePrefix, StringComparison.Ordinal))
                {
                    int dot = k.IndexOf('.', stagePrefix.Length);
                    if (dot > 0 && int.TryParse(k.AsSpan(stagePrefix.Length, dot - stagePrefix.Length), NumberStyles.None, CultureInfo.InvariantCulture, out int ix) && ix < 100_000)
                    {
                        maxIndex = Math.Max(maxIndex, ix);
                    }
                }
            }

            if (maxIndex < 0)
            {
                stageBlocks[s - 1] = 1;
                stageChannels[s - 1] = 1;
                continue;
            }

            int n = maxIndex / 2 + 1;
            stageBlocks[s - 1] = n;
            int firstSe = -1;
            for (int ix = 0; ix < n; ix++)
            {
                foreach (string layer in new[] { $"stage{s}.{2 * ix}", $"stage{s}.{2 * ix + 1}" })
                {
                    if (canonical.TryGetValue(layer + ".se.reduce.weight", out Tensor? reduce))
                    {
                        firstSe = firstSe < 0 ? ix : firstSe;
                        if (reduce.Shape.Length == 4 && reduce.Shape[0] > 0)
                        {
                            seWidths[layer] = reduce.Shape[0];
                        }
                    }
                }
            }

            seBlocks[s - 1] = firstSe < 0 ? 0 : n - firstSe;
            int planes = 0;
            for (int ix = n - 1; ix >= 0 && planes == 0; ix--)
            {
                if (canonical.TryGetValue(Main($"stage{s}.{2 * ix + 1}"), out Tensor? pw) && pw.Shape.Length == 4 && pw.Shape[0] > 0)
                {
                    planes = pw.Shape[0];
                }
            }

            stageChannels[s - 1] = planes > 0 ? planes : 1;
        }

        int numClasses = canonical.TryGetValue("linear.bias", out Tensor? linearBias) && linearBias.Shape.Length == 1 && linearBias.Shape[0] > 0
            ? linearBias.Shape[0]
            : canonical.TryGetValue("linear.weight", out Tensor? linear) && linear.Shape.Length == 2 && linear.Shape[0] > 0 ? linear.Shape[0] : 1;
        if (stem.Shape[0] < 1 || stem.Shape[1] < 1)
        {
            throw new ConversionException(ConversionErrorKind.NotMobileOne, $"Tensor '{stem.Name}' in {source} has shape {stem.ShapeText}.");
        }

        var arch = new NetworkArchitecture(stem.Shape[1], inputHeight, inputWidth, stem.Shape[0], stageChannels, stageBlocks, seBlocks, numClasses)
        {
            SeReducedOverrides = seWidths,
        };

        // 4. Conv branches per layer (train-time).
        var branches = new Dictionary<string, int>(StringComparer.Ordinal);
        IReadOnlyList<ConvLayer> layers = arch.Layers();
        if (form == CheckpointForm.TrainTime)
        {
            foreach (ConvLayer l in layers)
            {
                int k = 0;
                string p = l.Name + ".rbr_conv.";
                foreach (string key in canonical.Keys)
                {
                    int dot = key.StartsWith(p, StringComparison.Ordinal) ? key.IndexOf('.', p.Length) : -1;
                    if (dot > p.Length && int.TryParse(key.AsSpan(p.Length, dot - p.Length), NumberStyles.None, CultureInfo.InvariantCulture, out int j) && j < 1000)
                    {
                        k = Math.Max(k, j + 1);
                    }
                }

                branches[l.Name] = Math.Max(k, 1);
            }
        }

        // 5. Every expected tensor present with its shape; nothing else.
        var expected = ExpectedTensors(arch, form, branches);
        var missing = new List<string>();
        var wrongShape = new List<string>();
        var expectedNames = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (name, shape) in expected)
        {
            expectedNames.Add(name);
            if (!canonical.TryGetValue(name, out Tensor? t))
            {
                missing.Add(Named(name) + " " + Tensor.FormatShape(shape));
            }
            else if (!t.Shape.SequenceEqual(shape))
            {
                wrongShape.Add($"'{t.Name}' is {t.ShapeText}, expected {Tensor.FormatShape(shape)}");
            }
            else if (!DTypes.IsFloat(t.DType))
            {
                wrongShape.Add($"'{t.Name}' has dtype {t.DType}, expected a floating-point type");
            }
        }

        var unexpected = unknown.Select(t => $"{t.Name} {t.ShapeText}").ToList();
        foreach (var (c, t) in canonical)
        {
            if (!expectedNames.Contains(c) && !(form == CheckpointForm.TrainTime && IsBatchCounter(c, expectedNames)))
            {
                unexpected.Add($"{t.Name} {t.ShapeText}");
            }
        }

        if (missing.Count + wrongShape.Count + unexpected.Count > 0)
        {
            var sb = new StringBuilder();
            sb.Append(CultureInfo.InvariantCulture, $"{source} does not match the {(form == CheckpointForm.Fused ? "fused" : "train-time")} MobileOne its tensors imply ({arch}, {naming} names):");
            AppendList(sb, "missing tensors", missing);
            AppendList(sb, "unexpected tensors", unexpected);
            AppendList(sb, "wrong shapes", wrongShape);
            throw new ConversionException(ConversionErrorKind.NotMobileOne, sb.ToString());
        }

        return new MobileOneCheckpoint(stateDict, canonical, naming, form, arch, branches);
    }

    /// <summary>The tensors (canonical names, shapes) a checkpoint of this architecture and form holds, in order.</summary>
    public static IReadOnlyList<(string Name, int[] Shape)> ExpectedTensors(NetworkArchitecture arch, CheckpointForm form, IReadOnlyDictionary<string, int>? convBranches = null)
    {
        ArgumentNullException.ThrowIfNull(arch);
        if (form == CheckpointForm.Fused)
        {
            return arch.FusedTensors();
        }

        var list = new List<(string, int[])>();
        foreach (ConvLayer l in arch.Layers())
        {
            int k = convBranches != null && convBranches.TryGetValue(l.Name, out int kk) ? kk : 1;
            int[] channel = { l.OutChannels };
            for (int j = 0; j < k; j++)
            {
                list.Add(($"{l.Name}.rbr_conv.{j}.conv.weight", l.WeightShape));
                AddBn(list, $"{l.Name}.rbr_conv.{j}.bn.", channel);
            }

            if (l.HasScaleBranch)
            {
                list.Add(($"{l.Name}.rbr_scale.conv.weight", new[] { l.OutChannels, l.InChannels / l.Groups, 1, 1 }));
                AddBn(list, $"{l.Name}.rbr_scale.bn.", channel);
            }

            if (l.HasSkipBranch)
            {
                AddBn(list, $"{l.Name}.rbr_skip.", new[] { l.InChannels });
            }

            NetworkArchitecture.AddSe(list, l);
        }

        list.Add(("linear.weight", new[] { arch.NumClasses, arch.FeatureChannels }));
        list.Add(("linear.bias", new[] { arch.NumClasses }));
        return list;
    }

    internal static TensorNaming ToShared(NamingConvention naming) => naming == NamingConvention.Timm ? TensorNaming.Timm : TensorNaming.Apple;

    /// <summary>Renames a canonical (Apple) name into <paramref name="naming"/>.</summary>
    public static string Rename(string canonical, NamingConvention naming) => TensorNames.FromCanonical(canonical, ToShared(naming));

    private static void AddBn(List<(string, int[])> list, string prefix, int[] channel)
    {
        foreach (string part in BnParts)
        {
            list.Add((prefix + part, channel));
        }
    }

    private static bool IsBatchCounter(string name, HashSet<string> expected) =>
        name.EndsWith(".num_batches_tracked", StringComparison.Ordinal)
        && expected.Contains(name[..^"num_batches_tracked".Length] + "running_mean");

    private static void AppendList(StringBuilder sb, string title, List<string> items)
    {
        if (items.Count == 0)
        {
            return;
        }

        sb.Append(CultureInfo.InvariantCulture, $"\n  {title} ({items.Count}):");
        foreach (string item in items.Take(25))
        {
            sb.Append("\n    ").Append(item);
        }

        if (items.Count > 25)
        {
            sb.Append(CultureInfo.InvariantCulture, $"\n    … and {items.Count - 25} more");
        }
    }
}
