using System;
using System.Collections.Generic;
using MobileOne.Model;

namespace MobileOne.Conversion;

/// <summary>Reads the parts of an architecture JSON that weights cannot tell: the input size.</summary>
public static class ArchitectureMetadata
{
    /// <summary>
    /// The input size declared in <c>__metadata__["mobileone.architecture"]</c>, if any. The JSON is read by the same reader
    /// as the generator's (docs/architecture-json.md), with the same limits (32..8192 a side): metadata the generator
    /// would reject gives false here.
    /// </summary>
    public static bool TryReadInputSize(IReadOnlyDictionary<string, string> metadata, out int height, out int width)
    {
        ArgumentNullException.ThrowIfNull(metadata);
        height = width = 0;
        if (!metadata.TryGetValue(FusedNetwork.ArchitectureMetadataKey, out string? json))
        {
            return false;
        }

        ArchitectureDocument? doc = ArchitectureJson.Read(json, new List<ArchitectureJsonError>());
        if (doc?.InputHeight is not int h || doc.InputWidth is not int w)
        {
            return false;
        }

        height = h;
        width = w;
        return true;
    }
}
