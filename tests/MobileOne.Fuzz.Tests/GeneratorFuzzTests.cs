using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Security.Cryptography;
using System.Text;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using MobileOne.Fuzz.Tests.Infrastructure;
using Xunit;
using Xunit.Abstractions;

namespace MobileOne.Fuzz.Tests;

/// <summary>
/// Target (c): the whole generator through CSharpGeneratorDriver, on mutated weight files and mutated architecture
/// files. Every input ends in MO diagnostics or a class: never an exception in the run result (which the compiler would
/// turn into CS8785/AD0001), never a diagnostic of another ID, never an error together with source for that model, and
/// every generated source compiles.
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

        var compiled = new HashSet<string>(StringComparer.Ordinal);
        int compileBudget = 25, i = 0;
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
            i++;
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
            return Check(outcome, ref compileBudget, compiled);
        }, n => (256L * n) + (64L * 1024 * 1024), _output);

        _output.WriteLine($"{compiled.Count} distinct generated sources compiled.");
        Assert.True(stats["class"] > 0 && stats.Outcomes.Keys.Count(k => k.StartsWith("MO", StringComparison.Ordinal)) > 5, stats.ToString());
    }

    /// <summary>The checks every generator run must pass; returns the outcome (first diagnostic ID, or "class").</summary>
    public static string Check(GeneratorOutcome outcome, ref int compileBudget, HashSet<string> compiled)
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
            string text = string.Concat(run.GeneratedSources.Select(s => s.SourceText.ToString()));
            string hash = Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(text)));
            if (compileBudget > 0 && compiled.Add(hash))
            {
                compileBudget--;
                var problems = outcome.Output.GetDiagnostics().Where(d => d.Severity == DiagnosticSeverity.Error || d.Severity == DiagnosticSeverity.Warning).ToList();
                if (problems.Count > 0)
                {
                    throw new FuzzFailure("the generated source does not compile cleanly: " + string.Join(Environment.NewLine, problems.Take(5)));
                }
            }

            return outcome.Diagnostics.Length > 0 ? "class + " + outcome.Diagnostics[0].Id : "class";
        }

        return outcome.Diagnostics.Length > 0 ? outcome.Diagnostics[0].Id : "nothing";
    }
}
