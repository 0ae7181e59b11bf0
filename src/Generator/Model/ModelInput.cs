using MobileOne.Generator.Helpers;

namespace MobileOne.Generator.Model
{
    internal enum ModelFileKind
    {
        /// <summary>A <c>.safetensors</c> weight file (binary; only its header is read, by path).</summary>
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
        string RootNamespace);

    /// <summary>
    /// What the first pipeline step reads from one AdditionalFile: for weights, the file length, the
    /// header text and its hash, and the outcome of the NaN/Inf scan of the tensor data (<paramref name="DataWarning"/>,
    /// MO0017; the data itself is not kept); for an architecture file, its text.
    /// </summary>
    internal sealed record ModelFile(
        string Path,
        ModelFileKind Kind,
        ModelOptions Options,
        long Length,
        long HeaderLength,
        ulong HeaderHash,
        string Content,
        DiagnosticInfo? ReadError,
        DiagnosticInfo? DataWarning = null)
    {
        /// <summary>File name without the model extension: <c>models/mobileone_s1.safetensors</c> → <c>mobileone_s1</c>.</summary>
        public string BaseName => ModelFileReader.BaseName(Path, Kind);
    }

    /// <summary>One model to generate: weights, an architecture file, or both (paired by base name).</summary>
    internal sealed record ModelInput(ModelFile? Weights, ModelFile? Architecture, EquatableArray<DiagnosticInfo> PairingDiagnostics)
    {
        public ModelFile Primary => Weights ?? Architecture!;
    }
}
