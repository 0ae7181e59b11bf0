using System;
using System.Collections.Generic;
using System.Linq;
using System.Reflection;
using MobileOne.Conversion.Quantization;
using MobileOne.Generator.Tests.Infrastructure;
using MobileOne.Runtime;
using MobileOne.TestSupport;
using Xunit;
using Xunit.Abstractions;

namespace MobileOne.Generator.Tests;

/// <summary>
/// The generated int8 class, compiled and run, against the independent scalar INT8 reference of TestSupport
/// (docs/quantization.md). Every uint8 activation is exact on every path, so the stride-8/16/32 feature maps
/// (<c>q * scale</c>) and the pooled embedding must be equal bit for bit; the logits come from the FP32 head, summed in
/// another order than the reference's double sum, so they get a float tolerance: max |Δ| ≤ 1e-5·max|logit| + 1e-6.
/// S4-like nets with squeeze-excite are FP32 between two quantizations: there a value may round to the neighbouring
/// step (the contract's one exception), so their maps are compared to within one step at under 0.5 % of positions.
/// </summary>
[Collection(ProcessWideSettingsCollection.Name)] // it sets Simd.Level, which is process-wide
public class QuantizedEndToEndTests
{
    private readonly ITestOutputHelper _output;

    public QuantizedEndToEndTests(ITestOutputHelper output) => _output = output;

    public static IEnumerable<object[]> Cases() =>
        new[] { "s0", "s1", "s2", "s3", "s4", "odd", "gray", "wide" }.Select(n => new object[] { n });

    [Theory]
    [MemberData(nameof(Cases))]
    public void GeneratedInt8ClassMatchesTheScalarReference(string caseName)
    {
        // The published variants at 64x64 (every layer kind, stride and width; the scalar references take seconds
        // instead of minutes at 224x224), and the custom nets of NetworkCase at their own sizes.
        NetworkCase c = caseName.StartsWith('s') ? NetworkCase.Small(caseName, 64) : NetworkCase.Get(caseName);
        QuantizedNetwork network = Int8TestQuantizer.Quantize(c.Architecture, c.Weights, new[] { c.InputA, c.InputB });
        using var models = new TempModels();
        string path = models.PathOf($"net_{caseName}_int8.safetensors");
        network.Write(path);
        string typeName = "TestApp.Net" + char.ToUpperInvariant(caseName[0]) + caseName.Substring(1) + "Int8";
        GeneratorRun run = GeneratorHarness.Run(new[] { new ModelItem(path) }, null, Probe(typeName));
        Assert.Empty(run.GeneratorDiagnostics);
        using LoadedAssembly loaded = GeneratorHarness.CompileAndLoad(run);
        IMobileOneNetwork net = loaded.Default(typeName);

        var reference = new Int8Reference(network);
        Int8Trace expected = reference.Trace(c.InputA);
        bool hasSe = c.Architecture.SeBlocks.Any(b => b > 0);
        SimdLevel saved = Simd.Level;
        try
        {
            foreach (SimdLevel level in Enum.GetValues<SimdLevel>().Where(l => l <= Simd.Best))
            {
                Simd.Level = level;
                float[] logits = new float[c.Architecture.NumClasses];
                net.Run(c.InputA, logits);
                var features = Features(loaded, c.InputA, c.Architecture);
                foreach (var (stride, layer) in Taps(c.Architecture))
                {
                    float[] map = ReferenceMap(expected, layer, c.Architecture);
                    CompareMap(map, features[stride], hasSe, $"{caseName} {level} stride-{stride} ({layer})");
                }

                if (!hasSe)
                {
                    Assert.Equal(expected.Pooled, features[0]);
                }

                var (passed, describe) = Close(expected.Logits, logits, relative: hasSe ? 1e-2 : 1e-5);
                _output.WriteLine($"{caseName} {level}: {describe}");
                Assert.True(passed, $"{caseName} at {level}: {describe}");
            }
        }
        finally
        {
            Simd.Level = saved;
        }

        // The comparison can fail: another input gives other logits.
        float[] other = reference.Run(c.InputB);
        Assert.False(Close(other, reference.Run(c.InputA), relative: 1e-5).Passed);
    }

    /// <summary>Load(path) of a file whose scales differ from the ones the class was generated from uses the file's scales.</summary>
    [Fact]
    public void LoadReadsTheActivationScalesOfTheFileItIsGiven()
    {
        NetworkCase c = NetworkCase.Get("odd");
        QuantizedNetwork first = Int8TestQuantizer.Quantize(c.Architecture, c.Weights, new[] { c.InputA });
        QuantizedNetwork second = Int8TestQuantizer.Quantize(c.Architecture, c.Weights, new[] { c.InputA, c.InputB, TestData.RandomInput(c.Architecture, 77) });
        using var models = new TempModels();
        string path = models.PathOf("net_odd_int8.safetensors"), other = models.PathOf("other.safetensors");
        first.Write(path);
        second.Write(other);
        GeneratorRun run = GeneratorHarness.Run(path);
        Assert.Empty(run.GeneratorDiagnostics);
        using LoadedAssembly loaded = GeneratorHarness.CompileAndLoad(run);
        IMobileOneNetwork net = loaded.Load("TestApp.NetOddInt8", other);
        float[] logits = new float[c.Architecture.NumClasses];
        net.Run(c.InputA, logits);
        float[] expected = new Int8Reference(second).Run(c.InputA);
        var (passed, describe) = Close(expected, logits, relative: 1e-5);
        Assert.True(passed, describe);
        Assert.False(Close(new Int8Reference(first).Run(c.InputA), logits, relative: 1e-5).Passed);
    }

