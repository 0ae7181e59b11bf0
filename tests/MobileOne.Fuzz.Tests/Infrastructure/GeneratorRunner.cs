using System;
using System.Collections.Generic;
using System.Collections.Immutable;
using System.Diagnostics.CodeAnalysis;
using System.IO;
using System.Linq;
using System.Reflection;
using System.Runtime.Loader;
using System.Threading;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.Diagnostics;
using Microsoft.CodeAnalysis.Text;
using MobileOne.Generator;
using MobileOne.Runtime;

namespace MobileOne.Fuzz.Tests.Infrastructure;

/// <summary>Runs MobileOneGenerator in-process with CSharpGeneratorDriver, as the compiler would.</summary>
public static class GeneratorRunner
{
    private static readonly Lazy<MetadataReference[]> References = new(() =>
    {
        string tpa = (string)AppContext.GetData("TRUSTED_PLATFORM_ASSEMBLIES")!;
        var paths = tpa.Split(Path.PathSeparator).Where(p => Path.GetFileName(p).StartsWith("System.", StringComparison.Ordinal) || Path.GetFileName(p) is "mscorlib.dll" or "netstandard.dll").ToList();
        paths.Add(typeof(IMobileOneNetwork).Assembly.Location);
        return paths.Distinct().Select(p => (MetadataReference)MetadataReference.CreateFromFile(p)).ToArray();
    });

    public static CSharpParseOptions ParseOptions { get; } = new(LanguageVersion.CSharp12);

    public static CSharpCompilation EmptyCompilation { get; } = CSharpCompilation.Create(
        "FuzzModels",
        Array.Empty<SyntaxTree>(),
        References.Value,
        new CSharpCompilationOptions(OutputKind.DynamicallyLinkedLibrary, nullableContextOptions: NullableContextOptions.Enable));

    /// <summary>Runs the generator over the given files (path, and text for architecture files).</summary>
    public static GeneratorOutcome Run(IEnumerable<(string Path, string? Text)> files, CancellationToken cancellationToken = default)
    {
        GeneratorDriver driver = CSharpGeneratorDriver.Create(
            new[] { new MobileOneGenerator().AsSourceGenerator() },
            files.Select(f => (AdditionalText)new FileText(f.Path, f.Text)),
            ParseOptions,
            new Options(),
            new GeneratorDriverOptions(IncrementalGeneratorOutputKind.None, trackIncrementalGeneratorSteps: false));
        driver = driver.RunGeneratorsAndUpdateCompilation(EmptyCompilation, out Compilation output, out ImmutableArray<Diagnostic> diagnostics, cancellationToken);
        return new GeneratorOutcome(driver.GetRunResult(), diagnostics, (CSharpCompilation)output);
    }

    /// <summary>Emits a generated compilation, with <paramref name="weights"/> embedded as the build targets would, and loads it.</summary>
    public static (AssemblyLoadContext Context, Assembly Assembly) CompileAndLoad(CSharpCompilation compilation, string? weightsPath)
    {
        var resources = weightsPath == null
            ? new List<ResourceDescription>()
            : new List<ResourceDescription> { new("MobileOne.Weights." + Path.GetFileName(weightsPath), () => File.OpenRead(weightsPath), isPublic: true) };
        using var pe = new MemoryStream();
        var emit = compilation.Emit(pe, manifestResources: resources);
        if (!emit.Success)
        {
            throw new InvalidOperationException("Generated code does not compile:" + Environment.NewLine + string.Join(Environment.NewLine, emit.Diagnostics.Where(d => d.Severity == DiagnosticSeverity.Error)));
        }

        var context = new AssemblyLoadContext("FuzzModels" + Guid.NewGuid().ToString("N"), isCollectible: true);
        pe.Position = 0;
        return (context, context.LoadFromStream(pe));
    }

    /// <summary>An AdditionalFile on disk; asking for the text of a weight file is a bug (CS2015 in a real build).</summary>
    private sealed class FileText : AdditionalText
    {
        private readonly string? _text;

        public FileText(string path, string? text)
        {
            Path = path;
            _text = text;
        }

        public override string Path { get; }

        public override SourceText? GetText(CancellationToken cancellationToken = default)
        {
            if (Path.EndsWith(".safetensors", StringComparison.OrdinalIgnoreCase))
            {
                throw new InvalidOperationException("The generator called GetText() on a binary weight file: " + Path);
            }

            return SourceText.From(_text ?? File.ReadAllText(Path));
        }
    }

    private sealed class Options : AnalyzerConfigOptionsProvider
    {
        public override AnalyzerConfigOptions GlobalOptions { get; } = new Values(new Dictionary<string, string> { ["build_property.RootNamespace"] = "FuzzApp" });

        public override AnalyzerConfigOptions GetOptions(SyntaxTree tree) => new Values(new());

        public override AnalyzerConfigOptions GetOptions(AdditionalText textFile) => new Values(new());
    }

    private sealed class Values : AnalyzerConfigOptions
    {
        private readonly Dictionary<string, string> _values;

        public Values(Dictionary<string, string> values) => _values = values;

        public override bool TryGetValue(string key, [NotNullWhen(true)] out string? value) => _values.TryGetValue(key, out value);
    }
}

/// <summary>What one generator run produced.</summary>
public sealed record GeneratorOutcome(GeneratorDriverRunResult Result, ImmutableArray<Diagnostic> Diagnostics, CSharpCompilation Output)
{
    public GeneratorRunResult Single => Result.Results.Single();

    public ImmutableArray<GeneratedSourceResult> Sources => Single.GeneratedSources;
}
