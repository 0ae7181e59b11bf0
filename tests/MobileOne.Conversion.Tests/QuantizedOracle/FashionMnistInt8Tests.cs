using System;
using System.Globalization;
using System.IO;
using System.IO.Compression;
using System.Linq;
using System.Text.Json;
using MobileOne.Conversion.Quantization;
using MobileOne.TestSupport;
using Xunit;
using Xunit.Abstractions;

namespace MobileOne.Conversion.Tests.QuantizedOracle;

/// <summary>
/// A trained network with realistic activations: the sample's Fashion-MNIST model (fused, 1x32x32) quantized by
/// <see cref="Int8TestQuantizer"/> (minmax over <see cref="CalibrationImages"/> training images), run by
/// <see cref="Int8Reference"/> on test images against the FP32 double reference, and by ONNX Runtime's QDQ graph.
/// </summary>
public class FashionMnistInt8Tests
{
    /// <summary>Training images the activation ranges are measured on (the first ones of the shipped slice).</summary>
    public const int CalibrationImages = 200;

    /// <summary>Test images compared (the first ones of the test split).</summary>
    public const int TestImages = 1000;

    private readonly ITestOutputHelper _out;

    public FashionMnistInt8Tests(ITestOutputHelper output) => _out = output;

    [Fact]
    public void Int8LogitsFollowTheFloatNetwork()
    {
        string repo = ProcessRunner.RepositoryRoot();
        StateDict sd = Checkpoint.Load(Path.Combine(repo, "samples", "MobileOne.Sample", "models", "fashion_mnist.safetensors"));
        MobileOneCheckpoint cp = MobileOneCheckpoint.Analyze(sd, 32, 32);
        Assert.Equal(CheckpointForm.Fused, cp.Form);
        FusedNetwork fused = FusedNetwork.FromCheckpoint(cp);
        NetworkArchitecture a = fused.Architecture;
        var arch = new MobileOneArchitecture(a.InputChannels, a.InputHeight, a.InputWidth, a.StemChannels, a.StageChannels, a.StageBlocks, a.SeBlocks, a.NumClasses);
        var weights = new FusedWeights(arch);
        foreach (string name in weights.Names)
        {
            weights.Set(name, fused[name]);
        }

        string archJson = sd.Metadata[FusedNetwork.ArchitectureMetadataKey];
        using JsonDocument meta = JsonDocument.Parse(archJson);
        float mean = meta.RootElement.GetProperty("mean")[0].GetSingle(), std = meta.RootElement.GetProperty("std")[0].GetSingle();
        string data = Path.Combine(repo, "data", "fashion-mnist");
        float[][] calibration = Inputs(Idx(Path.Combine(data, "train-first10000-images-idx3-ubyte.gz")), CalibrationImages, mean, std);
        byte[] testImages = Idx(Path.Combine(data, "t10k-images-idx3-ubyte.gz"));
        byte[] labels = Idx(Path.Combine(data, "t10k-labels-idx1-ubyte.gz"));
        float[][] test = Inputs(testImages, TestImages, mean, std);

        double[][] fp32 = test.AsParallel().AsOrdered().Select(x => DoubleReference.Run(arch, weights, x)).ToArray();

        // Straight minmax quantization of the weights as trained, for the record: dead stem channels read by huge fused
        // weights (see Int8TestQuantizer.FoldDeadChannels) take it far from the float network.
        Agreement raw = Compare(new Int8Reference(Int8TestQuantizer.Quantize(arch, weights, calibration, archJson)), test, fp32, labels);
        _out.WriteLine("minmax quantization of the weights as trained: " + raw.Describe());

        FusedWeights folded = Int8TestQuantizer.FoldDeadChannels(arch, weights, calibration, out int dead);
        Agreement foldedFp32 = Compare(null, test, fp32, labels, test.AsParallel().AsOrdered().Select(x => DoubleReference.Run(arch, folded, x)).ToArray());
        _out.WriteLine($"{dead} dead channels folded; FP32 after folding: " + foldedFp32.Describe());
        Assert.True(foldedFp32.MinCosine > 0.99999, "folding the dead channels changed the float network: " + foldedFp32.Describe());

        QuantizedNetwork q = Int8TestQuantizer.Quantize(arch, folded, calibration, archJson);
        var reference = new Int8Reference(q);
        Agreement int8 = Compare(reference, test, fp32, labels);
        _out.WriteLine(string.Create(CultureInfo.InvariantCulture, $"input scale {q.InputScale:G4}; INT8 after folding: ") + int8.Describe());
        Assert.True(int8.MeanCosine >= 0.99, "mean cosine: " + int8.Describe());
        Assert.True(int8.AllCosine >= 0.99, "cosine of all logits: " + int8.Describe());

        // ONNX Runtime's QDQ graph on the same images agrees with the reference (the tolerances of QdqOracleTests).
        using var ort = new QdqOrt(q);
        double worst = 0;
        for (int i = 0; i < 50; i++)
        {
            QdqComparison r = QdqComparison.Compare(reference, reference.Trace(test[i]), ort.Run(test[i]));
            r.AssertWithin($"Fashion-MNIST test image {i}");
            worst = Math.Max(worst, r.EndToEndDiff / r.LogitRange);
        }

        _out.WriteLine(string.Create(CultureInfo.InvariantCulture, $"ORT QDQ vs Int8Reference on 50 test images: worst logit difference {worst:G3} of the range"));
    }

