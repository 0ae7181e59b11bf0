using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Security.Cryptography;
using System.Text;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using MobileOne.Fuzz.Tests.Infrastructure;
using MobileOne.Generator.Tests.Infrastructure;
using Xunit;
using Xunit.Abstractions;

namespace MobileOne.Fuzz.Tests;

/// <summary>
/// Target (c): the whole generator through CSharpGeneratorDriver, on mutated weight files and mutated architecture
/// files. Every input ends in MO diagnostics or a class: never an exception in the run result (which the compiler would
/// turn into CS8785/AD0001), never a diagnostic of another ID, never an error together with source for that model, and
/// every generated source compiles without errors or warnings: each distinct one is kept during the run and compiled
/// afterwards, many to a compilation (<see cref="GeneratedSources"/>).
/// </summary>
public class GeneratorFuzzTests
{
    /// <summary>Every ID in the descriptor table.</summary>
    public static readonly HashSet<string> KnownIds = new(Enumerable.Range(1, 17).Select(i => "MO" + i.ToString("D4", System.Globalization.CultureInfo.InvariantCulture)));

    private readonly ITestOutputHelper _output;

    public GeneratorFuzzTests(ITestOutputHelper output) => _output = output;

    [Fact]
    public void MutatedWeightAndArchitectureFiles()
    {
        // S0 seeds are headers only: the file gets the seed's data length of zeros appended (what a sparse file reads as).
        IReadOnlyList<Seed> tiny = Seeds.Tiny;
        var weightSeeds = tiny.Select(s => s.Bytes).ToList();
        var weights = new Mutator(FuzzOptions.Seed(5), weightSeeds);
        var s0 = new Mutator(FuzzOptions.Seed(6), Seeds.S0.Select(s => s.Bytes).ToList());
        var architectures = new Mutator(FuzzOptions.Seed(7), Seeds.ArchitectureTexts().Select(t => Encoding.UTF8.GetBytes(t)).ToList(), safetensors: false);
        string dir = Path.Combine(GeneratedNet.Directory, "generator");
        Directory.CreateDirectory(dir);
        string weightsPath = Path.Combine(dir, "fuzz_net.safetensors");
        string archPath = Path.Combine(dir, "fuzz_net.mobileone.json");
        string validWeights = Path.Combine(dir, "valid", "fuzz_net.safetensors");
        Directory.CreateDirectory(Path.GetDirectoryName(validWeights)!);
        File.WriteAllBytes(validWeights, Seeds.Tiny[0].Bytes);
        string validArch = Path.Combine(dir, "valid", "fuzz_net.mobileone.json");

        var generated = new GeneratedSources();
        long s0Tail = Seeds.S0[0].DataLength;

        IEnumerable<byte[]> Inputs()
        {
            int n = FuzzOptions.Iterations();
            for (int k = 0; k < n; k++)
            {
                // Tag byte: 0 = weights, 1 = S0 weights, 2 = architecture alone, 3 = architecture paired with valid weights.
                int kind = k % 10 < 6 ? 0 : k % 10 == 6 ? 1 : k % 10 < 9 ? 2 : 3;
                byte[] body = kind switch { 0 => weights.Next(), 1 => s0.Next(), _ => architectures.Next() };
                yield return new[] { (byte)kind }.Concat(body).ToArray();
            }
        }

        FuzzStats stats = FuzzRunner.Run("generator", Inputs(), input =>
        {
            int kind = input[0];
            byte[] body = input.AsSpan(1).ToArray();
            (string Path, string? Text)[] files;
            if (kind <= 1)
            {
                using (var fs = File.Create(weightsPath))
                {
                    fs.Write(body);
                    if (kind == 1)
                    {
                        fs.SetLength(body.LongLength + s0Tail);
                    }
                }

                files = new[] { (weightsPath, (string?)null) };
            }
            else
            {
                string text = Encoding.UTF8.GetString(body);
                files = kind == 2 ? new[] { (archPath, (string?)text) } : new[] { (validWeights, (string?)null), (validArch, (string?)text) };
            }

            GeneratorOutcome outcome = GeneratorRunner.Run(files);
            return Check(outcome, input, generated);
        }, n => (256L * n) + (64L * 1024 * 1024), _output);

        Assert.True(stats["class"] > 0 && stats.Outcomes.Keys.Count(k => k.StartsWith("MO", StringComparison.Ordinal)) > 5, stats.ToString());

        // Every distinct generated source compiles, not a sample of them.
        var watch = System.Diagnostics.Stopwatch.StartNew();
        IReadOnlyList<string> problems = generated.CompileAll("generator");
        _output.WriteLine($"{generated.Count} distinct generated sources (of {stats.Outcomes.Where(o => o.Key.StartsWith("class", StringComparison.Ordinal)).Sum(o => o.Value)} runs that generated a class) compiled in {generated.Compilations} compilations in {watch.Elapsed.TotalSeconds:F1} s.");
        Assert.True(problems.Count == 0, $"{problems.Count} generated source(s) do not compile cleanly:{Environment.NewLine}" + string.Join(Environment.NewLine + Environment.NewLine, problems.Take(10)));
        Assert.True(generated.Count > 1, $"Only {generated.Count} distinct generated source(s): the mutations reached no other valid model.");
    }

