using System.Collections.Generic;
using System.Collections.Immutable;
using Microsoft.CodeAnalysis;
using MobileOne.Generator.Helpers;
using MobileOne.Generator.Model;

namespace MobileOne.Generator
{
    /// <summary>
    /// Compiles each MobileOne weight file (<c>*.safetensors</c>) and architecture file (<c>*.mobileone.json</c>)
    /// given as AdditionalFiles into one specialised class. Pipeline: read (header only) → pair → parse into a
    /// value-equatable <see cref="NetworkSpec"/> → emit; diagnostics travel on their own output so that a
    /// diagnostic that only moves does not regenerate source.
    /// </summary>
    [Generator(LanguageNames.CSharp)]
    public sealed class MobileOneGenerator : IIncrementalGenerator
    {
        /// <inheritdoc/>
        public void Initialize(IncrementalGeneratorInitializationContext context)
        {
            IncrementalValuesProvider<ModelFile> files = context.AdditionalTextsProvider
                .Where(static text => ModelFileReader.IsModelFile(text.Path))
                .Combine(context.AnalyzerConfigOptionsProvider)
                .Select(static (pair, ct) => ModelFileReader.Read(pair.Left, pair.Right, ct))
                .WithTrackingName(TrackingNames.ReadModelFile);

            IncrementalValuesProvider<ParseResult> parsed = files.Collect()
                .SelectMany(static (all, ct) => ModelFileReader.Pair(all, ct))
                .WithTrackingName(TrackingNames.PairModelFiles)
                .Select(static (input, ct) => ModelFileParser.Parse(input, ct))
                .WithTrackingName(TrackingNames.BuildNetworkSpec);

            IncrementalValuesProvider<ParseResult> results = parsed.Collect()
                .SelectMany(static (all, _) => CheckClassNames(all))
                .WithTrackingName(TrackingNames.CheckClassNames);

            context.RegisterSourceOutput(
                results.Select(static (r, _) => r.Diagnostics).Where(static d => d.Count > 0),
                static (spc, diagnostics) =>
                {
                    foreach (DiagnosticInfo info in diagnostics)
                    {
                        spc.ReportDiagnostic(info.ToDiagnostic());
                    }
                });

            context.RegisterSourceOutput(
                results.Select(static (r, _) => r.Spec!).Where(static s => s != null).WithTrackingName(TrackingNames.Emit),
                static (spc, spec) => spc.AddSource(InferenceEmitter.HintName(spec), InferenceEmitter.Emit(spec)));
        }

        /// <summary>Two models may not generate the same class: the later ones get MO0013 and no source.</summary>
        private static ImmutableArray<ParseResult> CheckClassNames(ImmutableArray<ParseResult> all)
        {
            var owners = new Dictionary<string, string>(System.StringComparer.Ordinal);
            var builder = ImmutableArray.CreateBuilder<ParseResult>(all.Length);
            foreach (ParseResult result in all)
            {
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
        /// <summary>AdditionalFile → length, header text and hash.</summary>
        public const string ReadModelFile = nameof(ReadModelFile);

        /// <summary>Weights paired with architecture files.</summary>
        public const string PairModelFiles = nameof(PairModelFiles);

        /// <summary>Files → network spec or diagnostics.</summary>
        public const string BuildNetworkSpec = nameof(BuildNetworkSpec);

        /// <summary>Duplicate class names across models.</summary>
        public const string CheckClassNames = nameof(CheckClassNames);

        /// <summary>Specs that reach the emitter.</summary>
        public const string Emit = nameof(Emit);
    }
}
