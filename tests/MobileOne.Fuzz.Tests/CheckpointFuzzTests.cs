using System;
using System.Collections.Generic;
using System.IO;
using System.IO.Compression;
using System.Linq;
using MobileOne.Conversion;
using MobileOne.Fuzz.Tests.Infrastructure;
using MobileOne.TestSupport;
using Xunit;
using Xunit.Abstractions;

namespace MobileOne.Fuzz.Tests;

/// <summary>
/// Target (e): the checkpoint readers of MobileOne.Conversion (<c>Checkpoint.Load</c>: the torch.save zip reader with
/// its pickle allowlist, and the safetensors reader) on mutated checkpoints. Every input ends in a state dict or in
/// <see cref="ConversionException"/>; nothing else, no hang, bounded allocation.
/// </summary>
public class CheckpointFuzzTests
{
    /// <summary>The file, the pickle and its object tree, and the widened float tensors (4 bytes per F32/F16 element).</summary>
    public static long Budget(long inputLength) => (64 * inputLength) + (1024 * 1024);

    private readonly ITestOutputHelper _output;

    public CheckpointFuzzTests(ITestOutputHelper output) => _output = output;

    public static IEnumerable<(string Name, int[] Shape, float[] Values)> TinyTensors(MobileOneArchitecture arch, TensorNaming naming) =>
        Seeds.Weights(arch, 5).Tensors().Select(t => (TensorCatalog.Rename(t.Name, naming), t.Shape, t.Values));

    /// <summary>Pickles of tiny fused nets (F32/F16, Apple/timm names), the state dict wrapped or not.</summary>
    public static List<byte[]> PickleSeeds() => new()
    {
        Pickle.StateDict(Entries(TinyTensors(Seeds.TinySe, TensorNaming.Apple), half: false)),
        Pickle.StateDict(Entries(TinyTensors(Seeds.TinyPlain, TensorNaming.Timm), half: true)),
    };

    [Fact]
    public void MutatedTorchCheckpoints()
    {
        // Mutate the pickle (then zip it with the real storages) most of the time, and the zip bytes themselves otherwise.
        var se = TinyTensors(Seeds.TinySe, TensorNaming.Apple).ToList();
        var plain = TinyTensors(Seeds.TinyPlain, TensorNaming.Timm).ToList();
        byte[][] zips = { PthBuilder.StateDictFile(se), PthBuilder.StateDictFile(plain, half: true) };
        var storages = new[] { Storages(se, half: false), Storages(plain, half: true) };
        var pickles = new Mutator(FuzzOptions.Seed(8), PickleSeeds(), safetensors: false);
        var files = new Mutator(FuzzOptions.Seed(9), zips, safetensors: false);
        int i = 0;
        IEnumerable<byte[]> Inputs()
        {
            int n = FuzzOptions.Iterations();
            for (int k = 0; k < n; k++)
            {
                if (k % 4 == 3)
                {
                    yield return files.Next();
                }
                else
                {
                    byte[] pickle = pickles.Next();
                    yield return PthBuilder.Zip(pickle, storages[pickles.LastSeed]);
                }
            }
        }

        FuzzStats stats = FuzzRunner.Run("checkpoint-pth", Inputs(), input => { i++; return Load(input); }, Budget, _output);
        Assert.True(stats["ok"] > 0 && stats.Outcomes.Keys.Count(k => k.StartsWith("ConversionException", StringComparison.Ordinal)) >= 3, stats.ToString());
    }

    [Fact]
    public void MutatedSafetensorsCheckpoints()
    {
        var mutator = new Mutator(FuzzOptions.Seed(10), Seeds.Tiny.Select(s => s.Bytes).ToList());
        FuzzStats stats = FuzzRunner.Run("checkpoint-safetensors", mutator.Take(FuzzOptions.Iterations()), Load, Budget, _output);
        Assert.True(stats["ok"] > 0 && stats.Outcomes.Keys.Any(k => k.StartsWith("ConversionException", StringComparison.Ordinal)), stats.ToString());
    }

    /// <summary>Loads a checkpoint: a state dict (every tensor's values match its shape) or a ConversionException.</summary>
    public static string Load(byte[] input)
    {
        try
        {
            StateDict dict = Checkpoint.Load(input, "fuzz.pth");
            foreach (Tensor t in dict.Tensors)
            {
                if (Tensor.ElementCountOf(t.Shape) != t.Values.Length)
                {
                    throw new FuzzFailure($"tensor '{t.Name}' {t.ShapeText} has {t.Values.Length} values");
                }
            }

            return "ok";
        }
        catch (ConversionException e)
        {
            return "ConversionException." + e.Kind;
        }
    }

    private static List<PthTensor> Entries(IEnumerable<(string Name, int[] Shape, float[] Values)> tensors, bool half)
    {
        var list = new List<PthTensor>();
        int i = 0;
        foreach (var (name, shape, values) in tensors)
        {
            long[] size = shape.Select(d => (long)d).ToArray();
            long[] stride = PthBuilder.ContiguousStrides(size);

            list.Add(new PthTensor(name, (i++).ToString(System.Globalization.CultureInfo.InvariantCulture), values.Length, 0, size, stride, half ? "HalfStorage" : "FloatStorage"));
        }

        return list;
    }

    private static List<(string, byte[])> Storages(List<(string Name, int[] Shape, float[] Values)> tensors, bool half) =>
        tensors.Select((t, i) => (i.ToString(System.Globalization.CultureInfo.InvariantCulture), SafetensorsWriter.Encode(t.Values, half ? "F16" : "F32"))).ToList();
}
