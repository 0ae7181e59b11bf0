using MobileOne.Formats.Safetensors;
using MobileOne.Generator.Helpers;

namespace MobileOne.Generator.Model;

internal enum ModelFileKind
{
    /// <summary>A <c>.safetensors</c> weight file (binary, read by path: the header is kept, the tensor bytes only scanned for NaN/Inf).</summary>
    Weights,

    /// <summary>A <c>.mobileone.json</c> architecture file.</summary>
    Architecture,
}

/// <summary>Item metadata and build properties that shape one generated class.</summary>
internal sealed record ModelOptions(
    string? ClassName,
    string? Namespace,
    string? Accessibility,
    string? ResourceName,
    string? Embed,
    string RootNamespace)
{
    /// <summary>No metadata and no root namespace: what a file gets when its options could not be read.</summary>
    public static ModelOptions None { get; } = new ModelOptions(null, null, null, null, null, string.Empty);
}

/// <summary>
/// What the read step gets from one AdditionalFile, before any option is looked at (so it is cached on the
/// AdditionalText alone, and an options change never reads the file again). For weights: the file length, the
/// header's hash and its parsed form (<paramref name="Header"/>, the only parse of the header), and the outcome of the
/// NaN/Inf scan of the tensor data (<paramref name="DataWarning"/>, MO0017; the data itself is not kept) and, for a
/// quantized file, of the check of its int8 weights and weight scales (<paramref name="DataError"/>, MO0019). For an
/// architecture file: its text. <paramref name="ReadError"/> is MO0001 (unreadable), MO0002 (not safetensors) or MO0016.
/// </summary>
internal sealed record ModelFileContent(
    string Path,
    ModelFileKind Kind,
    long Length,
    ulong HeaderHash,
    string Text,
    WeightHeader? Header,
    DiagnosticInfo? ReadError,
    DiagnosticInfo? DataWarning = null,
    DiagnosticInfo? DataError = null)
{
    /// <summary>File name without the model extension: <c>models/mobileone_s1.safetensors</c> → <c>mobileone_s1</c>.</summary>
    public string BaseName => ModelFileReader.BaseName(Path, Kind);

    /// <summary>A file that could not be read: only its path, kind and why.</summary>
    public static ModelFileContent Failed(string path, ModelFileKind kind, DiagnosticInfo error) =>
        new ModelFileContent(path, kind, 0, 0, string.Empty, null, error);
}

/// <summary>A valid safetensors header, as the parse step needs it: the tensors in file order and the architecture metadata.</summary>
internal sealed record WeightHeader(long DataOffset, EquatableArray<TensorEntry> Tensors, string? ArchitectureJson, string? QuantizationJson = null)
{
    /// <summary>Whether the file is a quantized MobileOne (it has <c>mobileone.quantization</c> metadata).</summary>
    public bool IsQuantized => QuantizationJson != null;
}

/// <summary>One tensor of a header, under its name in the file; <see cref="Begin"/> and <see cref="End"/> are offsets in the data section.</summary>
internal sealed record TensorEntry(string Name, string DType, EquatableArray<long> Shape, long Begin, long End)
{
    public string ShapeText => SafetensorsHeader.FormatShape(Shape.AsSpan().ToArray());
}

/// <summary>What the options step reads for one AdditionalFile: its item metadata and the build properties (or MO0016).</summary>
internal sealed record ModelFileOptions(string Path, ModelOptions Options, DiagnosticInfo? Error);

/// <summary>A file's content with its options: what pairing works on.</summary>
internal sealed record ModelFile(ModelFileContent Content, ModelOptions Options, DiagnosticInfo? OptionsError = null)
{
    public string Path => Content.Path;

    public ModelFileKind Kind => Content.Kind;

    public string BaseName => Content.BaseName;
}

/// <summary>One model to generate: weights, an architecture file, or both (paired by base name).</summary>
internal sealed record ModelInput(ModelFile? Weights, ModelFile? Architecture, EquatableArray<DiagnosticInfo> PairingDiagnostics)
{
    public ModelFile Primary => Weights ?? Architecture!;
}