    [Fact]
    public void LoadRefusesAnFp32FileAndABrokenPair()
    {
        NetworkCase c = NetworkCase.Get("odd");
        QuantizedNetwork network = Int8TestQuantizer.Quantize(c.Architecture, c.Weights, new[] { c.InputA });
        using var models = new TempModels();
        string path = models.PathOf("net_odd_int8.safetensors");
        network.Write(path);
        GeneratorRun run = GeneratorHarness.Run(path);
        using LoadedAssembly loaded = GeneratorHarness.CompileAndLoad(run);

        string fp32 = models.WriteWeights("fp32.safetensors", c.Architecture, c.Weights);
        var e = Assert.Throws<WeightFileException>(() => Unwrap(() => loaded.Load("TestApp.NetOddInt8", fp32)));
        Assert.Contains("has dtype F32; this quantized network needs I8", e.Message, StringComparison.Ordinal);

        var (entries, metadata) = QuantizedTestModels.Parts(network);
        byte[] w = entries.Single(t => t.name == "stage2.1.reparam_conv.weight").data;
        int inChannels = (int)entries.Single(t => t.name == "stage2.1.reparam_conv.weight").shape[1];
        w[0] = 100;
        w[1] = 100;
        string broken = TestNets.WriteRaw(models.PathOf("broken.safetensors"), entries, metadata);
        e = Assert.Throws<WeightFileException>(() => Unwrap(() => loaded.Load("TestApp.NetOddInt8", broken)));
        Assert.Contains("output channel 0 has input channels 0 and 1 whose same-sign weights sum beyond ±128", e.Message, StringComparison.Ordinal);
        Assert.True(inChannels > 1);

        metadata.Remove("mobileone.quantization");
        string noScales = TestNets.WriteRaw(models.PathOf("noscales.safetensors"), QuantizedTestModels.Parts(network).Entries, metadata);
        e = Assert.Throws<WeightFileException>(() => Unwrap(() => loaded.Load("TestApp.NetOddInt8", noScales)));
        Assert.Contains("is not a quantized MobileOne: it has no 'mobileone.quantization' metadata", e.Message, StringComparison.Ordinal);
    }

    /// <summary>max |Δ| ≤ relative·max|reference| + 1e-6.</summary>
    private static (bool Passed, string Describe) Close(float[] reference, float[] actual, double relative)
    {
        double max = reference.Max(v => Math.Abs((double)v)), diff = reference.Zip(actual, (r, a) => Math.Abs((double)r - a)).Max();
        double tolerance = (relative * max) + 1e-6;
        return (diff <= tolerance, FormattableString.Invariant($"max |Δlogit| {diff:G3} (tolerance {tolerance:G3}, max |logit| {max:G3})"));
    }

    private static object Unwrap(Func<object> call)
    {
        try
        {
            return call();
        }
        catch (TargetInvocationException e) when (e.InnerException != null)
        {
            throw e.InnerException;
        }
    }

    private static void CompareMap(float[] expected, float[] actual, bool tolerateSteps, string what)
    {
        Assert.Equal(expected.Length, actual.Length);
        if (!tolerateSteps)
        {
            Assert.True(expected.SequenceEqual(actual), what + ": not bit-identical to the reference");
            return;
        }

        int off = 0;
        for (int i = 0; i < expected.Length; i++)
        {
            if (expected[i] != actual[i])
            {
                off++;
            }
        }

        Assert.True(off <= expected.Length / 200, $"{what}: {off} of {expected.Length} values differ from the reference");
    }

    /// <summary>A layer's uint8 output from the reference trace, dequantized (<c>q * scale</c>) and CHW, as RunFeatures writes it.</summary>
    private static float[] ReferenceMap(Int8Trace trace, string layer, MobileOneArchitecture arch)
    {
        Int8LayerOutput output = trace.Layers.Single(l => l.Layer.Name == layer);
        return output.Output.Select(q => q * output.OutputScale).ToArray();
    }

    private static IEnumerable<(int Stride, string Layer)> Taps(MobileOneArchitecture arch)
    {
        var layers = arch.Layers();
        foreach (var (stage, stride) in new[] { (2, 8), (3, 16), (4, 32) })
        {
            yield return (stride, layers.Last(l => l.Name.StartsWith($"stage{stage}.", StringComparison.Ordinal)).Name);
        }
    }

    /// <summary>RunFeatures through a helper compiled with the class (spans cannot pass through reflection).</summary>
    private static Dictionary<int, float[]> Features(LoadedAssembly loaded, float[] input, MobileOneArchitecture arch)
    {
        var layers = arch.Layers();
        var result = new Dictionary<int, float[]>();
        foreach (var (stride, layer) in Taps(arch))
        {
            var l = layers.Single(x => x.Name == layer);
            result[stride] = new float[l.OutChannels * l.OutHeight * l.OutWidth];
        }

        result[0] = new float[arch.StageChannels[3]];
        loaded.Type("TestApp.Probe").GetMethod("Features")!.Invoke(null, new object[] { input, result[8], result[16], result[32], result[0] });
        return result;
    }

    private static string Probe(string typeName) =>
        "namespace TestApp { public static class Probe { public static void Features(float[] input, float[] s8, float[] s16, float[] s32, float[] embedding) => " +
        typeName + ".Default.RunFeatures(input, s8, s16, s32, embedding); } }";
}
