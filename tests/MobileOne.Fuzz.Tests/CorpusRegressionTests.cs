using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text;
using MobileOne.Fuzz.Tests.Infrastructure;
using Xunit;
using Xunit.Abstractions;

namespace MobileOne.Fuzz.Tests;

/// <summary>
/// Inputs that once found a bug, kept in <c>Corpus/&lt;target&gt;/</c> and replayed through the same checks as the fuzz
/// loop (outcome, hang, allocation). To keep a new finding, copy it from <c>fuzz-findings/&lt;target&gt;/</c> of the test
/// output folder into <c>Corpus/&lt;target&gt;/</c>.
/// </summary>
public class CorpusRegressionTests
{
    /// <summary>Each target the corpus may hold inputs for: how one input is run, and what it may allocate.</summary>
    private static readonly Dictionary<string, (Func<byte[], string> Body, Func<long, long> Budget)> Targets = new(StringComparer.Ordinal)
    {
        ["checkpoint-pth"] = (CheckpointFuzzTests.Load, CheckpointFuzzTests.Budget),
        ["checkpoint-safetensors"] = (CheckpointFuzzTests.Load, CheckpointFuzzTests.Budget),
        ["safetensors-header"] = (input => SafetensorsHeaderFuzzTests.ParseFile(input, input.LongLength), SafetensorsHeaderFuzzTests.Budget),
        ["json"] = (input => JsonReaderFuzzTests.Parse(Encoding.UTF8.GetString(input)), n => JsonReaderFuzzTests.Budget(2 * n)),
    };

    private readonly ITestOutputHelper _output;

    public CorpusRegressionTests(ITestOutputHelper output) => _output = output;

    public static string CorpusDirectory => Path.Combine(AppContext.BaseDirectory, "Corpus");

    public static IEnumerable<object[]> CorpusTargets() =>
        Directory.EnumerateDirectories(CorpusDirectory).Select(d => new object[] { Path.GetFileName(d) }).OrderBy(t => (string)t[0], StringComparer.Ordinal);

    [Theory]
    [MemberData(nameof(CorpusTargets))]
    public void EveryKeptInputStillEndsInADocumentedOutcome(string target)
    {
        Assert.True(Targets.ContainsKey(target), $"Corpus/{target} has no replay target; add it to {nameof(CorpusRegressionTests)}.{nameof(Targets)}.");
        List<string> files = Directory.EnumerateFiles(Path.Combine(CorpusDirectory, target)).OrderBy(f => f, StringComparer.Ordinal).ToList();
        Assert.NotEmpty(files);
        var (body, budget) = Targets[target];
        FuzzStats stats = FuzzRunner.Run("corpus-" + target, files.Select(File.ReadAllBytes), body, budget, _output);
        Assert.Equal(files.Count, stats.Count);
        Assert.Equal(0, stats["FAIL"]);
    }

    [Fact]
    public void TheCorpusIsCopiedToTheOutput() =>
        Assert.Contains("checkpoint-pth", CorpusTargets().Select(t => (string)t[0]));
}
