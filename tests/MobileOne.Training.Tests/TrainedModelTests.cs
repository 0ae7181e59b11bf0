using System;
using System.IO;
using System.Linq;
using MobileOne.Runtime;
using MobileOne.Training;
using Xunit;
using Xunit.Abstractions;

namespace MobileOne.Training.Tests;

/// <summary>Shared test set, loaded once.</summary>
public sealed class FashionMnistFixture
{
    private readonly Lazy<FashionMnist> _test = new(() => Load(train: false));
    private readonly Lazy<FashionMnist> _train = new(() => Load(train: true));

    public FashionMnist Test => _test.Value;

    public FashionMnist Train => _train.Value;

    private static FashionMnist Load(bool train)
    {
        Assert.True(FashionMnist.IsInstalled(), $"Fashion-MNIST is missing: {FashionMnist.InstallHint} (.ci/run does this).");
        return FashionMnist.Load(train);
    }
}

/// <summary>
/// The committed model: the generated class (compiled from samples/MobileOne.Sample/models/fashion_mnist.safetensors)
/// against the committed train-time weights in eval mode, on all 10,000 test images.
/// </summary>
public sealed class TrainedModelTests : IClassFixture<FashionMnistFixture>
{
    private static readonly string TrainTimePath = Path.Combine(AppContext.BaseDirectory, "models", "fashion_mnist.train.safetensors");
    private readonly FashionMnistFixture _data;
    private readonly ITestOutputHelper _output;

    public TrainedModelTests(FashionMnistFixture data, ITestOutputHelper output)
    {
        _data = data;
        _output = output;
    }

    [Fact]
    public void Generated_class_has_the_architecture_of_the_fused_file()
    {
        Assert.Equal(1, FashionMnistModel.InputChannels);
        Assert.Equal(32, FashionMnistModel.InputHeight);
        Assert.Equal(32, FashionMnistModel.InputWidth);
        Assert.Equal(10, FashionMnistModel.NumClasses);
        Assert.Equal(TrainingArchitecture.FashionMnistLabels, FashionMnistModel.Labels);
        Assert.Equal(FashionMnist.Mean, FashionMnistModel.Mean[0]);
        Assert.Equal(FashionMnist.Std, FashionMnistModel.Std[0]);
    }

    [Fact]
    public void Fused_generated_class_keeps_the_train_time_accuracy()
    {
        FashionMnist test = _data.Test;
        float[] inputs = test.AllInputs();
        int classes = FashionMnistModel.NumClasses;

        var net = ModelFiles.LoadTrainTime(TrainTimePath, TrainingArchitecture.FashionMnist(4));
        int[] trainTime = net.Predict(inputs, test.Count);
        float[] trainLogits = net.Forward(inputs.AsSpan(0, 200 * FashionMnistModel.InputLength), 200, training: false).ToArray();

        float[] logits = new float[test.Count * classes];
        int saved = Parallelism.MaxDegreeOfParallelism;
        Parallelism.MaxDegreeOfParallelism = Environment.ProcessorCount;
        try
        {
            FashionMnistModel.Infer(inputs, logits, test.Count);
        }
        finally
        {
            Parallelism.MaxDegreeOfParallelism = saved;
        }

        int fusedCorrect = 0, trainCorrect = 0, disagree = 0;
        for (int i = 0; i < test.Count; i++)
        {
            ReadOnlySpan<float> z = logits.AsSpan(i * classes, classes);
            int fused = 0;
            for (int j = 1; j < classes; j++)
            {
                fused = z[j] > z[fused] ? j : fused;
            }

            fusedCorrect += fused == test.Labels[i] ? 1 : 0;
            trainCorrect += trainTime[i] == test.Labels[i] ? 1 : 0;
            disagree += fused != trainTime[i] ? 1 : 0;
        }

        double fusedAccuracy = fusedCorrect / (double)test.Count, trainAccuracy = trainCorrect / (double)test.Count;
        double maxLogit = trainLogits.Max(Math.Abs), maxDiff = 0;
        for (int i = 0; i < trainLogits.Length; i++)
        {
            maxDiff = Math.Max(maxDiff, Math.Abs(trainLogits[i] - logits[i]));
        }

        _output.WriteLine(FormattableString.Invariant($"fused (generated class) {fusedAccuracy * 100:F2}%, train-time eval {trainAccuracy * 100:F2}%, {disagree} predictions differ; first 200 logits: max |diff| {maxDiff:E2} of max |logit| {maxLogit:F2}"));
        Assert.True(fusedAccuracy >= 0.90, $"Test accuracy {fusedAccuracy:P2} < 90 %.");
        Assert.True(Math.Abs(fusedAccuracy - trainAccuracy) <= 0.0005, $"Fused {fusedAccuracy:P2} vs train-time {trainAccuracy:P2}.");
        Assert.True(maxDiff <= 1e-3 * maxLogit, $"Fused logits differ from the train-time model's by {maxDiff} (max |logit| {maxLogit}).");
    }

    [Fact]
    public void A_few_hundred_steps_lower_the_loss()
    {
        var net = new MobileOneNet(TrainingArchitecture.FashionMnist(convBranches: 2), seed: 3);
        var losses = new System.Collections.Generic.List<double>();
        var options = new TrainingOptions { Epochs = 1, BatchSize = 32, MaxSteps = 300, WarmupSteps = 30, Seed = 3 };
        Trainer.Train(net, _data.Train, options, r => losses.Add(r.Loss));
        Assert.Equal(300, losses.Count);
        double first = losses.Take(20).Average(), last = losses.Skip(280).Average();
        _output.WriteLine(FormattableString.Invariant($"loss: first 20 steps {first:F3}, last 20 steps {last:F3}"));
        Assert.True(last < 0.6 * first, $"Loss went from {first:F3} to {last:F3}.");
        Assert.True(last < 1.0, $"Loss after 300 steps is {last:F3}.");
    }
}
