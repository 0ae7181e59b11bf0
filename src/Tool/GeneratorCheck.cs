using System;
using System.Collections.Generic;
using System.Collections.Immutable;
using System.Diagnostics.CodeAnalysis;
using System.IO;
using System.Linq;
using System.Threading;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.Diagnostics;
using Microsoft.CodeAnalysis.Text;
using MobileOne.Generator;

namespace MobileOne.Tool;

/// <summary>What the generator says about a weight file: the classes it would generate, or its diagnostics.</summary>
internal sealed record GeneratorVerdict(bool Accepted, IReadOnlyList<string> Classes, IReadOnlyList<string> Diagnostics);

/// <summary>Runs MobileOne.Generator in-process on one file, as a build with that file as an AdditionalFiles item would.</summary>
internal static class GeneratorCheck
{
    public static GeneratorVerdict Run(string path)
    {
        var compilation = CSharpCompilation.Create("MobileOneInspect", Array.Empty<SyntaxTree>(), Array.Empty<MetadataReference>(),
            new CSharpCompilationOptions(OutputKind.DynamicallyLinkedLibrary));
        GeneratorDriver driver = CSharpGeneratorDriver.Create(
            new[] { new MobileOneGenerator().AsSourceGenerator() },
            new AdditionalText[] { new FileText(Path.GetFullPath(path)) },
            new CSharpParseOptions(LanguageVersion.CSharp12),
            new Options());
        driver = driver.RunGenerators(compilation);
        GeneratorDriverRunResult result = driver.GetRunResult();
        ImmutableArray<Diagnostic> diagnostics = result.Diagnostics;
        var classes = result.Results.SelectMany(r => r.GeneratedSources).Select(s => s.HintName).Where(n => n.EndsWith(".g.cs", StringComparison.Ordinal))
            .Select(n => n[..^".g.cs".Length]).ToList();
        var messages = diagnostics.Where(d => d.Severity >= DiagnosticSeverity.Warning).Select(d => $"{d.Id}: {d.GetMessage(System.Globalization.CultureInfo.InvariantCulture)}").ToList();
        bool errors = diagnostics.Any(d => d.Severity == DiagnosticSeverity.Error);
        return new GeneratorVerdict(!errors && classes.Count > 0, classes, messages);
    }

    private sealed class FileText : AdditionalText
    {
        public FileText(string path) => Path = path;

        public override string Path { get; }

        public override SourceText? GetText(CancellationToken cancellationToken = default) =>
            Path.EndsWith(".safetensors", StringComparison.OrdinalIgnoreCase) ? null : SourceText.From(File.ReadAllText(Path));
    }

    private sealed class Options : AnalyzerConfigOptionsProvider
    {
        private static readonly AnalyzerConfigOptions Empty = new Values(new Dictionary<string, string>());

        public override AnalyzerConfigOptions GlobalOptions { get; } = new Values(new Dictionary<string, string> { ["build_property.RootNamespace"] = "MyApp" });

        public override AnalyzerConfigOptions GetOptions(SyntaxTree tree) => Empty;

        public override AnalyzerConfigOptions GetOptions(AdditionalText textFile) => Empty;

        private sealed class Values : AnalyzerConfigOptions
        {
            private readonly Dictionary<string, string> _values;

            public Values(Dictionary<string, string> values) => _values = values;

            public override bool TryGetValue(string key, [NotNullWhen(true)] out string? value) => _values.TryGetValue(key, out value);
        }
    }
}
