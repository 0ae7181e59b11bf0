using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Text;
using System.Threading;
using Microsoft.CodeAnalysis.CSharp;
using MobileOne.Generator.Helpers;
using MobileOne.Generator.Model;
using MobileOne.Model;

namespace MobileOne.Generator;

/// <summary>
/// Turns one model's files (a parsed safetensors header and/or an architecture JSON) into a <see cref="NetworkSpec"/>,
/// or into diagnostics. The architecture comes from, in order: the paired <c>.mobileone.json</c>, the
/// safetensors metadata key <c>mobileone.architecture</c>, the tensor names and shapes. Everything about the network
/// itself is the shared model of docs/mobileone.md: <see cref="ArchitectureJson"/>, <see cref="TensorNames"/>,
/// <see cref="ShapeInference"/>, <see cref="NetworkShape"/> (layers, tensors, limits), <see cref="TensorCheck"/> and
/// <see cref="PackedLayout"/>; this class maps their findings to diagnostics and the result to pipeline records.
/// </summary>
internal static class ModelFileParser
{
    public static ParseResult Parse(ModelInput input, CancellationToken cancellationToken)
    {
        var diagnostics = new List<DiagnosticInfo>(input.PairingDiagnostics);
        NetworkSpec? spec = null;
        try
        {
            FaultInjection.Point(TrackingNames.BuildNetworkSpec, input.Primary.Path);
            spec = ParseCore(input, diagnostics, cancellationToken);
        }
        catch (Exception e) when (PipelineGuard.IsFailure(e, cancellationToken))
        {
            // A bug of ours must surface as a diagnostic, never as an exception thrown into the compiler.
            diagnostics.Add(PipelineGuard.InternalError(input.Primary.Path, TrackingNames.BuildNetworkSpec, e));
        }

        // Warnings about the data (MO0017) do not stop the class from being generated; any error does.
        if (input.Weights?.Content.DataWarning is DiagnosticInfo warning)
        {
            diagnostics.Add(warning);
        }

        if (input.Weights?.Content.DataError is DiagnosticInfo dataError)
        {
            diagnostics.Add(dataError);
        }

        bool failed = diagnostics.Exists(d => DiagnosticDescriptors.IsError(d.Id));
        return new ParseResult(failed ? null : spec, diagnostics.ToEquatableArray(), input.Primary.Path);
    }

