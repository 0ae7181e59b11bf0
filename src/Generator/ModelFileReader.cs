using System;
using System.Collections.Generic;
using System.Collections.Immutable;
using System.IO;
using System.Threading;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Diagnostics;
using MobileOne.Formats.Safetensors;
using MobileOne.Generator.Helpers;
using MobileOne.Generator.Model;
using MobileOne.Model;

namespace MobileOne.Generator;

/// <summary>
/// The first pipeline steps: AdditionalFile → <see cref="ModelFileContent"/> (the file, read and its header parsed
/// once) and, separately, → <see cref="ModelOptions"/> (item metadata and build properties); then pairing of files,
/// each with its options, into models.
/// </summary>
internal static class ModelFileReader
{
    public const string WeightsExtension = ".safetensors";
    public const string ArchitectureExtension = ".mobileone.json";

    /// <summary>
    /// The most tensor bytes the NaN/Inf scan reads (1 GiB; published MobileOnes have at most ~60 MB). A file with
    /// more is not scanned, so its build cost stays bounded.
    /// </summary>
    public const long MaxScannedBytes = 1L << 30;

    public static bool IsModelFile(string path) =>
        path.EndsWith(WeightsExtension, StringComparison.OrdinalIgnoreCase)
        || path.EndsWith(ArchitectureExtension, StringComparison.OrdinalIgnoreCase);

    public static ModelFileKind KindOf(string path) =>
        path.EndsWith(ArchitectureExtension, StringComparison.OrdinalIgnoreCase) ? ModelFileKind.Architecture : ModelFileKind.Weights;

    public static string BaseName(string path, ModelFileKind kind)
    {
        string name = System.IO.Path.GetFileName(path);
        int cut = kind == ModelFileKind.Weights ? WeightsExtension.Length : ArchitectureExtension.Length;
        return name.Length > cut ? name.Substring(0, name.Length - cut) : name;
    }

    /// <summary>
    /// The read step: an architecture file's text, or a weight file's header (parsed) and NaN/Inf scan. It depends on
    /// the AdditionalText alone, so the driver caches it until the file changes, whatever happens to the options.
    /// </summary>
    public static ModelFileContent Read(AdditionalText text, CancellationToken cancellationToken)
    {
        FaultInjection.Point(TrackingNames.ReadModelFile, text.Path);
        if (KindOf(text.Path) == ModelFileKind.Architecture)
        {
            string? content = text.GetText(cancellationToken)?.ToString();
            return content == null
                ? ModelFileContent.Failed(text.Path, ModelFileKind.Architecture, DiagnosticInfo.Create(DiagnosticDescriptors.FileUnreadable, text.Path, text.Path, "the compiler could not read it as text"))
                : new ModelFileContent(text.Path, ModelFileKind.Architecture, content.Length, 0, content, null, null);
        }

        return ReadWeights(text.Path, cancellationToken);
    }

    /// <summary>The options step: a file's item metadata and the build properties the generator reads.</summary>
    public static ModelOptions ReadOptions(AdditionalText text, AnalyzerConfigOptionsProvider optionsProvider)
    {
        FaultInjection.Point(TrackingNames.ReadModelOptions, text.Path);
        AnalyzerConfigOptions itemOptions = optionsProvider.GetOptions(text);
        optionsProvider.GlobalOptions.TryGetValue("build_property.RootNamespace", out string? rootNamespace);
        optionsProvider.GlobalOptions.TryGetValue("build_property.MobileOneEmbedWeights", out string? embedAll);
        return new ModelOptions(
            Metadata(itemOptions, "MobileOneClassName"),
            Metadata(itemOptions, "MobileOneNamespace"),
            Metadata(itemOptions, "MobileOneAccessibility"),
            Metadata(itemOptions, "MobileOneResourceName"),
            string.Equals(embedAll?.Trim(), "false", StringComparison.OrdinalIgnoreCase) ? "false" : Metadata(itemOptions, "MobileOneEmbed"),
            rootNamespace ?? string.Empty);
    }

