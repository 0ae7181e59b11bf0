using System;
using System.Collections.Generic;
using System.Globalization;

namespace MobileOne.Model;

/// <summary>Whether a file holds the fused network or the train-time (unfused) one.</summary>
internal enum NetworkForm
{
    /// <summary>One <c>reparam_conv</c> per layer.</summary>
    Fused,

    /// <summary><c>rbr_conv.J</c> conv-BN branches, <c>rbr_scale</c>, <c>rbr_skip</c> per layer.</summary>
    TrainTime,
}

/// <summary>What <see cref="ShapeInference.Infer"/> found: a structure, or the first reason there is none.</summary>
internal sealed class InferredNetwork
{
    public NetworkShape? Shape { get; set; }

    public NetworkForm Form { get; set; }

    /// <summary>Conv branches k per layer name (train-time form; 1 everywhere for a fused file).</summary>
    public Dictionary<string, int> ConvBranches { get; } = new Dictionary<string, int>(StringComparer.Ordinal);

    /// <summary>Why the tensors are not a MobileOne, or null.</summary>
    public string? Error { get; set; }

    /// <summary>The (Apple) name of the tensor <see cref="Error"/> is about, when there is one.</summary>
    public string? ErrorTensor { get; set; }

    /// <summary>True when <see cref="ErrorTensor"/> exists but has the wrong shape (<see cref="ExpectedShape"/>).</summary>
    public bool IsShapeError { get; set; }

    /// <summary>The shape the tensor should have, in words (<c>[C, Cin, 3, 3]</c>), for a shape error.</summary>
    public string? ExpectedShape { get; set; }
}