    private static NetworkSpec? ParseCore(ModelInput input, List<DiagnosticInfo> diagnostics, CancellationToken cancellationToken)
    {
        ModelFile primary = input.Primary;
        foreach (ModelFile? file in new[] { input.Weights, input.Architecture })
        {
            foreach (DiagnosticInfo? error in new[] { file?.Content.ReadError, file?.OptionsError })
            {
                if (error != null)
                {
                    diagnostics.Add(error);
                }
            }
        }

        if (diagnostics.Count > 0)
        {
            return null;
        }

        ModelFile? weights = input.Weights;
        string weightsName = weights == null ? string.Empty : System.IO.Path.GetFileName(weights.Path);
        WeightHeader? header = weights?.Content.Header;
        cancellationToken.ThrowIfCancellationRequested();

        // 1. The declared architecture, if any.
        ArchitectureDocument? declared = null;
        string declaredFrom = string.Empty;
        string declaredPath = primary.Path;
        if (input.Architecture != null)
        {
            declaredFrom = System.IO.Path.GetFileName(input.Architecture.Path);
            declaredPath = input.Architecture.Path;
            declared = ArchitectureJsonReader.Read(input.Architecture.Content.Text, input.Architecture.Path, declaredFrom, inFile: true, diagnostics);
            if (declared == null)
            {
                return null;
            }
        }
        else if (header?.ArchitectureJson != null)
        {
            declaredFrom = weightsName;
            declared = ArchitectureJsonReader.Read(header.ArchitectureJson, weights!.Path, weightsName, inFile: false, diagnostics);
            if (declared == null)
            {
                return null;
            }
        }

        int inputHeight = declared?.InputHeight ?? NetworkShape.DefaultInputSize;
        int inputWidth = declared?.InputWidth ?? NetworkShape.DefaultInputSize;
        string source = declaredFrom.Length > 0 ? declaredFrom : weightsName;

        // 2. What the tensors say: their names (Apple's), the structure they imply.
        Dictionary<string, TensorEntry>? tensors = null;
        NetworkShape? shape;
        string architectureSource;
        if (header != null)
        {
            tensors = Canonicalize(header, weights!.Path, weightsName, diagnostics);
            if (tensors == null)
            {
                return null;
            }

            shape = Infer(header, tensors, inputHeight, inputWidth, weights.Path, weightsName, diagnostics);
            if (shape == null)
            {
                return null;
            }

            architectureSource = "inferred from the tensor shapes of " + weightsName;
        }
        else
        {
            // No weights: the architecture file alone, the input size and the SE blocks defaulted.
            shape = Complete(declared!, declaredPath, source, diagnostics);
            if (shape == null)
            {
                return null;
            }

            architectureSource = declaredFrom;
        }

        // 3. Merge: the declared architecture must agree with the tensors on every structural field.
        if (declared != null && header != null)
        {
            architectureSource = declaredFrom == weightsName ? "safetensors metadata of " + weightsName : declaredFrom;
            var mismatches = new List<string>();
            Compare("inputChannels", declared.InputChannels, shape.InputChannels, mismatches);
            Compare("stemChannels", declared.StemChannels, shape.StemChannels, mismatches);
            Compare("stageChannels", declared.StageChannels, shape.StageChannels, mismatches);
            Compare("stageBlocks", declared.StageBlocks, shape.StageBlocks, mismatches);
            Compare("seBlocks", declared.SeBlocks, shape.SeBlocks, mismatches);
            Compare("numClasses", declared.NumClasses, shape.NumClasses, mismatches);
            if (mismatches.Count > 0)
            {
                diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.ArchitectureMismatch, declaredPath, declaredFrom, string.Join("; ", mismatches)));
                return null;
            }
        }

        // 4. Layers, the packed layout and the buffers (each within an int), and the exact tensor list they read;
        //    compare it with the file.
        var layers = new List<LayerSpec>();
        foreach (LayerShape layer in shape.Layers())
        {
            layers.Add(LayerSpec.From(layer));
        }

        // A quantized file (docs/quantization.md): its metadata checked against the structure, its own tensor list.
        bool quantized = header != null ? header.IsQuantized : declared?.Int8 == true;
        QuantizationSpec? quantization = null;
        if (header?.IsQuantized == true)
        {
            quantization = ReadQuantization(header.QuantizationJson!, shape, weights!.Path, weightsName, diagnostics);
            if (quantization == null)
            {
                return null;
            }
        }
        else if (quantized)
        {
            // An architecture file that says "int8": the scales come with the quantized file bound at run time.
            if (shape.InputChannels > QuantizationScheme.MaxStemInputChannels)
            {
                diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.InvalidArchitecture, declaredPath, source, $"an int8 network has at most {QuantizationScheme.MaxStemInputChannels} input channels (docs/quantization.md)"));
                return null;
            }

            quantization = new QuantizationSpec(string.Empty, 0, 0f, shape.Layers().Select(_ => 0f).ToEquatableArray());
        }

        IReadOnlyList<PackedRegion> packed = quantized ? PackedLayout.QuantizedRegions(shape) : PackedLayout.Regions(shape);
        long packedLength = packed[packed.Count - 1].Offset + packed[packed.Count - 1].Length;
        var scratch = new ScratchPlan(layers, shape.NumClasses, quantized);
        if (shape.InputLength > int.MaxValue || packedLength > int.MaxValue || scratch.Length > int.MaxValue)
        {
            diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.InvalidArchitecture, declaredPath, source,
                $"the network is too large for one process: {shape.InputLength} input floats, {packedLength} packed weight floats and {scratch.Length} activation floats per thread, each limited to {int.MaxValue}"));
            return null;
        }

        IReadOnlyList<TensorShape> expected = quantized
            ? QuantizationScheme.Tensors(shape).Select(t => new TensorShape(t.Name, t.Shape)).ToList()
            : shape.FusedTensors();
        var tensorSpecs = new List<TensorSpec>(expected.Count);
        if (tensors != null)
        {
            if (quantized
                ? !CheckQuantizedTensors(shape, tensors, weights!.Path, weightsName, diagnostics)
                : !CheckTensors(expected, tensors, weights!.Path, weightsName, diagnostics))
            {
                return null;
            }

            foreach (PackedTensor e in PackedLayout.Tensors(shape, quantized))
            {
                TensorEntry t = tensors[e.Name];
                tensorSpecs.Add(new TensorSpec(e.Name, t.Name, e.Shape.ToEquatableArray(), t.DType, t.Begin, t.End, e.Packing, e.Region, e.InputScaleIndex, e.OutputScaleIndex));
            }
        }
        else
        {
            foreach (PackedTensor e in PackedLayout.Tensors(shape, quantized))
            {
                tensorSpecs.Add(new TensorSpec(e.Name, e.Name, e.Shape.ToEquatableArray(), string.Empty, -1, -1, e.Packing, e.Region, e.InputScaleIndex, e.OutputScaleIndex));
            }
        }

        if (!CheckNormalization(declared, shape, declaredPath, declaredFrom, diagnostics))
        {
            return null;
        }

        // 5. Names and options.
        ModelOptions options = primary.Options;
        string className = options.ClassName ?? ClassNameFromFileName(primary.BaseName);
        if (!IsValidTypeName(className))
        {
            diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.InvalidClassName, primary.Path, primary.BaseName, className, options.ClassName != null ? "the MobileOneClassName metadata" : "the file name"));
        }

        string ns = options.Namespace ?? (options.RootNamespace.Length > 0 ? options.RootNamespace : "MobileOne.Models");
        if (ns != "global" && !ns.Split('.').All(IsValidTypeName))
        {
            diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.InvalidOption, primary.Path, primary.BaseName, $"'{ns}' is not a valid namespace (MobileOneNamespace)"));
        }

        string accessibility = (options.Accessibility ?? "public").ToLowerInvariant();
        if (accessibility != "public" && accessibility != "internal")
        {
            diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.InvalidOption, primary.Path, primary.BaseName, $"MobileOneAccessibility must be 'public' or 'internal', not '{options.Accessibility}'"));
        }

        bool embed = true;
        if (options.Embed != null && !bool.TryParse(options.Embed, out embed))
        {
            diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.InvalidOption, primary.Path, primary.BaseName, $"MobileOneEmbed must be 'true' or 'false', not '{options.Embed}'"));
        }

        if (diagnostics.Count > 0)
        {
            return null;
        }

        // The generated code has always spelled the published variants "S0".."S4".
        string variant = shape.Variant;
        return new NetworkSpec(
            className,
            ns == "global" ? string.Empty : ns,
            accessibility,
            System.IO.Path.GetFileName(primary.Path),
            architectureSource,
            variant == "custom" ? variant : variant.ToUpperInvariant(),
            shape.InputChannels,
            shape.InputHeight,
            shape.InputWidth,
            shape.NumClasses,
            shape.ParameterCount,
            shape.Macs,
            layers.ToEquatableArray(),
            tensorSpecs.ToEquatableArray(),
            packed.Select(PackedRegionSpec.From).ToEquatableArray(),
            (declared?.Mean ?? Array.Empty<float>()).ToEquatableArray(),
            (declared?.Std ?? Array.Empty<float>()).ToEquatableArray(),
            declared?.CropPct ?? 0f,
            (declared?.Labels ?? Array.Empty<string>()).ToEquatableArray(),
            HasWeights: weights != null,
            EmbedWeights: weights != null && embed,
            ResourceName: weights == null ? string.Empty : (options.ResourceName ?? DefaultResourceName(weights.Path)),
            FileLength: weights?.Content.Length ?? 0,
            HeaderHash: weights?.Content.HeaderHash ?? 0,
            DataOffset: header?.DataOffset ?? 0,
            Quantization: quantization);
    }

    /// <summary>The quantization metadata, read and checked against the structure (MO0018 when it is not valid).</summary>
    private static QuantizationSpec? ReadQuantization(string json, NetworkShape shape, string path, string fileName, List<DiagnosticInfo> diagnostics)
    {
        QuantizationDocument? doc = QuantizationScheme.Read(json, out string? error);
        string? problem = doc == null ? "is not valid: " + error : QuantizationScheme.Check(doc, shape);
        if (problem != null)
        {
            diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.InvalidQuantization, path, fileName, doc == null ? problem : "is not valid: " + problem));
            return null;
        }

        var scales = shape.Layers().Select(l => doc!.ScaleOf(l.Name)).ToEquatableArray();
        return new QuantizationSpec(doc!.Method, doc.CalibrationImages, doc.InputScale, scales);
    }

    /// <summary>
    /// The tensors of a quantized file (<see cref="QuantizationScheme.Tensors"/>): each present with its shape (MO0007,
    /// MO0009), nothing else (MO0008), and each in its one dtype (MO0020: I8 weights, I32 biases, F32 scales and the rest).
    /// </summary>
    private static bool CheckQuantizedTensors(NetworkShape shape, Dictionary<string, TensorEntry> tensors, string path, string fileName, List<DiagnosticInfo> diagnostics)
    {
        IReadOnlyList<QuantizedTensorShape> expected = QuantizationScheme.Tensors(shape);
        var shapes = expected.Select(t => new TensorShape(t.Name, t.Shape)).ToList();
        var actual = new Dictionary<string, (int[] Shape, string DType)>(StringComparer.Ordinal);
        foreach (KeyValuePair<string, TensorEntry> pair in tensors)
        {
            actual[pair.Key] = (ToInts(pair.Value.Shape), pair.Value.DType);
        }

        int before = diagnostics.Count;
        foreach (TensorIssue issue in TensorCheck.Compare(shapes, actual, allowBatchCounters: false, _ => true))
        {
            string expectedShape = issue.ExpectedShape == null ? string.Empty : TensorShape.Format(issue.ExpectedShape);
            TensorEntry? t = tensors.TryGetValue(issue.Name, out TensorEntry? found) ? found : null;
            diagnostics.Add(issue.Kind switch
            {
                TensorIssueKind.Missing => DiagnosticInfo.Create(DiagnosticDescriptors.MissingTensor, path, fileName, issue.Name, expectedShape),
                TensorIssueKind.WrongShape => DiagnosticInfo.Create(DiagnosticDescriptors.WrongShape, path, fileName, t!.Name, t.ShapeText, expectedShape),
                _ => DiagnosticInfo.Create(DiagnosticDescriptors.UnexpectedTensor, path, fileName, t!.Name, t.DType + " " + t.ShapeText),
            });
        }

        foreach (QuantizedTensorShape e in expected)
        {
            if (tensors.TryGetValue(e.Name, out TensorEntry? t) && t.DType != e.DType)
            {
                diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.QuantizedDType, path, fileName, t.Name, t.DType, e.DType));
            }
        }

        return diagnostics.Count == before;
    }

    /// <summary>The manifest resource name the build targets give a weight file unless MobileOneResourceName is set.</summary>
    public static string DefaultResourceName(string path) => "MobileOne.Weights." + System.IO.Path.GetFileName(path);

    /// <summary><c>mobileone_s1</c> → <c>MobileOneS1</c>: words split at non-alphanumerics, each capitalised.</summary>
    public static string ClassNameFromFileName(string baseName)
    {
        var sb = new StringBuilder();
        foreach (string part in baseName.Split(new[] { '_', '-', '.', ' ' }, StringSplitOptions.RemoveEmptyEntries))
        {
            string word = string.Equals(part, "mobileone", StringComparison.OrdinalIgnoreCase) ? "MobileOne" : part;
            sb.Append(char.ToUpperInvariant(word[0])).Append(word, 1, word.Length - 1);
        }

        return sb.ToString();
    }

    private static bool IsValidTypeName(string name) =>
        SyntaxFacts.IsValidIdentifier(name) && SyntaxFacts.GetKeywordKind(name) == SyntaxKind.None && SyntaxFacts.GetContextualKeywordKind(name) != SyntaxKind.VarKeyword;

    /// <summary>
    /// The file's tensors by Apple name (<see cref="TensorNames.Canonicalize"/>), in file order; names that are neither
    /// Apple's nor timm's are kept as they are (they are unexpected tensors). Null after MO0011 (a train-time tensor,
    /// or Apple's and timm's names mixed) or MO0008 (two names for one tensor).
    /// </summary>
    private static Dictionary<string, TensorEntry>? Canonicalize(WeightHeader header, string path, string fileName, List<DiagnosticInfo> diagnostics)
    {
        foreach (TensorEntry t in header.Tensors)
        {
            string canonical = TensorNames.ToCanonical(t.Name, out _);
            if (canonical.Contains(".rbr_conv.") || canonical.Contains(".rbr_scale.") || canonical.Contains(".rbr_skip."))
            {
                diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.NotAMobileOne, path, fileName, $"tensor '{t.Name}' belongs to a train-time (unfused) checkpoint; fold its branches first (mobileone fuse)"));
                return null;
            }
        }

        CanonicalNames names = TensorNames.Canonicalize(header.Tensors.Select(t => t.Name));
        var byOriginal = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (KeyValuePair<string, string> pair in names.ToOriginal)
        {
            byOriginal[pair.Value] = pair.Key;
        }

        if (names.Error != null)
        {
            TensorEntry? second = names.ErrorTensor != null && !byOriginal.ContainsKey(names.ErrorTensor) ? header.Tensors.FirstOrDefault(t => t.Name == names.ErrorTensor) : null;
            diagnostics.Add(second != null
                ? DiagnosticInfo.Create(DiagnosticDescriptors.UnexpectedTensor, path, fileName, second.Name, second.ShapeText + " (a second name for '" + TensorNames.ToCanonical(second.Name, out _) + "')")
                : DiagnosticInfo.Create(DiagnosticDescriptors.NotAMobileOne, path, fileName, names.Error));
            return null;
        }

        var result = new Dictionary<string, TensorEntry>(StringComparer.Ordinal);
        foreach (TensorEntry t in header.Tensors)
        {
            result[byOriginal.TryGetValue(t.Name, out string? canonical) ? canonical : t.Name] = t;
        }

        return result;
    }

    /// <summary>The structure the tensor shapes imply (<see cref="ShapeInference.Infer"/>), or null after MO0011 or MO0009.</summary>
    private static NetworkShape? Infer(WeightHeader header, Dictionary<string, TensorEntry> tensors, int inputHeight, int inputWidth, string path, string fileName, List<DiagnosticInfo> diagnostics)
    {
        var shapes = new Dictionary<string, int[]>(StringComparer.Ordinal);
        foreach (KeyValuePair<string, TensorEntry> pair in tensors)
        {
            shapes[pair.Key] = ToInts(pair.Value.Shape);
        }

        InferredNetwork inferred = ShapeInference.Infer(shapes, inputHeight, inputWidth);
        if (inferred.Error == null)
        {
            return inferred.Shape;
        }

        if (inferred.IsShapeError && inferred.ErrorTensor != null && tensors.TryGetValue(inferred.ErrorTensor, out TensorEntry? wrong))
        {
            diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.WrongShape, path, fileName, wrong.Name, wrong.ShapeText, inferred.ExpectedShape ?? string.Empty));
            return null;
        }

        // Without a stem, say what the file starts with instead: usually the clue (a prefix such as "model.").
        string why = inferred.Error;
        if (inferred.ErrorTensor == "stage0.reparam_conv.weight" && header.Tensors.Count > 0)
        {
            why += "; its first tensor is '" + header.Tensors[0].Name + "'";
        }

        diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.NotAMobileOne, path, fileName, why));
        return null;
    }

    /// <summary>
    /// Every expected tensor present, with its shape and a weight dtype (<see cref="TensorCheck.Compare"/>), nothing
    /// else: MO0007, MO0009, MO0006 per expected tensor in order, then MO0008 per other tensor in file order.
    /// </summary>
    private static bool CheckTensors(IReadOnlyList<TensorShape> expected, Dictionary<string, TensorEntry> tensors, string path, string fileName, List<DiagnosticInfo> diagnostics)
    {
        var actual = new Dictionary<string, (int[] Shape, string DType)>(StringComparer.Ordinal);
        foreach (KeyValuePair<string, TensorEntry> pair in tensors)
        {
            actual[pair.Key] = (ToInts(pair.Value.Shape), pair.Value.DType);
        }

        List<TensorIssue> issues = TensorCheck.Compare(expected, actual, allowBatchCounters: false, DTypes.IsWeightFloat);
        foreach (TensorIssue issue in issues)
        {
            string expectedShape = issue.ExpectedShape == null ? string.Empty : TensorShape.Format(issue.ExpectedShape);
            TensorEntry? t = tensors.TryGetValue(issue.Name, out TensorEntry? found) ? found : null;
            diagnostics.Add(issue.Kind switch
            {
                TensorIssueKind.Missing => DiagnosticInfo.Create(DiagnosticDescriptors.MissingTensor, path, fileName, issue.Name, expectedShape),
                TensorIssueKind.WrongShape => DiagnosticInfo.Create(DiagnosticDescriptors.WrongShape, path, fileName, t!.Name, t.ShapeText, expectedShape),
                TensorIssueKind.WrongDType => DiagnosticInfo.Create(DiagnosticDescriptors.UnsupportedDType, path, fileName, t!.Name, t.DType),
                _ => DiagnosticInfo.Create(DiagnosticDescriptors.UnexpectedTensor, path, fileName, t!.Name, t.DType + " " + t.ShapeText),
            });
        }

        return issues.Count == 0;
    }

    /// <summary>
    /// The structure of an architecture file without weights: it must give (or take from its variant) every
    /// structural field but the input size (224x224 by default) and the SE blocks (none by default).
    /// </summary>
    private static NetworkShape? Complete(ArchitectureDocument document, string path, string source, List<DiagnosticInfo> diagnostics)
    {
        var missing = new List<string>();
        if (document.InputChannels == null)
        {
            missing.Add("inputChannels");
        }

        if (document.StemChannels == null)
        {
            missing.Add("stemChannels");
        }

        if (document.StageChannels == null)
        {
            missing.Add("stageChannels");
        }

        if (document.StageBlocks == null)
        {
            missing.Add("stageBlocks");
        }

        if (document.NumClasses == null)
        {
            missing.Add("numClasses");
        }

        if (missing.Count > 0)
        {
            diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.InvalidArchitecture, path, source, "without a weight file the architecture must name a 'variant' or give " + string.Join(", ", missing)));
            return null;
        }

        var shape = new NetworkShape(
            document.InputChannels!.Value,
            document.InputHeight ?? NetworkShape.DefaultInputSize,
            document.InputWidth ?? NetworkShape.DefaultInputSize,
            document.StemChannels!.Value,
            document.StageChannels!,
            document.StageBlocks!,
            document.SeBlocks ?? new int[NetworkShape.Stages],
            document.NumClasses!.Value);

        // The JSON reader enforces the same limits value by value; this catches what only the whole can break.
        string? invalid = shape.ValidationError();
        if (invalid != null)
        {
            diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.InvalidArchitecture, path, source, invalid));
            return null;
        }

        return shape;
    }

    private static bool CheckNormalization(ArchitectureDocument? declared, NetworkShape shape, string path, string source, List<DiagnosticInfo> diagnostics)
    {
        if (declared == null)
        {
            return true;
        }

        int c = shape.InputChannels;
        string? problem =
            (declared.Mean == null) != (declared.Std == null) ? "'mean' and 'std' must be given together" :
            declared.Mean != null && declared.Mean.Length != c ? $"'mean' has {declared.Mean.Length} values but the input has {c} channels" :
            declared.Std != null && declared.Std.Length != c ? $"'std' has {declared.Std.Length} values but the input has {c} channels" :
            declared.Labels != null && declared.Labels.Length != shape.NumClasses ? $"'labels' has {declared.Labels.Length} entries but the network has {shape.NumClasses} classes" :
            null;
        if (problem != null)
        {
            diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.InvalidArchitecture, path, source, problem));
            return false;
        }

        return true;
    }

    private static void Compare(string field, int? declared, int actual, List<string> mismatches)
    {
        if (declared != null && declared != actual)
        {
            mismatches.Add($"{field} is {declared} in the architecture but {actual} in the weights");
        }
    }

    private static void Compare(string field, int[]? declared, IReadOnlyList<int> actual, List<string> mismatches)
    {
        if (declared != null && !declared.SequenceEqual(actual))
        {
            mismatches.Add($"{field} is [{string.Join(", ", declared)}] in the architecture but [{string.Join(", ", actual)}] in the weights");
        }
    }

    /// <summary>A header shape as ints: the header reader refuses dimensions above <see cref="int.MaxValue"/>.</summary>
    private static int[] ToInts(EquatableArray<long> shape)
    {
        var result = new int[shape.Count];
        for (int i = 0; i < result.Length; i++)
        {
            result[i] = (int)shape[i];
        }

        return result;
    }
}
