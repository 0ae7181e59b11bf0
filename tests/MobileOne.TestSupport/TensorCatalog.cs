using System;
using System.Collections.Generic;
using System.Linq;
using MobileOne.Conversion;

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

/// <summary>Expected fused tensors and the Apple ⇄ timm renaming (docs/mobileone.md, "Tensor names"): MobileOne.Conversion's lists and names.</summary>
public static class TensorCatalog
{
    /// <summary>
    /// Ordered tensors of the fused network: per layer <c>reparam_conv.weight</c>, <c>reparam_conv.bias</c>, then
    /// (SE layers) <c>se.reduce.weight/bias</c>, <c>se.expand.weight/bias</c>; finally <c>linear.weight/bias</c>
    /// (<see cref="NetworkArchitecture.FusedTensors"/>).
    /// </summary>
    public static IReadOnlyList<TensorInfo> ExpectedTensors(MobileOneArchitecture arch, TensorNaming naming = TensorNaming.Apple)
    {
        ArgumentNullException.ThrowIfNull(arch);
        return arch.ToConversion().FusedTensors().Select(t => new TensorInfo(Rename(t.Name, naming), t.Shape)).ToList();
    }

    /// <summary>Renames a canonical (Apple) tensor name into <paramref name="naming"/> (<see cref="MobileOneCheckpoint.Rename"/>).</summary>
    public static string Rename(string appleName, TensorNaming naming)
    {
        ArgumentNullException.ThrowIfNull(appleName);
        return MobileOneCheckpoint.Rename(appleName, naming == TensorNaming.Timm ? NamingConvention.Timm : NamingConvention.Apple);
    }
}
