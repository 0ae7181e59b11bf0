using System;
using System.Collections.Immutable;
using System.Linq;
using System.Reflection;
using System.Threading;
using Microsoft.CodeAnalysis;
using MobileOne.Generator.Model;
using MobileOne.Generator.Tests.Infrastructure;
using MobileOne.TestSupport;
using Xunit;

namespace MobileOne.Generator.Tests;

/// <summary>
/// The steps the read step was split into: reading a file (<see cref="TrackingNames.ReadModelFile"/>, on the
/// AdditionalText alone) and reading its options (<see cref="TrackingNames.ReadModelOptions"/>), joined when pairing.
/// Each is guarded like every other step (GeneratorFaultTests); and the version the emitted code names.
/// </summary>
public class PipelineStepTests
{
    private static readonly MobileOneArchitecture Tiny = TestNets.TinySe;

    [Theory]
    [InlineData("faulty.safetensors")]
    [InlineData("faulty.mobileone.json")]
    public void ExceptionInTheOptionsStepIsMO0016AtTheFileAndOtherModelsStillGenerate(string faultyFile)
    {
        using var models = new TempModels();
        string good = models.WriteWeights("good.safetensors", Tiny, TestNets.SeededWeights(Tiny, 1));
        string faulty = faultyFile.EndsWith(".safetensors", StringComparison.Ordinal)
            ? models.WriteWeights(faultyFile, Tiny, TestNets.SeededWeights(Tiny, 2))
            : models.WriteText(faultyFile, TestNets.TinySeArchitectureJson);
        int thrown = 0;
        Exception? Fault(string step, string path)
        {
            if (step != TrackingNames.ReadModelOptions || path != faulty)
            {
                return null;
            }

            thrown++;
            return new InvalidOperationException("injected fault");
        }

        GeneratorRun run;
        using (FaultInjection.Install(Fault))
        {
            run = GeneratorHarness.Run(good, faulty);
        }

        Assert.True(thrown > 0, "the fault point of the options step was not reached");
        RunAssert.NoGeneratorException(run);
        RunAssert.Error(Assert.Single(run.GeneratorDiagnostics), "MO0016", faulty, $"MobileOne.Generator failed on '{faultyFile}': InvalidOperationException in ReadModelOptions: injected fault.");
        Assert.Equal(new[] { "TestApp.Good.g.cs" }, run.HintNames);
    }

    /// <summary>Cancellation the driver asked for propagates out of the read step, the options step and the pairing of both.</summary>
    [Fact]
    public void RequestedCancellationPropagatesFromEachNewStep()
    {
        using var models = new TempModels();
        string path = models.WriteWeights("net.safetensors", Tiny, TestNets.SeededWeights(Tiny, 1));
        ModelFileContent content = ModelFileReader.ReadWeights(path);
        var options = new ModelFileOptions(path, new ModelOptions(null, null, null, null, null, "TestApp"), null);
        using var cancel = new CancellationTokenSource();
        cancel.Cancel();
        using (FaultInjection.Install((_, _) => new OperationCanceledException(cancel.Token)))
        {
            Assert.Throws<OperationCanceledException>(() => PipelineGuard.Read(new TestAdditionalText(path), cancel.Token));
            Assert.Throws<OperationCanceledException>(() => PipelineGuard.Read(new TestAdditionalText(path), new TestOptionsProvider(), cancel.Token));
            Assert.Throws<OperationCanceledException>(() => PipelineGuard.Pair(ImmutableArray.Create(content), ImmutableArray.Create(options), cancel.Token));
        }
    }

    /// <summary>Pairing gives each file the options read for its path.</summary>
    [Fact]
    public void PairingJoinsEachFileWithItsOptions()
    {
        using var models = new TempModels();
        string weights = models.WriteWeights("net.safetensors", Tiny, TestNets.SeededWeights(Tiny, 1));
        string arch = models.PathOf("net.mobileone.json");
        var archContent = new ModelFileContent(arch, ModelFileKind.Architecture, 2, 0, "{}", null, null);
        var weightOptions = new ModelOptions("FromWeights", null, null, null, null, "TestApp");
        var archOptions = new ModelOptions("FromArchitecture", null, null, null, null, "TestApp");

        ImmutableArray<ModelInput> inputs = PipelineGuard.Pair(
            ImmutableArray.Create(ModelFileReader.ReadWeights(weights), archContent),
            ImmutableArray.Create(new ModelFileOptions(arch, archOptions, null), new ModelFileOptions(weights, weightOptions, null)),
            default);

        ModelInput input = Assert.Single(inputs);
        Assert.Equal(weightOptions, input.Weights!.Options);
        Assert.Equal(archOptions, input.Architecture!.Options);
        Assert.Same(input.Weights, input.Primary);
    }

    /// <summary>The emitted header and [GeneratedCode] name the assembly's version, without a "+commit" suffix.</summary>
    [Fact]
    public void GeneratorVersionIsTheAssemblysVersion()
    {
        string informational = typeof(MobileOneGenerator).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()!.InformationalVersion;
        string expected = informational.Split('+')[0];
        Assert.Equal(expected, InferenceEmitter.GeneratorVersion);
        Assert.DoesNotContain("+", InferenceEmitter.GeneratorVersion, StringComparison.Ordinal);
        Assert.StartsWith(typeof(MobileOneGenerator).Assembly.GetName().Version!.ToString(3), InferenceEmitter.GeneratorVersion, StringComparison.Ordinal);

        using var models = new TempModels();
        string path = models.WriteWeights("net.safetensors", Tiny, TestNets.SeededWeights(Tiny, 1));
        string source = GeneratorHarness.Run(path).Source("TestApp.Net.g.cs");
        Assert.StartsWith($"// <auto-generated/>{Environment.NewLine}// MobileOne.Generator {expected}: net.safetensors (", source.ReplaceLineEndings(Environment.NewLine), StringComparison.Ordinal);
        Assert.Contains($"[global::System.CodeDom.Compiler.GeneratedCode(\"MobileOne.Generator\", \"{expected}\")]", source, StringComparison.Ordinal);
    }
}
