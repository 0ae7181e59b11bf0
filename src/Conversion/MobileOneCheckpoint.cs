using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Text;
using System.Text.RegularExpressions;
using MobileOne.Model;

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
    /// Recognises a MobileOne in <paramref name="stateDict"/>, with the shared model's rules (src/Shared/Model), the ones the
    /// generator applies: one naming convention per file (<c>TensorNames.Canonicalize</c>), the structure read from the
    /// shapes (<c>ShapeInference.Infer</c>: consecutive layers per stage, trailing SE pairs by the depthwise layer's
    /// <c>se.reduce</c>, classes from <c>linear.weight</c>) within the generator's limits, then every tensor checked against
    /// the list the structure implies (<c>TensorCheck.Compare</c>). The input size cannot be read from weights; it defaults
    /// to 224x224.
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

        // 1. Names: Apple's or timm's, never both; one name per tensor.
        CanonicalNames names = TensorNames.Canonicalize(stateDict.Tensors.Select(t => t.Name));
        if (names.Error != null)
        {
            throw new ConversionException(ConversionErrorKind.NotMobileOne, $"{source} is not a MobileOne checkpoint: {names.Error}.");
        }

        if (names.InOrder.Count == 0)
        {
            throw new ConversionException(ConversionErrorKind.NotMobileOne,
                $"{source} is not a MobileOne checkpoint: none of its {stateDict.Count} tensors has a MobileOne name (Apple's stage0./stageN./linear. or timm's stem./stages./head.fc.); the first is '{stateDict.Tensors[0].Name}' {stateDict.Tensors[0].ShapeText}.");
        }

        var canonical = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        var shapes = new Dictionary<string, int[]>(StringComparer.Ordinal);
        foreach (string c in names.InOrder)
        {
            Tensor t = stateDict.Find(names.ToOriginal[c])!;
            canonical[c] = t;
            shapes[c] = t.Shape;
        }

        NamingConvention naming = names.Naming == TensorNaming.Timm ? NamingConvention.Timm : NamingConvention.Apple;
        string Named(string c) => TensorNames.FromCanonical(c, ToShared(naming));

        // 2. Form and structure from the shapes.
        InferredNetwork inferred = ShapeInference.Infer(shapes, inputHeight, inputWidth);
        if (inferred.Shape == null)
        {
            throw new ConversionException(ConversionErrorKind.NotMobileOne, InferenceMessage(source, inferred, canonical, naming));
        }

        CheckpointForm form = inferred.Form == NetworkForm.TrainTime ? CheckpointForm.TrainTime : CheckpointForm.Fused;
        NetworkArchitecture arch = NetworkArchitecture.FromShape(inferred.Shape) with
        {
            SeReducedOverrides = new Dictionary<string, int>(inferred.Shape.SeReducedOverrides, StringComparer.Ordinal),
        };
        var branches = form == CheckpointForm.TrainTime
            ? new Dictionary<string, int>(inferred.ConvBranches, StringComparer.Ordinal)
            : new Dictionary<string, int>(StringComparer.Ordinal);

        // 3. Every expected tensor present with its shape and a float dtype; nothing else.
        IReadOnlyList<TensorShape> expected = form == CheckpointForm.Fused
            ? inferred.Shape.FusedTensors()
            : inferred.Shape.TrainTimeTensors(layer => branches[layer]);
        var actual = canonical.ToDictionary(kv => kv.Key, kv => (kv.Value.Shape, kv.Value.DType), StringComparer.Ordinal);
        List<TensorIssue> issues = TensorCheck.Compare(expected, actual, allowBatchCounters: form == CheckpointForm.TrainTime, DTypes.IsFloat);
        var missing = new List<string>();
        var wrongShape = new List<string>();
        var unexpected = names.Unknown.Select(n => $"{n} {stateDict.Find(n)!.ShapeText}").ToList();
        foreach (TensorIssue issue in issues)
        {
            Tensor? t = canonical.GetValueOrDefault(issue.Name);
            switch (issue.Kind)
            {
                case TensorIssueKind.Missing:
                    missing.Add(Named(issue.Name) + " " + Tensor.FormatShape(issue.ExpectedShape!));
                    break;
                case TensorIssueKind.WrongShape:
                    wrongShape.Add($"'{t!.Name}' is {t.ShapeText}, expected {Tensor.FormatShape(issue.ExpectedShape!)}");
                    break;
                case TensorIssueKind.WrongDType:
                    wrongShape.Add($"'{t!.Name}' has dtype {t.DType}, expected a floating-point type");
                    break;
                default:
                    unexpected.Add($"{t!.Name} {t.ShapeText}");
                    break;
            }
        }

        if (missing.Count + wrongShape.Count + unexpected.Count > 0)
        {
            var sb = new StringBuilder();
            sb.Append(CultureInfo.InvariantCulture, $"{source} does not match the {(form == CheckpointForm.Fused ? "fused" : "train-time")} MobileOne its tensors imply ({arch}, {naming} names):");
            AppendList(sb, "missing tensors", missing);
            AppendList(sb, "unexpected tensors", unexpected);
            AppendList(sb, "wrong shapes", wrongShape);
            AppendStageNotes(sb, inferred.Shape, canonical.Keys, form, Named);
            throw new ConversionException(ConversionErrorKind.NotMobileOne, sb.ToString());
        }

        return new MobileOneCheckpoint(stateDict, canonical, naming, form, arch, branches);
    }

    /// <summary>The tensors (canonical names, shapes) a checkpoint of this architecture and form holds, in order (k = 1 where <paramref name="convBranches"/> has no entry).</summary>
    public static IReadOnlyList<(string Name, int[] Shape)> ExpectedTensors(NetworkArchitecture arch, CheckpointForm form, IReadOnlyDictionary<string, int>? convBranches = null)
    {
        ArgumentNullException.ThrowIfNull(arch);
        return form == CheckpointForm.Fused
            ? arch.FusedTensors()
            : arch.TrainTimeTensors(layer => convBranches != null && convBranches.TryGetValue(layer, out int k) ? k : 1);
    }

    /// <summary>
    /// Why <see cref="ShapeInference.Infer"/> found no MobileOne, for a person: its reason with the file's own names (timm's
    /// for a timm file), and for a tensor of the wrong shape both shapes.
    /// </summary>
    private static string InferenceMessage(string source, InferredNetwork inferred, Dictionary<string, Tensor> canonical, NamingConvention naming)
    {
        string? tensor = inferred.ErrorTensor;
        if (inferred.IsShapeError && tensor != null && canonical.TryGetValue(tensor, out Tensor? t))
        {
            return tensor.StartsWith("stage0.", StringComparison.Ordinal)
                ? $"Tensor '{t.Name}' in {source} has shape {t.ShapeText}, but a MobileOne stem is {inferred.ExpectedShape}."
                : $"Tensor '{t.Name}' in {source} has shape {t.ShapeText}, but a MobileOne needs {inferred.ExpectedShape} there.";
        }

        // The reason quotes canonical (Apple) names; a timm file is told its own names (and needs no "(timm: …)" hint).
        string why = inferred.Error ?? "its tensors are not a MobileOne's";
        if (naming == NamingConvention.Timm)
        {
            why = Regex.Replace(why, @" \(timm: '[^']*'\)", string.Empty);
            why = Regex.Replace(why, "'([^']*)'", m => "'" + TensorNames.FromCanonical(m.Groups[1].Value, TensorNaming.Timm) + "'");
        }

        if (tensor == null)
        {
            return $"{source} cannot be converted: {why}."; // a limit of the shared model (or of the input size asked for)
        }

        return canonical.ContainsKey(tensor)
            ? $"{source} is not a MobileOne checkpoint: {why}."
            : $"{source} is not a complete MobileOne checkpoint: {why}.";
    }

    internal static TensorNaming ToShared(NamingConvention naming) => naming == NamingConvention.Timm ? TensorNaming.Timm : TensorNaming.Apple;

    /// <summary>Renames a canonical (Apple) name into <paramref name="naming"/>.</summary>
    public static string Rename(string canonical, NamingConvention naming) => TensorNames.FromCanonical(canonical, ToShared(naming));

    /// <summary>
    /// A stage is read up to its first missing layer; when the file has layers after that one (listed as unexpected), say
    /// which layer ended the stage.
    /// </summary>
    private static void AppendStageNotes(StringBuilder sb, NetworkShape shape, IEnumerable<string> names, CheckpointForm form, Func<string, string> named)
    {
        string suffix = form == CheckpointForm.Fused ? ".reparam_conv.weight" : ".rbr_conv.0.conv.weight";
        for (int s = 1; s <= NetworkShape.Stages; s++)
        {
            int layers = 2 * shape.StageBlocks[s - 1];
            string prefix = $"stage{s}.";
            bool later = names.Any(n =>
            {
                int dot = n.StartsWith(prefix, StringComparison.Ordinal) ? n.IndexOf('.', prefix.Length) : -1;
                return dot > prefix.Length && int.TryParse(n.AsSpan(prefix.Length, dot - prefix.Length), NumberStyles.None, CultureInfo.InvariantCulture, out int ix) && ix >= layers;
            });
            if (later)
            {
                sb.Append(CultureInfo.InvariantCulture, $"\n  note: stage {s} was read as {layers / 2} pair(s) because '{named(prefix + layers.ToString(CultureInfo.InvariantCulture) + suffix)}' is missing; its later layers are listed as unexpected");
            }
        }
    }

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
