using System;
using System.Collections.Generic;
using MobileOne.Formats.Json;

namespace MobileOne.Conversion;

/// <summary>Reads the parts of an architecture JSON that weights cannot tell: the input size.</summary>
public static class ArchitectureMetadata
{
    /// <summary>The input size declared in <c>__metadata__["mobileone.architecture"]</c>, if any.</summary>
    public static bool TryReadInputSize(IReadOnlyDictionary<string, string> metadata, out int height, out int width)
    {
        ArgumentNullException.ThrowIfNull(metadata);
        height = width = 0;
        if (!metadata.TryGetValue(FusedNetwork.ArchitectureMetadataKey, out string? json))
        {
            return false;
        }

        JsonValue root;
        try
        {
            root = JsonReader.Parse(json);
        }
        catch (JsonParseException)
        {
            return false;
        }

        if (root.Kind != JsonKind.Object)
        {
            return false;
        }

        JsonValue? size = root["inputSize"];
        if (size != null && size.Kind == JsonKind.Number && size.TryGetInt64(out long s))
        {
            height = width = (int)s;
        }
        else if (size != null && size.Kind == JsonKind.Array && size.Items.Count == 2 && size.Items[0].TryGetInt64(out long h) && size.Items[1].TryGetInt64(out long w))
        {
            height = (int)h;
            width = (int)w;
        }

        if (root["inputHeight"] is { } ih && ih.TryGetInt64(out long h2))
        {
            height = (int)h2;
        }

        if (root["inputWidth"] is { } iw && iw.TryGetInt64(out long w2))
        {
            width = (int)w2;
        }

        return height is > 0 and <= 8192 && width is > 0 and <= 8192;
    }
}
