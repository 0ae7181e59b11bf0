using System;
using System.Collections.Generic;
using System.Collections.Immutable;
using System.IO;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.CodeAnalysis;
using MobileOne.Generator.Tests.Infrastructure;
using MobileOne.TestSupport;
using Xunit;

namespace MobileOne.Generator.Tests;

/// <summary>
/// An exception in any pipeline step (a bug of ours) is MO0016 at the file it happened on, never an exception thrown
/// into the compiler (CS8785/AD0001), and the other models of the compilation still generate. The exceptions are
/// injected through <see cref="FaultInjection"/> (internal, reached through InternalsVisibleTo), keyed on the step and
/// the file's path and installed per execution context, so tests running in parallel do not see them.
/// </summary>
public class GeneratorFaultTests
{
    private static readonly MobileOneArchitecture Tiny = TestNets.TinySe;

    private static readonly string[] Steps =
    {
        TrackingNames.ReadModelFile, TrackingNames.PairModelFiles, TrackingNames.BuildNetworkSpec, TrackingNames.CheckClassNames, TrackingNames.Emit,
    };

    public static TheoryData<string, string, string> Faults()
    {
        var data = new TheoryData<string, string, string>();
        foreach (string step in Steps)
        {
            data.Add(step, "faulty.safetensors", nameof(InvalidOperationException));
            data.Add(step, "faulty.mobileone.json", nameof(InvalidOperationException));

            // An OperationCanceledException the driver did not ask for (its token is not cancelled) is a bug too.
            data.Add(step, "faulty.safetensors", nameof(OperationCanceledException));
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Faults))]
    public void ExceptionInAStepIsMO0016AtTheFileAndOtherModelsStillGenerate(string step, string faultyFile, string exceptionType)
    {
        using var models = new TempModels();
        string[] files = WriteModels(models, faultyFile);
        string faulty = models.PathOf(faultyFile);
        int thrown = 0;
        Exception? Fault(string s, string path)
        {
            if (s != step || path != faulty)
            {
                return null;
            }

            thrown++;
            return exceptionType == nameof(OperationCanceledException) ? new OperationCanceledException("injected fault") : new InvalidOperationException("injected fault");
        }

        GeneratorRun run;
        using (FaultInjection.Install(Fault))
        {
            run = GeneratorHarness.Run(files);
        }

        Assert.True(thrown > 0, $"the fault point of {step} was not reached for {faultyFile}");
        RunAssert.NoGeneratorException(run);
        Diagnostic d = Assert.Single(run.GeneratorDiagnostics);
        RunAssert.Error(d, "MO0016", faulty, $"MobileOne.Generator failed on '{faultyFile}': {exceptionType} in {step}: injected fault. Please report this with the file.");
        Assert.Equal(new[] { "TestApp.Good.g.cs", "TestApp.Other.g.cs" }, run.HintNames.OrderBy(h => h, StringComparer.Ordinal));
        AssertCompiles(run);

        // The hook is gone after the test: the same files generate all three classes.
        RunAssert.Clean(GeneratorHarness.Run(files));
    }

    /// <summary>Reporting a diagnostic that throws reports MO0016 in its place.</summary>
    [Fact]
    public void ExceptionWhileReportingADiagnosticIsMO0016()
    {
        using var models = new TempModels();
        string good = models.WriteWeights("good.safetensors", Tiny, TestNets.SeededWeights(Tiny, 1));
        string broken = models.WriteText("broken.mobileone.json", "{\"variant\": \"s9\"}");
        RunAssert.SingleError(GeneratorHarness.Run(broken), "MO0005", broken, "unknown variant 's9'", 1, 13);

        GeneratorRun run;
        using (FaultInjection.Install((s, path) => s == FaultInjection.ReportDiagnostics && path == broken ? new KeyNotFoundException("injected fault") : null))
        {
            run = GeneratorHarness.Run(good, broken);
        }

        RunAssert.NoGeneratorException(run);
        RunAssert.Error(Assert.Single(run.GeneratorDiagnostics), "MO0016", broken, "MobileOne.Generator failed on 'broken.mobileone.json': KeyNotFoundException in ReportDiagnostics: injected fault.");
        Assert.Equal(new[] { "TestApp.Good.g.cs" }, run.HintNames);
    }

    /// <summary>
    /// A step over all files (pairing, the class-name check) that throws only on the files together, not on any file
    /// alone, cannot be pinned on one file: every file of the step gets MO0016, and still nothing is thrown.
    /// </summary>
    [Theory]
    [InlineData(TrackingNames.PairModelFiles)]
    [InlineData(TrackingNames.CheckClassNames)]
    public void StepThatFailsOnlyOnAllFilesTogetherFailsEachOfThem(string step)
    {
        using var models = new TempModels();
        string[] files = WriteModels(models, "faulty.safetensors");
        int calls = 0;

        GeneratorRun run;
        using (FaultInjection.Install((s, path) => s == step && files.Contains(path) && ++calls == 1 ? new InvalidOperationException("injected fault") : null))
        {
            run = GeneratorHarness.Run(files);
        }

        RunAssert.NoGeneratorException(run);
        Assert.Empty(run.HintNames);
        Assert.Equal(files.OrderBy(f => f, StringComparer.Ordinal), run.GeneratorDiagnostics.Select(d => d.Location.GetLineSpan().Path).OrderBy(f => f, StringComparer.Ordinal));
        Assert.All(run.GeneratorDiagnostics, d => Assert.Contains($"InvalidOperationException in {step}: injected fault", d.GetMessage(System.Globalization.CultureInfo.InvariantCulture), StringComparison.Ordinal));
        Assert.All(run.GeneratorDiagnostics, d => Assert.Equal("MO0016", d.Id));
    }

    /// <summary>Cancellation the driver asked for is not a failure: it propagates, and nothing is reported.</summary>
    [Fact]
    public void RequestedCancellationPropagates()
    {
        using var models = new TempModels();
        string path = models.WriteWeights("net.safetensors", Tiny, TestNets.SeededWeights(Tiny, 1));
        using var cancel = new CancellationTokenSource();
        cancel.Cancel();
        using (FaultInjection.Install((_, _) => new OperationCanceledException(cancel.Token)))
        {
            Assert.Throws<OperationCanceledException>(() => PipelineGuard.Read(new TestAdditionalText(path), new TestOptionsProvider(), cancel.Token));
            Assert.Throws<OperationCanceledException>(() => PipelineGuard.Pair(ImmutableArray.Create(new global::MobileOne.Generator.Model.ModelFile(ModelFileReader.ReadWeights(path), new Model.ModelOptions(null, null, null, null, null, "TestApp"))), cancel.Token));
        }
    }

    /// <summary>The hook is per execution context: a generator run that does not inherit it (another test's) is unaffected.</summary>
    [Fact]
    public async Task HookDoesNotReachOtherExecutionContexts()
    {
        using var models = new TempModels();
        string[] files = WriteModels(models, "faulty.safetensors");
        using (FaultInjection.Install((_, path) => files.Contains(path) ? new InvalidOperationException("injected fault") : null))
        {
            Task<GeneratorRun> elsewhere;
            using (ExecutionContext.SuppressFlow())
            {
                elsewhere = Task.Run(() => GeneratorHarness.Run(files));
            }

            RunAssert.Clean(await elsewhere);
            GeneratorRun here = GeneratorHarness.Run(files);
            RunAssert.NoGeneratorException(here);
            Assert.Empty(here.HintNames);

            // Every step throws for every file here, so each file gets an MO0016 from each step it reaches.
            Assert.All(here.GeneratorDiagnostics, d => Assert.Equal("MO0016", d.Id));
            Assert.Equal(files.Order(StringComparer.Ordinal), here.GeneratorDiagnostics.Select(d => d.Location.GetLineSpan().Path).Distinct().Order(StringComparer.Ordinal));
        }
    }

    /// <summary>good.safetensors and other.mobileone.json (architecture only), plus the faulty file (either kind).</summary>
    private static string[] WriteModels(TempModels models, string faultyFile)
    {
        string good = models.WriteWeights("good.safetensors", Tiny, TestNets.SeededWeights(Tiny, 1));
        string other = models.WriteText("other.mobileone.json", TestNets.TinySeArchitectureJson);
        string faulty = faultyFile.EndsWith(".safetensors", StringComparison.Ordinal)
            ? models.WriteWeights(faultyFile, Tiny, TestNets.SeededWeights(Tiny, 2))
            : models.WriteText(faultyFile, TestNets.TinySeArchitectureJson);
        return new[] { good, faulty, other };
    }

    private static void AssertCompiles(GeneratorRun run)
    {
        var errors = run.Compilation.GetDiagnostics().Where(d => d.Severity == DiagnosticSeverity.Error).ToList();
        Assert.True(errors.Count == 0, "Generated code does not compile:\n" + string.Join("\n", errors.Take(10)));
    }
}