    /// <summary>FP32 (double reference) logits against <paramref name="reference"/>'s INT8 logits, or against <paramref name="other"/>.</summary>
    private static Agreement Compare(Int8Reference? reference, float[][] test, double[][] fp32, byte[] labels, double[][]? other = null)
    {
        int n = test.Length, k = fp32[0].Length;
        double[][] logits = other ?? Split(reference!.RunBatch(test.SelectMany(x => x).ToArray(), n), k);
        var cosines = new double[n];
        int agree = 0, correctFp32 = 0, correct = 0;
        for (int i = 0; i < n; i++)
        {
            cosines[i] = Cosine(fp32[i], logits[i]);
            int af = ArgMax(fp32[i]), an = ArgMax(logits[i]);
            agree += af == an ? 1 : 0;
            correctFp32 += af == labels[i] ? 1 : 0;
            correct += an == labels[i] ? 1 : 0;
        }

        return new Agreement(n, cosines.Average(), cosines.Min(), cosines.OrderBy(v => v).ElementAt(n / 100),
            Cosine(fp32.SelectMany(v => v).ToArray(), logits.SelectMany(v => v).ToArray()),
            agree / (double)n, correctFp32 / (double)n, correct / (double)n);
    }

    private static double[][] Split(float[] flat, int k) =>
        Enumerable.Range(0, flat.Length / k).Select(i => flat.AsSpan(i * k, k).ToArray().Select(v => (double)v).ToArray()).ToArray();

    private sealed record Agreement(int Images, double MeanCosine, double MinCosine, double FirstPercentile, double AllCosine, double Top1Agreement, double AccuracyFp32, double Accuracy)
    {
        public string Describe() => string.Create(CultureInfo.InvariantCulture,
            $"cosine with the FP32 logits over {Images} test images: mean {MeanCosine:F5}, min {MinCosine:F5}, 1st percentile {FirstPercentile:F5}, all logits as one vector {AllCosine:F5}; " +
            $"top-1 agreement {Top1Agreement:P1}; accuracy FP32 {AccuracyFp32:P1}, this {Accuracy:P1}");
    }

    /// <summary>The 28x28 images as normalised 1x32x32 inputs: centred on a 32x32 background, <c>(v / 255 - mean) / std</c>.</summary>
    private static float[][] Inputs(byte[] images, int count, float mean, float std)
    {
        var inputs = new float[count][];
        for (int n = 0; n < count; n++)
        {
            var x = new float[32 * 32];
            Array.Fill(x, (0f - mean) / std);
            for (int y = 0; y < 28; y++)
            {
                for (int c = 0; c < 28; c++)
                {
                    x[((y + 2) * 32) + c + 2] = ((images[(n * 784) + (y * 28) + c] / 255f) - mean) / std;
                }
            }

            inputs[n] = x;
        }

        return inputs;
    }

    /// <summary>The data of a gzipped IDX file (images or labels), after its header.</summary>
    private static byte[] Idx(string path)
    {
        using var s = new GZipStream(File.OpenRead(path), CompressionMode.Decompress);
        using var m = new MemoryStream();
        s.CopyTo(m);
        byte[] all = m.ToArray();
        int dims = all[3];
        return all.AsSpan(4 + (4 * dims)).ToArray();
    }

    private static int ArgMax(double[] v)
    {
        int best = 0;
        for (int i = 1; i < v.Length; i++)
        {
            best = v[i] > v[best] ? i : best;
        }

        return best;
    }

    private static double Cosine(double[] a, double[] b)
    {
        double ab = 0, aa = 0, bb = 0;
        for (int i = 0; i < a.Length; i++)
        {
            ab += a[i] * b[i];
            aa += a[i] * a[i];
            bb += b[i] * b[i];
        }

        return ab / Math.Sqrt(aa * bb);
    }
}
