using System;
using System.Collections.Generic;
using System.Linq;

namespace MobileOne.TestSupport;

/// <summary>State-dict naming convention of a fused checkpoint.</summary>
public enum TensorNaming
{
    /// <summary>Apple <c>ml-mobileone</c>: <c>stage0.</c>, <c>stage{N}.{i}.</c>, <c>se.reduce/expand</c>, <c>linear</c>.</summary>
    Apple,

    /// <summary>timm ByobNet: <c>stem.</c>, <c>stages.{N-1}.{i}.</c>, <c>attn.fc1/fc2</c>, <c>head.fc</c>.</summary>
    Timm,
}

/// <summary>Name and shape of one tensor of a fused checkpoint.</summary>
public sealed record TensorInfo(string Name, int[] Shape)
{
    /// <summary>Product of the shape.</summary>
    public long ElementCount => Shape.Aggregate(1L, (a, d) => a * d);

    /// <inheritdoc/>
    public override string ToString() => $"{Name} [{string.Join(",", Shape)}]";
}

/// <summary>Expected fused tensors and the Apple ⇄ timm renaming (spec §3.1, §3.3).</summary>
public static class TensorCatalog
{
    /// <summary>
    /// Ordered tensors of the fused network: per layer <c>reparam_conv.weight</c>, <c>reparam_conv.bias</c>, then
    /// (SE layers) <c>se.reduce.weight/bias</c>, <c>se.expand.weight/bias</c>; finally <c>linear.weight/bias</c>.
    /// </summary>
    public static IReadOnlyList<TensorInfo> ExpectedTensors(MobileOneArchitecture arch, TensorNaming naming = TensorNaming.Apple)
    {
        ArgumentNullException.ThrowIfNull(arch);
        var list = new List<TensorInfo>();
        foreach (LayerInfo l in arch.Layers())
        {
            list.Add(new TensorInfo($"{l.Name}.reparam_conv.weight", l.WeightShape));
            list.Add(new TensorInfo($"{l.Name}.reparam_conv.bias", new[] { l.OutChannels }));
            if (l.HasSe)
            {
                int c = l.OutChannels, r = l.SeReducedChannels;
                list.Add(new TensorInfo($"{l.Name}.se.reduce.weight", new[] { r, c, 1, 1 }));
                list.Add(new TensorInfo($"{l.Name}.se.reduce.bias", new[] { r }));
                list.Add(new TensorInfo($"{l.Name}.se.expand.weight", new[] { c, r, 1, 1 }));
                list.Add(new TensorInfo($"{l.Name}.se.expand.bias", new[] { c }));
            }
        }
        list.Add(new TensorInfo("linear.weight", new[] { arch.NumClasses, arch.FeatureChannels }));
        list.Add(new TensorInfo("linear.bias", new[] { arch.NumClasses }));
        return naming == TensorNaming.Apple
            ? list
            : list.Select(t => t with { Name = Rename(t.Name, naming) }).ToList();
    }

    /// <summary>Renames a canonical (Apple) tensor name into <paramref name="naming"/>.</summary>
    public static string Rename(string appleName, TensorNaming naming)
    {
        ArgumentNullException.ThrowIfNull(appleName);
        if (naming == TensorNaming.Apple) return appleName;
        string n = appleName;
        if (n.StartsWith("stage0.", StringComparison.Ordinal))
        {
            n = "stem." + n["stage0.".Length..];
        }
        else if (n.StartsWith("stage", StringComparison.Ordinal))
        {
            int dot = n.IndexOf('.', StringComparison.Ordinal);
            int stage = int.Parse(n.AsSpan(5, dot - 5), System.Globalization.CultureInfo.InvariantCulture);
            n = $"stages.{stage - 1}{n[dot..]}";
        }
        else if (n.StartsWith("linear.", StringComparison.Ordinal))
        {
            n = "head.fc." + n["linear.".Length..];
        }
        return n.Replace(".se.reduce.", ".attn.fc1.", StringComparison.Ordinal)
                .Replace(".se.expand.", ".attn.fc2.", StringComparison.Ordinal);
    }
}
