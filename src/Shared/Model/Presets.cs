using System;
using System.Collections.Generic;

namespace MobileOne.Model;

/// <summary>
/// The five published variants (Apple's mobileone.py, PARAMS): width multipliers of the base widths 64, 128, 256, 512,
/// stem width min(64, stage-1 width), depths (2, 8, 10, 1), SE on the last 5 pairs of stage 3 and the pair of stage 4
/// for S4 only, 224x224 input, 1000 classes; S0 trains with k = 4 conv branches, the others with k = 1.
/// docs/mobileone.md has the table.
/// </summary>
internal static class Presets
{
    /// <summary>Base widths of the four stages, before the multipliers.</summary>
    private static readonly int[] BaseWidths = { 64, 128, 256, 512 };

    private static readonly int[] Depths = { 2, 8, 10, 1 };

    private static readonly Dictionary<string, double[]> Multipliers = new Dictionary<string, double[]>(StringComparer.Ordinal)
    {
        ["s0"] = new[] { 0.75, 1.0, 1.0, 2.0 },
        ["s1"] = new[] { 1.5, 1.5, 2.0, 2.5 },
        ["s2"] = new[] { 1.5, 2.0, 2.5, 4.0 },
        ["s3"] = new[] { 2.0, 2.5, 3.0, 4.0 },
        ["s4"] = new[] { 3.0, 3.5, 3.5, 4.0 },
    };

    /// <summary>"s0".."s4".</summary>
    public static IReadOnlyList<string> Names { get; } = new[] { "s0", "s1", "s2", "s3", "s4" };

    /// <summary>"S1", "s1", "mobileone_s1", "MobileOne-S1" → "s1"; anything else → null.</summary>
    public static string? Normalize(string name)
    {
        string key = name.Trim().ToLowerInvariant().Replace("mobileone", string.Empty).Replace("_", string.Empty).Replace("-", string.Empty);
        return Multipliers.ContainsKey(key) ? key : null;
    }

    /// <summary>The width multipliers of a variant, or null.</summary>
    public static IReadOnlyList<double>? WidthMultipliers(string name)
    {
        string? key = Normalize(name);
        return key == null ? null : Multipliers[key];
    }

    /// <summary>The published variant at 224x224 with 1000 classes, or null for an unknown name.</summary>
    public static NetworkShape? Get(string name)
    {
        string? key = Normalize(name);
        if (key == null)
        {
            return null;
        }

        double[] a = Multipliers[key];
        int[] widths = new int[NetworkShape.Stages];
        for (int s = 0; s < widths.Length; s++)
        {
            widths[s] = (int)(BaseWidths[s] * a[s]);
        }

        int[] se = key == "s4" ? new[] { 0, 0, 5, 1 } : new[] { 0, 0, 0, 0 };
        return new NetworkShape(3, NetworkShape.DefaultInputSize, NetworkShape.DefaultInputSize, Math.Min(64, widths[0]), widths, Depths, se, 1000);
    }

    /// <summary>Conv branches k of a variant's train-time stage blocks (S0: 4, else 1).</summary>
    public static int ConvBranches(string name) => Normalize(name) == "s0" ? 4 : 1;

    /// <summary>"s0".."s4" when the structure (not the input size or class count) is a published variant's, else "custom".</summary>
    public static string Detect(NetworkShape shape)
    {
        foreach (string name in Names)
        {
            NetworkShape p = Get(name)!;
            if (shape.InputChannels == p.InputChannels && shape.StemChannels == p.StemChannels
                && NetworkShape.SameInts(shape.StageChannels, p.StageChannels) && NetworkShape.SameInts(shape.StageBlocks, p.StageBlocks) && NetworkShape.SameInts(shape.SeBlocks, p.SeBlocks))
            {
                return name;
            }
        }

        return "custom";
    }
}
