using System.Collections.Generic;
using Microsoft.CodeAnalysis;

namespace MobileOne.Generator;

/// <summary>Every diagnostic (documented in docs/diagnostics.md) MobileOne.Generator reports, in one table with sequential IDs.</summary>
internal static class DiagnosticDescriptors
{
    private const string Category = "MobileOne.Generator";

    public static readonly DiagnosticDescriptor FileUnreadable = Error(
        "MO0001", "Model file cannot be read", "Cannot read model file '{0}': {1}");

    public static readonly DiagnosticDescriptor InvalidSafetensors = Error(
        "MO0002", "Invalid safetensors file", "'{0}' is not a valid safetensors file: {1}");

    public static readonly DiagnosticDescriptor InvalidArchitectureJson = Error(
        "MO0003", "Invalid architecture JSON", "Architecture '{0}' is not valid JSON: {1}");

    public static readonly DiagnosticDescriptor InvalidArchitecture = Error(
        "MO0004", "Invalid architecture", "Architecture '{0}': {1}");

    public static readonly DiagnosticDescriptor UnknownVariant = Error(
        "MO0005", "Unknown MobileOne variant", "Architecture '{0}': unknown variant '{1}' (expected one of s0, s1, s2, s3, s4)");

    public static readonly DiagnosticDescriptor UnsupportedDType = Error(
        "MO0006", "Unsupported tensor data type", "Tensor '{1}' in '{0}' has dtype {2}; F32, F16 and BF16 are supported");

    public static readonly DiagnosticDescriptor MissingTensor = Error(
        "MO0007", "Missing tensor", "'{0}' has no tensor '{1}' (expected shape {2})");

    public static readonly DiagnosticDescriptor UnexpectedTensor = Error(
        "MO0008", "Unexpected tensor", "'{0}' has tensor '{1}' {2}, which is not part of the fused MobileOne it describes");

    public static readonly DiagnosticDescriptor WrongShape = Error(
        "MO0009", "Wrong tensor shape", "Tensor '{1}' in '{0}' has shape {2}; the architecture needs {3}");

    public static readonly DiagnosticDescriptor ArchitectureMismatch = Error(
        "MO0010", "Architecture does not match the weights", "'{0}' and its weights disagree: {1}");

    public static readonly DiagnosticDescriptor NotAMobileOne = Error(
        "MO0011", "Not a fused MobileOne", "'{0}' is not a fused MobileOne weight file: {1}");

    public static readonly DiagnosticDescriptor InvalidClassName = Error(
        "MO0012", "Invalid class name", "'{1}' (from {2}) is not a valid C# class name for model '{0}'; set the MobileOneClassName item metadata");

    public static readonly DiagnosticDescriptor DuplicateClassName = Error(
        "MO0013", "Duplicate class name", "Model '{0}' would generate class '{1}', which model '{2}' already generates; set the MobileOneClassName item metadata");

    public static readonly DiagnosticDescriptor InvalidOption = Error(
        "MO0014", "Invalid item metadata", "Model '{0}': {1}");

    public static readonly DiagnosticDescriptor DuplicateModelFile = Error(
        "MO0015", "More than one file of a kind for one model", "Model '{0}' has more than one {1} file: '{2}' and '{3}'; keep one");

    public static readonly DiagnosticDescriptor InternalError = Error(
        "MO0016", "Internal generator error", "MobileOne.Generator failed on '{0}': {1}. Please report this with the file.");

    public static readonly DiagnosticDescriptor NonFiniteWeights = Warning(
        "MO0017", "Weights contain NaN or infinity", "'{0}' has {1} NaN or infinite weight value(s) in {2} tensor(s), the first in '{3}' at element {4}; the network's outputs may be NaN or infinite");

    public static readonly DiagnosticDescriptor InvalidQuantization = Error(
        "MO0018", "Invalid quantization metadata", "'{0}' is not a valid quantized MobileOne: its 'mobileone.quantization' metadata {1} (docs/quantization.md)");

    public static readonly DiagnosticDescriptor InvalidQuantizedWeights = Error(
        "MO0019", "Invalid quantized weights", "Tensor '{1}' in '{0}' {2} (docs/quantization.md); quantize the FP32 network again with mobileone quantize");

    public static readonly DiagnosticDescriptor QuantizedDType = Error(
        "MO0020", "Wrong data type in a quantized file", "Tensor '{1}' in '{0}' has dtype {2}; a quantized MobileOne stores it as {3}");

    private static readonly Dictionary<string, DiagnosticDescriptor> ById = new Dictionary<string, DiagnosticDescriptor>
    {
        [FileUnreadable.Id] = FileUnreadable,
        [InvalidSafetensors.Id] = InvalidSafetensors,
        [InvalidArchitectureJson.Id] = InvalidArchitectureJson,
        [InvalidArchitecture.Id] = InvalidArchitecture,
        [UnknownVariant.Id] = UnknownVariant,
        [UnsupportedDType.Id] = UnsupportedDType,
        [MissingTensor.Id] = MissingTensor,
        [UnexpectedTensor.Id] = UnexpectedTensor,
        [WrongShape.Id] = WrongShape,
        [ArchitectureMismatch.Id] = ArchitectureMismatch,
        [NotAMobileOne.Id] = NotAMobileOne,
        [InvalidClassName.Id] = InvalidClassName,
        [DuplicateClassName.Id] = DuplicateClassName,
        [InvalidOption.Id] = InvalidOption,
        [DuplicateModelFile.Id] = DuplicateModelFile,
        [InternalError.Id] = InternalError,
        [NonFiniteWeights.Id] = NonFiniteWeights,
        [InvalidQuantization.Id] = InvalidQuantization,
        [InvalidQuantizedWeights.Id] = InvalidQuantizedWeights,
        [QuantizedDType.Id] = QuantizedDType,
    };

    public static IEnumerable<DiagnosticDescriptor> All => ById.Values;

    public static DiagnosticDescriptor Get(string id) => ById[id];

    /// <summary>Whether <paramref name="id"/> is an error (which suppresses the model's source), not a warning.</summary>
    public static bool IsError(string id) => Get(id).DefaultSeverity == DiagnosticSeverity.Error;

    private static DiagnosticDescriptor Error(string id, string title, string message) =>
        new DiagnosticDescriptor(id, title, message, Category, DiagnosticSeverity.Error, isEnabledByDefault: true);

    private static DiagnosticDescriptor Warning(string id, string title, string message) =>
        new DiagnosticDescriptor(id, title, message, Category, DiagnosticSeverity.Warning, isEnabledByDefault: true);
}