/// <summary>
/// Reads a MobileOne's structure from its tensor shapes (Apple names), the one algorithm every reader here uses:
/// the stem gives the input and stem widths; in each stage the layers <c>stageN.0, stageN.1, …</c> are counted while
/// their main tensor exists (an even count: depthwise/pointwise pairs), the last pointwise gives the stage width, and
/// the SE blocks are the trailing pairs whose depthwise layer has <c>se.reduce</c> (its rows give the SE width); the
/// classifier gives the class count. The input size cannot be read from weights: it is an argument.
/// The caller then checks every tensor against <see cref="NetworkShape.FusedTensors"/> or
/// <see cref="NetworkShape.TrainTimeTensors"/> with <see cref="TensorCheck"/>.
/// </summary>
internal static class ShapeInference
{
    public static InferredNetwork Infer(IReadOnlyDictionary<string, int[]> shapes, int inputHeight = NetworkShape.DefaultInputSize, int inputWidth = NetworkShape.DefaultInputSize)
    {
        var result = new InferredNetwork();
        string? fused = null, train = null;
        foreach (string k in shapes.Keys)
        {
            fused ??= k.IndexOf(".reparam_conv.", StringComparison.Ordinal) >= 0 ? k : null;
            train ??= k.IndexOf(".rbr_", StringComparison.Ordinal) >= 0 ? k : null;
        }

        if (fused != null && train != null)
        {
            return Fail(result, "it mixes fused tensors ('" + fused + "') with train-time ones ('" + train + "')", train);
        }

        result.Form = train != null ? NetworkForm.TrainTime : NetworkForm.Fused;
        string suffix = result.Form == NetworkForm.Fused ? ".reparam_conv.weight" : ".rbr_conv.0.conv.weight";

        if (!shapes.TryGetValue("stage0" + suffix, out int[]? stem))
        {
            return Fail(result, shapes.Count == 0 ? "it holds no tensors" : "it has no stem tensor 'stage0" + suffix + "' (timm: 'stem" + suffix + "')", "stage0" + suffix);
        }

        if (stem.Length != 4 || stem[2] != 3 || stem[3] != 3 || stem[0] < 1 || stem[1] < 1 || stem[0] > NetworkShape.MaxChannels || stem[1] > NetworkShape.MaxChannels)
        {
            return ShapeFail(result, "stage0" + suffix, "[C, Cin, 3, 3]");
        }

        int[] channels = new int[NetworkShape.Stages], blocks = new int[NetworkShape.Stages], se = new int[NetworkShape.Stages];
        var seWidths = new Dictionary<string, int>(StringComparer.Ordinal);
        for (int s = 1; s <= NetworkShape.Stages; s++)
        {
            int layers = 0;
            while (layers < 2 * NetworkShape.MaxBlocks && shapes.ContainsKey(Name(s, layers) + suffix))
            {
                layers++;
            }

            if (layers == 0 || layers % 2 != 0)
            {
                string why = layers == 0
                    ? "it has no tensor '" + Name(s, 0) + suffix + "': stage " + Text(s) + " is missing"
                    : "stage " + Text(s) + " has " + Text(layers) + " conv layers; a MobileOne stage holds depthwise/pointwise pairs (" + Name(s, 0) + " … " + Name(s, layers - 1) + "), so '" + Name(s, layers) + suffix + "' is missing";
                return Fail(result, why, Name(s, layers) + suffix);
            }

            int[] last = shapes[Name(s, layers - 1) + suffix];
            if (last.Length != 4 || last[0] < 1 || last[0] > NetworkShape.MaxChannels)
            {
                return ShapeFail(result, Name(s, layers - 1) + suffix, "[Cout, Cin, 1, 1]");
            }

            int n = layers / 2, seCount = 0;
            while (seCount < n && shapes.ContainsKey(Name(s, 2 * (n - 1 - seCount)) + ".se.reduce.weight"))
            {
                seCount++;
            }

            for (int ix = n - seCount; ix < n; ix++)
            {
                foreach (string layer in new[] { Name(s, 2 * ix), Name(s, (2 * ix) + 1) })
                {
                    if (shapes.TryGetValue(layer + ".se.reduce.weight", out int[]? reduce) && reduce.Length == 4 && reduce[0] >= 1 && reduce[0] <= NetworkShape.MaxChannels)
                    {
                        seWidths[layer] = reduce[0];
                    }
                }
            }

            channels[s - 1] = last[0];
            blocks[s - 1] = n;
            se[s - 1] = seCount;
        }

        if (!shapes.TryGetValue("linear.weight", out int[]? linear))
        {
            return Fail(result, "it has no classifier tensor 'linear.weight' (timm: 'head.fc.weight')", "linear.weight");
        }

        if (linear.Length != 2 || linear[0] < 1 || linear[0] > NetworkShape.MaxClasses)
        {
            return ShapeFail(result, "linear.weight", "[numClasses, " + Text(channels[NetworkShape.Stages - 1]) + "]");
        }

        var shape = new NetworkShape(stem[1], inputHeight, inputWidth, stem[0], channels, blocks, se, linear[0], seWidths);
        string? invalid = shape.ValidationError();
        if (invalid != null)
        {
            return Fail(result, invalid, null);
        }

        result.Shape = shape;
        Dictionary<string, int> branches = result.Form == NetworkForm.TrainTime ? HighestBranches(shapes.Keys) : new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (LayerShape l in shape.Layers())
        {
            // k is one more than the highest branch index any tensor of the layer names, so that a branch with a tensor
            // missing is reported as missing tensors (not as unexpected ones of a smaller k).
            result.ConvBranches[l.Name] = branches.TryGetValue(l.Name, out int highest) ? highest + 1 : 1;
        }

        return result;
    }