    /// <summary>
    /// Reads the 8-byte length and the JSON header of a safetensors file and parses the header (the one parse: the
    /// parse step works on the result), then scans the F32/F16/BF16 tensor bytes for NaN and infinities (MO0017)
    /// without keeping them. The result is equatable, so the steps after it run again only when it changes.
    /// </summary>
    public static ModelFileContent ReadWeights(string path, CancellationToken cancellationToken = default)
    {
        try
        {
#pragma warning disable RS1035 // File IO in a generator: AdditionalText.GetText() cannot read a binary file (CS2015),
                           // and Roslyn offers no binary API, so the file is read by path: the header, then the tensor
                           // bytes streamed once for the NaN/Inf scan (nothing kept); the data reaches the assembly as
                           // an EmbeddedResource added by the build targets.
            using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, 4096, FileOptions.None);
#pragma warning restore RS1035
            long length = stream.Length;
            byte[] prefix = ReadExactly(stream, (int)Math.Min(8, length));
            long headerLength = SafetensorsHeader.ReadHeaderLength(prefix, length);
            byte[] headerBytes = ReadExactly(stream, (int)headerLength);
            SafetensorsHeader header = SafetensorsHeader.Parse(headerBytes, length - 8 - headerLength);
            DiagnosticInfo? warning = ScanForNonFinite(stream, path, header, cancellationToken);
            DiagnosticInfo? error = header.Metadata.ContainsKey(QuantizationDocument.MetadataKey) ? CheckQuantizedData(stream, path, header, cancellationToken) : null;
            return new ModelFileContent(path, ModelFileKind.Weights, length, SafetensorsHeader.HashHeader(headerBytes), string.Empty, ToWeightHeader(header), null, warning, error);
        }
        catch (SafetensorsFormatException e)
        {
            string where = e.Line > 0 ? $" (header JSON line {e.Line}, column {e.Column})" : string.Empty;
            return ModelFileContent.Failed(path, ModelFileKind.Weights, DiagnosticInfo.Create(DiagnosticDescriptors.InvalidSafetensors, path, System.IO.Path.GetFileName(path), e.Message + where));
        }
        catch (Exception e) when (e is IOException || e is UnauthorizedAccessException || e is NotSupportedException || e is ArgumentException || e is System.Security.SecurityException)
        {
            return ModelFileContent.Failed(path, ModelFileKind.Weights, DiagnosticInfo.Create(DiagnosticDescriptors.FileUnreadable, path, path, e.Message));
        }
    }

    /// <summary>Gives each file its options (matched by path: both come from the same AdditionalFiles).</summary>
    public static ImmutableArray<ModelFile> WithOptions(ImmutableArray<ModelFileContent> contents, ImmutableArray<ModelFileOptions> options)
    {
        var byPath = new Dictionary<string, ModelFileOptions>(StringComparer.Ordinal);
        foreach (ModelFileOptions o in options)
        {
            if (!byPath.ContainsKey(o.Path))
            {
                byPath.Add(o.Path, o);
            }
        }

        var builder = ImmutableArray.CreateBuilder<ModelFile>(contents.Length);
        foreach (ModelFileContent content in contents)
        {
            builder.Add(byPath.TryGetValue(content.Path, out ModelFileOptions? o)
                ? new ModelFile(content, o.Options, o.Error)
                : new ModelFile(content, ModelOptions.None));
        }

        return builder.MoveToImmutable();
    }

    /// <summary>Groups files into models: <c>x.safetensors</c> pairs with <c>x.mobileone.json</c> in the same folder.</summary>
    public static ImmutableArray<ModelInput> Pair(ImmutableArray<ModelFile> files, CancellationToken cancellationToken)
    {
        var groups = new Dictionary<string, (ModelFile? Weights, ModelFile? Architecture, List<DiagnosticInfo> Diagnostics)>(StringComparer.Ordinal);
        var order = new List<string>();
        foreach (ModelFile file in files)
        {
            cancellationToken.ThrowIfCancellationRequested();
            FaultInjection.Point(TrackingNames.PairModelFiles, file.Path);
            string key = System.IO.Path.Combine(System.IO.Path.GetDirectoryName(file.Path) ?? string.Empty, file.BaseName);
            if (!groups.TryGetValue(key, out var group))
            {
                group = (null, null, new List<DiagnosticInfo>());
                order.Add(key);
            }

            ModelFile? existing = file.Kind == ModelFileKind.Weights ? group.Weights : group.Architecture;
            if (existing != null)
            {
                // Two files that differ only in case pair to one model: refuse both rather than pick one.
                string kind = file.Kind == ModelFileKind.Weights ? "weight" : "architecture";
                group.Diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.DuplicateModelFile, file.Path, file.BaseName, kind, existing.Path, file.Path));
            }
            else if (file.Kind == ModelFileKind.Weights)
            {
                group.Weights = file;
            }
            else
            {
                group.Architecture = file;
            }

            groups[key] = group;
        }

        var builder = ImmutableArray.CreateBuilder<ModelInput>(order.Count);
        foreach (string key in order)
        {
            var group = groups[key];
            builder.Add(new ModelInput(group.Weights, group.Architecture, group.Diagnostics.ToEquatableArray()));
        }

        return builder.MoveToImmutable();
    }

    private static string? Metadata(AnalyzerConfigOptions options, string name) =>
        options.TryGetValue("build_metadata.AdditionalFiles." + name, out string? value) && !string.IsNullOrWhiteSpace(value) ? value.Trim() : null;

    private static WeightHeader ToWeightHeader(SafetensorsHeader header)
    {
        var tensors = new TensorEntry[header.Tensors.Count];
        for (int i = 0; i < tensors.Length; i++)
        {
            SafetensorsTensor t = header.Tensors[i];
            tensors[i] = new TensorEntry(t.Name, t.DType, new EquatableArray<long>(t.Shape), t.Begin, t.End);
        }

        header.Metadata.TryGetValue(ArchitectureJson.MetadataKey, out string? architecture);
        header.Metadata.TryGetValue(QuantizationDocument.MetadataKey, out string? quantization);
        return new WeightHeader(header.DataOffset, new EquatableArray<TensorEntry>(tensors), architecture, quantization);
    }

    /// <summary>
    /// Counts NaN and infinite values in the tensors of a valid header. Reads at most <see cref="MaxScannedBytes"/>
    /// through one buffer of at most 1 MiB.
    /// </summary>
    private static DiagnosticInfo? ScanForNonFinite(Stream stream, string path, SafetensorsHeader header, CancellationToken cancellationToken)
    {
        var tensors = new List<SafetensorsTensor>();
        long total = 0;
        foreach (SafetensorsTensor t in header.Tensors)
        {
            if (NonFiniteValues.ElementSize(t.DType) > 0 && t.End > t.Begin)
            {
                tensors.Add(t);
                total += t.End - t.Begin;
            }
        }

        if (total == 0 || total > MaxScannedBytes)
        {
            return null;
        }

        tensors.Sort((a, b) => a.Begin.CompareTo(b.Begin));
        // At least 4 bytes: each read is a whole number of 4-byte words (or the tensor's last 2 bytes).
        byte[] buffer = new byte[(int)Math.Max(4, Math.Min(1 << 20, total))];
        long values = 0;
        int affected = 0;
        string? first = null;
        long firstIndex = 0;
        foreach (SafetensorsTensor t in tensors)
        {
            int size = NonFiniteValues.ElementSize(t.DType);
            stream.Position = header.DataOffset + t.Begin;
            long remaining = t.End - t.Begin, index = 0, inTensor = 0;
            while (remaining > 0)
            {
                cancellationToken.ThrowIfCancellationRequested();
                int chunk = (int)Math.Min(buffer.Length / 4 * 4, remaining);
                ReadExactly(stream, buffer, chunk);
                int n = NonFiniteValues.Count(buffer, chunk, t.DType, out int at);
                if (n > 0 && first == null)
                {
                    first = t.Name;
                    firstIndex = index + at;
                }

                inTensor += n;
                index += chunk / size;
                remaining -= chunk;
            }

            values += inTensor;
            affected += inTensor > 0 ? 1 : 0;
        }

        return first == null
            ? null
            : DiagnosticInfo.Create(
                DiagnosticDescriptors.NonFiniteWeights,
                path,
                System.IO.Path.GetFileName(path),
                values.ToString(System.Globalization.CultureInfo.InvariantCulture),
                affected.ToString(System.Globalization.CultureInfo.InvariantCulture),
                first,
                firstIndex.ToString(System.Globalization.CultureInfo.InvariantCulture));
    }

    /// <summary>
    /// The checks of a quantized file's data (docs/quantization.md) the runtime would otherwise only make at load: int8
    /// weights in [-127, 127], pointwise weights (I8 <c>[out, in, 1, 1]</c>) within the pair rule, and weight scales
    /// positive and finite. Reads only those tensors (a few MB; at most <see cref="MaxScannedBytes"/>); null when all hold.
    /// </summary>
    private static DiagnosticInfo? CheckQuantizedData(Stream stream, string path, SafetensorsHeader header, CancellationToken cancellationToken)
    {
        string file = System.IO.Path.GetFileName(path);
        long total = 0;
        foreach (SafetensorsTensor t in header.Tensors)
        {
            bool checkedTensor = t.DType == "I8" || (t.DType == "F32" && t.Name.EndsWith(QuantizationScheme.WeightScaleSuffix, StringComparison.Ordinal));
            if (!checkedTensor || t.End <= t.Begin)
            {
                continue;
            }

            cancellationToken.ThrowIfCancellationRequested();
            total += t.End - t.Begin;
            if (total > MaxScannedBytes)
            {
                return null;
            }

            stream.Position = header.DataOffset + t.Begin;
            byte[] bytes = ReadExactly(stream, (int)(t.End - t.Begin));
            string? problem = t.DType == "I8" ? Int8Problem(t, bytes) : ScaleProblem(bytes);
            if (problem != null)
            {
                return DiagnosticInfo.Create(DiagnosticDescriptors.InvalidQuantizedWeights, path, file, t.Name, problem);
            }
        }

        return null;
    }

    private static string? Int8Problem(SafetensorsTensor t, byte[] bytes)
    {
        ReadOnlySpan<sbyte> weights = System.Runtime.InteropServices.MemoryMarshal.Cast<byte, sbyte>(bytes.AsSpan());
        int at = QuantizationScheme.FindOutOfRange(weights);
        if (at >= 0)
        {
            return "has -128 at element " + at.ToString(System.Globalization.CultureInfo.InvariantCulture) + "; int8 weights are symmetric, in [-127, 127]";
        }

        if (t.Shape.Length == 4 && t.Shape[2] == 1 && t.Shape[3] == 1 && t.Shape[0] * t.Shape[1] == weights.Length)
        {
            var (outChannel, pair) = QuantizationScheme.FindPairOverflow(weights, (int)t.Shape[0], (int)t.Shape[1]);
            if (outChannel >= 0)
            {
                return FormattableString.Invariant(
                    $"breaks the pair rule: output channel {outChannel} has input channels {2 * pair} and {(2 * pair) + 1} whose same-sign weights sum beyond ±{QuantizationScheme.MaxPairSum}, which the AVX2 and AVX-512BW kernels cannot add without saturating");
            }
        }

        return null;
    }

    private static string? ScaleProblem(byte[] bytes)
    {
        for (int i = 0; i + 4 <= bytes.Length; i += 4)
        {
            float s = BitConverter.ToSingle(bytes, i);
            if (!(s > 0) || float.IsInfinity(s))
            {
                return FormattableString.Invariant($"has scale {s.ToString("R", System.Globalization.CultureInfo.InvariantCulture)} for output channel {i / 4}; weight scales must be positive and finite");
            }
        }

        return null;
    }

    private static byte[] ReadExactly(Stream stream, int count)
    {
        byte[] buffer = new byte[count];
        ReadExactly(stream, buffer, count);
        return buffer;
    }

    private static void ReadExactly(Stream stream, byte[] buffer, int count)
    {
        int read = 0;
        while (read < count)
        {
            int n = stream.Read(buffer, read, count - read);
            if (n == 0)
            {
                throw new SafetensorsFormatException($"The file ended after {read} of {count} bytes.");
            }

            read += n;
        }
    }
}
