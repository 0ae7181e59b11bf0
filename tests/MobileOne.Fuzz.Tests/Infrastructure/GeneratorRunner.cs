using System.Collections.Generic;
using System.Collections.Immutable;
using System.Linq;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using MobileOne.Generator.Tests.Infrastructure;

namespace MobileOne.Fuzz.Tests.Infrastructure;

/// <summary>Runs MobileOneGenerator in-process, as the compiler would, through the generator tests' harness.</summary>
public static class GeneratorRunner
{
    private static readonly Dictionary<string, string> GlobalOptions = new() { ["build_property.RootNamespace"] = "FuzzApp" };

    /// <summary>Runs the generator over the given files (path, and text for architecture files).</summary>
    public static GeneratorOutcome Run(IEnumerable<(string Path, string? Text)> files) =>
        new(GeneratorHarness.Run(files.Select(f => new ModelItem(f.Path, Text: f.Text)), GlobalOptions));
}

/// <summary>What one generator run produced.</summary>
public sealed record GeneratorOutcome(GeneratorRun Run)
{
    public GeneratorRunResult Single => Run.Result.Results.Single();

    public ImmutableArray<Diagnostic> Diagnostics => Run.GeneratorDiagnostics;

    public CSharpCompilation Output => Run.Compilation;

    public ImmutableArray<GeneratedSourceResult> Sources => Single.GeneratedSources;
}
