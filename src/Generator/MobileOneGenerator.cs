using System.Collections.Generic;
using System.Collections.Immutable;
using Microsoft.CodeAnalysis;
using MobileOne.Generator.Helpers;
using MobileOne.Generator.Model;

namespace MobileOne.Generator;

/// <summary>
/// Compiles each MobileOne weight file (<c>*.safetensors</c>) and architecture file (<c>*.mobileone.json</c>)
/// given as AdditionalFiles into one specialised class. Pipeline: read (an architecture file's text; a weight
/// file's header, parsed, plus a NaN/Inf scan of the tensor bytes that keeps only its outcome) and, apart from it,
/// read the options → pair (each file with its options) → parse into a value-equatable <see cref="NetworkSpec"/> →
/// check class names → emit. Each step runs through <see cref="PipelineGuard"/>, so an exception is MO0016 at
/// the file, never a crash of the compiler. Diagnostics travel on their own output so that a diagnostic that
/// only moves does not regenerate source.
/// </summary>
[Generator(LanguageNames.CSharp)]
public sealed class MobileOneGenerator : IIncrementalGenerator
{
    /// <inheritdoc/>
    public void Initialize(IncrementalGeneratorInitializationContext context)
    {
        // Every step runs through PipelineGuard: an exception in any of them is MO0016 at its file, never a
        // generator crash (CS8785/AD0001), and the other models still generate.
        IncrementalValuesProvider<AdditionalText> modelFiles = context.AdditionalTextsProvider
            .Where(static text => ModelFileReader.IsModelFile(text.Path));

        // The read step depends on the AdditionalText alone: the driver caches it until the file changes, so an
        // options change (an .editorconfig, a build property, any file's item metadata) never reads or rescans
        // the weights again. The options are read in a step of their own and joined to the files when pairing.
        IncrementalValuesProvider<ModelFileContent> contents = modelFiles
            .Select(static (text, ct) => PipelineGuard.Read(text, ct))
            .WithTrackingName(TrackingNames.ReadModelFile);

        IncrementalValuesProvider<ModelFileOptions> options = modelFiles
            .Combine(context.AnalyzerConfigOptionsProvider)
            .Select(static (pair, ct) => PipelineGuard.Read(pair.Left, pair.Right, ct))
            .WithTrackingName(TrackingNames.ReadModelOptions);

        IncrementalValuesProvider<ParseResult> parsed = contents.Collect()
            .Combine(options.Collect())
            .SelectMany(static (all, ct) => PipelineGuard.Pair(all.Left, all.Right, ct))
            .WithTrackingName(TrackingNames.PairModelFiles)
            .Select(static (input, ct) => PipelineGuard.Parse(input, ct))
            .WithTrackingName(TrackingNames.BuildNetworkSpec);

        IncrementalValuesProvider<ParseResult> results = parsed.Collect()
            .SelectMany(static (all, ct) => PipelineGuard.CheckClassNames(all, ct))
            .WithTrackingName(TrackingNames.CheckClassNames);

        context.RegisterSourceOutput(
            results.Select(static (r, _) => r.Diagnostics).Where(static d => d.Count > 0),
            static (spc, diagnostics) => PipelineGuard.Report(spc, diagnostics));

        // The spec and its file (for MO0016's location), not the ParseResult: a change of diagnostics alone does
        // not regenerate source.
        context.RegisterSourceOutput(
            results.Where(static r => r.Spec != null).Select(static (r, _) => new EmitInput(r.Spec!, r.FilePath)).WithTrackingName(TrackingNames.Emit),
            static (spc, input) => PipelineGuard.Emit(spc, input));
    }

    /// <summary>Two models may not generate the same class: the later ones get MO0013 and no source.</summary>
    internal static ImmutableArray<ParseResult> CheckClassNames(ImmutableArray<ParseResult> all)
    {
        var owners = new Dictionary<string, string>(System.StringComparer.Ordinal);
        var builder = ImmutableArray.CreateBuilder<ParseResult>(all.Length);
        foreach (ParseResult result in all)
        {
            FaultInjection.Point(TrackingNames.CheckClassNames, result.FilePath);
            NetworkSpec? spec = result.Spec;
            if (spec == null)
            {
                builder.Add(result);
                continue;
            }

            string fullName = spec.Namespace.Length == 0 ? spec.ClassName : spec.Namespace + "." + spec.ClassName;
            if (owners.TryGetValue(fullName, out string? owner))
            {
                var diagnostic = DiagnosticInfo.Create(DiagnosticDescriptors.DuplicateClassName, result.FilePath, spec.SourceFileName, fullName, owner);
                builder.Add(new ParseResult(null, new EquatableArray<DiagnosticInfo>(new[] { diagnostic }), result.FilePath));
            }
            else
            {
                owners.Add(fullName, spec.SourceFileName);
                builder.Add(result);
            }
        }

        return builder.MoveToImmutable();
    }
}

/// <summary>Names of the pipeline steps, for incremental-caching tests.</summary>
public static class TrackingNames
{
    /// <summary>AdditionalFile → its content: architecture text, or weight file length, header hash, parsed header and NaN/Inf scan outcome.</summary>
    public const string ReadModelFile = nameof(ReadModelFile);

    /// <summary>AdditionalFile and analyzer options → the file's item metadata and the build properties.</summary>
    public const string ReadModelOptions = nameof(ReadModelOptions);

    /// <summary>Files joined with their options; weights paired with architecture files.</summary>
    public const string PairModelFiles = nameof(PairModelFiles);

    /// <summary>Files → network spec or diagnostics.</summary>
    public const string BuildNetworkSpec = nameof(BuildNetworkSpec);

    /// <summary>Duplicate class names across models.</summary>
    public const string CheckClassNames = nameof(CheckClassNames);

    /// <summary>Specs (with their file) that reach the emitter.</summary>
    public const string Emit = nameof(Emit);
}
