using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using MobileOne.TestSupport;

namespace MobileOne.Generator.Tests.Infrastructure;

/// <summary>Writes an architecture in the documented JSON schema (docs/architecture-json.md).</summary>
public static class ArchitectureJson
{
    public static string For(MobileOneArchitecture arch, bool structure = true, string? extra = null)
    {
        var parts = new List<string>
        {
            $"\"inputSize\": [{arch.InputHeight}, {arch.InputWidth}]",
        };
        if (structure)
        {
            parts.Add($"\"inputChannels\": {arch.InputChannels}");
            parts.Add($"\"stemChannels\": {arch.StemChannels}");
            parts.Add($"\"stageChannels\": [{Join(arch.StageChannels)}]");
            parts.Add($"\"stageBlocks\": [{Join(arch.StageBlocks)}]");
            parts.Add($"\"seBlocks\": [{Join(arch.SeBlocks)}]");
            parts.Add($"\"numClasses\": {arch.NumClasses}");
        }

        if (extra != null)
        {
            parts.Add(extra);
        }

        return "{\n  " + string.Join(",\n  ", parts) + "\n}\n";
    }

    /// <summary>safetensors __metadata__ carrying the architecture, as `mobileone fuse` writes it.</summary>
    public static Dictionary<string, string> Metadata(MobileOneArchitecture arch, bool structure = false) =>
        new() { ["mobileone.architecture"] = For(arch, structure) };

    private static string Join(int[] values) => string.Join(", ", values.Select(v => v.ToString(CultureInfo.InvariantCulture)));
}
