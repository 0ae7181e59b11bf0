using System;
using System.Collections.Generic;
using System.Linq;
using MobileOne.Training;
using Xunit;
using Xunit.Abstractions;

namespace MobileOne.Training.Tests;

/// <summary>
/// One train-time block at a time against finite differences: loss = Σ r · output for a fixed random r,
/// checked for every parameter tensor and for the block input; every one must pass (<see cref="FiniteDifferences"/>).
/// </summary>
public sealed unsafe class BlockGradientTests
{
    private readonly ITestOutputHelper _output;

    public BlockGradientTests(ITestOutputHelper output) => _output = output;

    public static TheoryData<string> Blocks => new()
    {
        "stem 1->16 s2", "stem 3->32 s2", "dw 16 s2 k3", "dw 32 s1 k2 skip", "dw 16 s1 k1 skip se", "pw 16->32 k2", "pw 32->32 k3 skip", "pw 16->16 k1 skip se",
    };

    private static BlockInfo Info(string name)
    {
        string[] p = name.Split(' ');
        int k = p.FirstOrDefault(s => s.StartsWith('k') && s.Length > 1 && char.IsDigit(s[1])) is { } ks ? int.Parse(ks[1..], System.Globalization.CultureInfo.InvariantCulture) : 1;
        bool se = p.Contains("se");
        switch (p[0])
        {
            case "stem":
            {
                int[] io = p[1].Split("->").Select(int.Parse).ToArray();
                return new BlockInfo("stage0", BlockKind.Stem, io[0], io[1], 2, 11, 14, 6, 7, 1, 0);
            }

            case "dw":
            {
                int c = int.Parse(p[1], System.Globalization.CultureInfo.InvariantCulture);
                int s = p[2] == "s2" ? 2 : 1;
                int h = 9, w = 8;
                return new BlockInfo("stage1.2", BlockKind.Depthwise, c, c, s, h, w, TrainingArchitecture.OutSize(h, s), TrainingArchitecture.OutSize(w, s), k, se ? 2 : 0);
            }

            default:
            {
                int[] io = p[1].Split("->").Select(int.Parse).ToArray();
                return new BlockInfo("stage1.3", BlockKind.Pointwise, io[0], io[1], 1, 5, 6, 5, 6, k, se ? 3 : 0);
            }
        }
    }

    [Theory]
    [MemberData(nameof(Blocks))]
    public void Block_gradients_match_finite_differences(string name)
    {
        BlockInfo info = Info(name);
        var random = new Random(5);
        var block = new MobileOneBlock(info, random);
        foreach (BatchNorm bn in block.BatchNorms)
        {
            bn.UpdateRunningStats = false;
            for (int i = 0; i < bn.Channels; i++)
            {
                bn.Weight.Value[i] = 0.5f + (float)random.NextDouble();
                bn.Bias.Value[i] = (float)(random.NextDouble() - 0.5);
            }
        }

        const int batch = 3;
        long inLength = (long)batch * info.InHeight * info.InWidth * info.InChannels;
        long outLength = (long)batch * info.OutHeight * info.OutWidth * info.OutChannels;
        using var input = new FloatBuffer(inLength);
        for (long i = 0; i < inLength; i++)
        {
            input.Ptr[i] = (float)(random.NextDouble() * 2 - 1);
        }

        float[] r = Enumerable.Range(0, (int)outLength).Select(_ => (float)(random.NextDouble() * 2 - 1)).ToArray();
        double Loss()
        {
            FloatBuffer o = block.Forward(input, batch, training: true);
            double l = 0;
            for (int i = 0; i < outLength; i++)
            {
                l += r[i] * (double)o.Ptr[i];
            }

            return l;
        }

        Loss();
        using var dOut = new FloatBuffer(outLength);
        for (int i = 0; i < outLength; i++)
        {
            dOut.Ptr[i] = r[i];
        }

        block.Backward(dOut);
        float[] gx = info.Kind != BlockKind.Stem ? block.InputGrad.AsSpan(inLength).ToArray() : Array.Empty<float>();
        float[][] grads = block.Parameters.Select(p => (float[])p.Grad.Clone()).ToArray();

        var failures = new List<string>();
        int checkedTensors = 0;
        void Check(Perturbable tensor, Func<int, float> analytic, double noise)
        {
            FiniteDifferences.Result result = FiniteDifferences.Check(tensor, analytic, Loss, noise, random);
            _output.WriteLine(result.Describe());
            checkedTensors++;
            if (!result.Passed)
            {
                failures.Add(result.Describe());
            }
        }

        Perturbable[] tensors = block.Parameters.Select(p => new Perturbable(p.Name, p.Length, i => p.Value[i], (i, v) => p.Value[i] = v)).ToArray();
        var inputTensor = new Perturbable("input", (int)inLength, i => input.Ptr[i], (i, v) => input.Ptr[i] = v);
        double noise = FiniteDifferences.MeasureNoise(Loss, info.Kind != BlockKind.Stem ? tensors.Append(inputTensor).ToArray() : tensors, random);
        _output.WriteLine(FormattableString.Invariant($"{name}: rounding bound per evaluation {noise:E2} (measured x {FiniteDifferences.NoiseMargin})"));
        for (int t = 0; t < tensors.Length; t++)
        {
            float[] g = grads[t];
            Check(tensors[t], i => g[i], noise);
        }

        if (info.Kind != BlockKind.Stem)
        {
            Check(inputTensor, i => gx[i], noise);
        }

        Assert.True(failures.Count == 0, $"{failures.Count} of {checkedTensors} tensors have wrong gradients:\n" + string.Join("\n", failures));
        Assert.Equal(block.Parameters.Count + (info.Kind != BlockKind.Stem ? 1 : 0), checkedTensors);
    }
}