    /// <summary>The highest J of the <c>{layer}.rbr_conv.J.…</c> keys (J below 1000), by layer.</summary>
    private static Dictionary<string, int> HighestBranches(IEnumerable<string> keys)
    {
        const string Branch = ".rbr_conv.";
        var highest = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (string key in keys)
        {
            int at = key.IndexOf(Branch, StringComparison.Ordinal);
            int start = at + Branch.Length;
            int dot = at > 0 ? key.IndexOf('.', start) : -1;
            if (dot > start && int.TryParse(key.Substring(start, dot - start), NumberStyles.None, CultureInfo.InvariantCulture, out int j) && j < 1000)
            {
                string layer = key.Substring(0, at);
                highest[layer] = highest.TryGetValue(layer, out int h) && h > j ? h : j;
            }
        }

        return highest;
    }

    private static InferredNetwork Fail(InferredNetwork r, string error, string? tensor)
    {
        r.Error = error;
        r.ErrorTensor = tensor;
        return r;
    }

    private static InferredNetwork ShapeFail(InferredNetwork r, string tensor, string expected)
    {
        r.Error = "tensor '" + tensor + "' should have shape " + expected;
        r.ErrorTensor = tensor;
        r.IsShapeError = true;
        r.ExpectedShape = expected;
        return r;
    }

    private static string Name(int stage, int index) => "stage" + Text(stage) + "." + Text(index);

    private static string Text(int value) => value.ToString(CultureInfo.InvariantCulture);
}

/// <summary>One difference between a file's tensors and the ones its structure implies.</summary>
internal enum TensorIssueKind
{
    Missing,
    WrongShape,
    WrongDType,
    Unexpected,
}

/// <summary>A difference found by <see cref="TensorCheck.Compare"/>; names are Apple's.</summary>
internal readonly struct TensorIssue
{
    public TensorIssue(TensorIssueKind kind, string name, int[]? expectedShape)
    {
        Kind = kind;
        Name = name;
        ExpectedShape = expectedShape;
    }

    public TensorIssueKind Kind { get; }

    public string Name { get; }

    public int[]? ExpectedShape { get; }
}

/// <summary>Compares a file's tensors with the expected list: every expected tensor present, with its shape and a float dtype; nothing else.</summary>
internal static class TensorCheck
{
    /// <param name="expected">The expected tensors, in order.</param>
    /// <param name="actual">The file's tensors by Apple name: shape and dtype.</param>
    /// <summary>The issues, expected tensors first, then unexpected ones.</summary>
    /// <param name="allowBatchCounters">Accept BatchNorm's <c>num_batches_tracked</c> next to an expected <c>running_mean</c> (train-time files).</param>
    /// <param name="acceptsDType">Which dtypes a weight may have: <see cref="DTypes.IsWeightFloat"/> for what the generator and
    /// runtime read, <see cref="DTypes.IsFloat"/> for the conversion library (which also reads F64).</param>
    public static List<TensorIssue> Compare(IReadOnlyList<TensorShape> expected, IReadOnlyDictionary<string, (int[] Shape, string DType)> actual, bool allowBatchCounters, Func<string, bool> acceptsDType)
    {
        var issues = new List<TensorIssue>();
        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (TensorShape e in expected)
        {
            names.Add(e.Name);
            if (!actual.TryGetValue(e.Name, out (int[] Shape, string DType) t))
            {
                issues.Add(new TensorIssue(TensorIssueKind.Missing, e.Name, e.Shape));
            }
            else if (!NetworkShape.SameInts(t.Shape, e.Shape))
            {
                issues.Add(new TensorIssue(TensorIssueKind.WrongShape, e.Name, e.Shape));
            }
            else if (!acceptsDType(t.DType))
            {
                issues.Add(new TensorIssue(TensorIssueKind.WrongDType, e.Name, e.Shape));
            }
        }

        foreach (string name in actual.Keys)
        {
            bool counter = allowBatchCounters && name.EndsWith(".num_batches_tracked", StringComparison.Ordinal)
                && names.Contains(name.Substring(0, name.Length - "num_batches_tracked".Length) + "running_mean");
            if (!names.Contains(name) && !counter)
            {
                issues.Add(new TensorIssue(TensorIssueKind.Unexpected, name, null));
            }
        }

        return issues;
    }
}