    /// <summary>
    /// The checks every generator run must pass; returns the outcome (first diagnostic ID, or "class"). A generated
    /// source is handed to <paramref name="generated"/>, to be compiled after the run.
    /// </summary>
    public static string Check(GeneratorOutcome outcome, byte[] input, GeneratedSources generated)
    {
        GeneratorRunResult run = outcome.Single;
        if (run.Exception != null)
        {
            throw new FuzzFailure("the generator threw into the driver: " + run.Exception);
        }

        foreach (Diagnostic d in outcome.Diagnostics)
        {
            if (!KnownIds.Contains(d.Id))
            {
                throw new FuzzFailure("unexpected diagnostic " + d);
            }

            if (d.Id == "MO0016")
            {
                throw new FuzzFailure("internal error reported: " + d);
            }
        }

        bool errors = outcome.Diagnostics.Any(d => d.Severity == DiagnosticSeverity.Error);
        if (errors && run.GeneratedSources.Length > 0)
        {
            throw new FuzzFailure("source generated despite " + string.Join("; ", outcome.Diagnostics));
        }

        if (run.GeneratedSources.Length > 0)
        {
            generated.Add(run.GeneratedSources, input);
            return outcome.Diagnostics.Length > 0 ? "class + " + outcome.Diagnostics[0].Id : "class";
        }

        return outcome.Diagnostics.Length > 0 ? outcome.Diagnostics[0].Id : "nothing";
    }
}

/// <summary>
/// The distinct sources a fuzz run generated (by SHA-256 of their text), each with the first input that produced it,
/// compiled after the run many to a compilation: each source's namespace gets a suffix (<c>FuzzApp</c> becomes
/// <c>FuzzApp.Source17</c>) so that the classes, which all have the same name, do not collide. A compilation has the
/// references and options of <see cref="GeneratorHarness.CreateCompilation"/>, as the generator run's own output had.
/// </summary>
public sealed class GeneratedSources
{
    /// <summary>Sources per compilation: one compilation's fixed cost is shared, and a batch stays a few MB of text.</summary>
    public const int BatchSize = 32;

    private readonly Dictionary<string, int> _index = new(StringComparer.Ordinal);
    private readonly List<(string[] HintNames, string[] Texts, byte[] Input)> _sources = new();

    /// <summary>Distinct sources kept.</summary>
    public int Count => _sources.Count;

    /// <summary>Compilations made by <see cref="CompileAll"/>.</summary>
    public int Compilations { get; private set; }

    public void Add(IReadOnlyList<GeneratedSourceResult> sources, byte[] input)
    {
        string[] texts = sources.Select(s => s.SourceText.ToString()).ToArray();
        string hash = Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(string.Join("\0", texts))));
        if (_index.TryAdd(hash, _sources.Count))
        {
            _sources.Add((sources.Select(s => s.HintName).ToArray(), texts, input));
        }
    }

    /// <summary>
    /// Compiles every source; returns one message per source with errors or warnings (its input is saved as a finding
    /// of <paramref name="target"/>). A source without a namespace to rename is compiled on its own.
    /// </summary>
    public IReadOnlyList<string> CompileAll(string target)
    {
        var problems = new List<string>();
        var batch = new List<(int Source, SyntaxTree Tree)>();
        for (int k = 0; k < _sources.Count; k++)
        {
            (string[] hints, string[] texts, _) = _sources[k];
            var trees = new List<SyntaxTree>();
            bool renamed = true;
            for (int t = 0; t < texts.Length; t++)
            {
                SyntaxTree tree = CSharpSyntaxTree.ParseText(texts[t], GeneratorHarness.ParseOptions, $"Source{k}/{hints[t]}");
                CompilationUnitSyntax root = tree.GetCompilationUnitRoot();
                var namespaces = root.Members.OfType<BaseNamespaceDeclarationSyntax>().ToList();
                renamed &= namespaces.Count > 0;
                string suffix = "Source" + k.ToString(System.Globalization.CultureInfo.InvariantCulture);
                root = root.ReplaceNodes(namespaces, (_, ns) => ns.WithName(SyntaxFactory.QualifiedName(ns.Name, SyntaxFactory.IdentifierName(suffix))));
                trees.Add(tree.WithRootAndOptions(root, tree.Options));
            }

            if (!renamed)
            {
                Compile(trees.Select(t => (k, t)).ToList(), target, problems);
                continue;
            }

            batch.AddRange(trees.Select(t => (k, t)));
            if (batch.Select(b => b.Source).Distinct().Count() >= BatchSize)
            {
                Compile(batch, target, problems);
                batch.Clear();
            }
        }

        if (batch.Count > 0)
        {
            Compile(batch, target, problems);
        }

        return problems;
    }

    private void Compile(IReadOnlyList<(int Source, SyntaxTree Tree)> trees, string target, List<string> problems)
    {
        Compilations++;
        Dictionary<SyntaxTree, int> owner = trees.ToDictionary(t => t.Tree, t => t.Source);
        CSharpCompilation compilation = GeneratorHarness.CreateCompilation().AddSyntaxTrees(trees.Select(t => t.Tree));
        var bad = compilation.GetDiagnostics()
            .Where(d => d.Severity is DiagnosticSeverity.Error or DiagnosticSeverity.Warning)
            .GroupBy(d => d.Location.SourceTree is { } tree && owner.TryGetValue(tree, out int k) ? k : -1);
        foreach (IGrouping<int, Diagnostic> group in bad)
        {
            string what = group.Key >= 0
                ? $"source {group.Key} (input saved as {FuzzRunner.Save(target, _sources[group.Key].Input)})"
                : $"compilation of sources {string.Join(", ", owner.Values.Distinct())} (no single source)";
            problems.Add($"{what}: {string.Join(Environment.NewLine, group.Take(5))}");
        }
    }
}
