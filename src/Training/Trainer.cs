using System;
using System.Diagnostics;

namespace MobileOne.Training;

/// <summary>Hyper-parameters of a Fashion-MNIST run.</summary>
public sealed record TrainingOptions
{
    /// <summary>Epochs over the 60,000 training images.</summary>
    public int Epochs { get; init; } = 20;

    /// <summary>Images per step.</summary>
    public int BatchSize { get; init; } = 128;

    /// <summary>Peak learning rate (after warm-up).</summary>
    public double LearningRate { get; init; } = 0.1;

    /// <summary>Learning rate at the end of the cosine.</summary>
    public double FinalLearningRate { get; init; } = 1e-4;

    /// <summary>Warm-up steps (linear from ~0 to the peak).</summary>
    public int WarmupSteps { get; init; } = 200;

    /// <summary>Weight decay at the start; annealed with the cosine to <see cref="FinalWeightDecay"/>.</summary>
    public double WeightDecay { get; init; } = 1e-4;

    /// <summary>Weight decay at the end.</summary>
    public double FinalWeightDecay { get; init; } = 1e-5;

    /// <summary>SGD momentum.</summary>
    public double Momentum { get; init; } = 0.9;

    /// <summary>Random horizontal flips and ±2-pixel shifts.</summary>
    public bool Augment { get; init; } = true;

    /// <summary>Seed for initialisation, shuffling and augmentation.</summary>
    public int Seed { get; init; } = 1;

    /// <summary>Stop after this many steps (0 = all epochs), for smoke tests; the schedule still spans <see cref="Epochs"/>.</summary>
    public int MaxSteps { get; init; }
}

/// <summary>Progress of a run after one step.</summary>
public readonly record struct StepReport(int Epoch, int Step, int TotalSteps, int StepInEpoch, int StepsPerEpoch, double Loss, double EpochLoss, double EpochAccuracy, double ImagesPerSecond, double LearningRate, double WeightDecay);

/// <summary>Trains a <see cref="MobileOneNet"/> on Fashion-MNIST with SGD, a cosine schedule and annealed weight decay.</summary>
public static class Trainer
{
    /// <summary>Runs <paramref name="options"/> on <paramref name="train"/>; <paramref name="progress"/> is called after every step.</summary>
    public static void Train(MobileOneNet net, FashionMnist train, TrainingOptions options, Action<StepReport>? progress = null)
    {
        ArgumentNullException.ThrowIfNull(net);
        ArgumentNullException.ThrowIfNull(train);
        ArgumentNullException.ThrowIfNull(options);
        int batch = options.BatchSize;
        int stepsPerEpoch = train.Count / batch;
        int total = stepsPerEpoch * options.Epochs;
        var schedule = new CosineSchedule(total, Math.Min(options.WarmupSteps, total / 5), options.LearningRate, options.FinalLearningRate, options.WeightDecay, options.FinalWeightDecay);
        var sgd = new Sgd(net.Parameters, options.Momentum);
        var random = new Random(options.Seed);
        int len = net.Architecture.InputLength;
        var inputs = new float[batch * len];
        var labels = new byte[batch];
        var order = new int[train.Count];
        var offsets = new int[batch * 3];
        for (int i = 0; i < order.Length; i++)
        {
            order[i] = i;
        }

        int step = 0;
        for (int epoch = 0; epoch < options.Epochs; epoch++)
        {
            random.Shuffle(order);
            double lossSum = 0;
            int correct = 0, seen = 0;
            long start = Stopwatch.GetTimestamp();
            for (int s = 0; s < stepsPerEpoch; s++, step++)
            {
                if (options.MaxSteps > 0 && step >= options.MaxSteps)
                {
                    return;
                }

                for (int i = 0; i < batch; i++)
                {
                    offsets[i * 3] = options.Augment ? random.Next(5) : 2;
                    offsets[(i * 3) + 1] = options.Augment ? random.Next(5) : 2;
                    offsets[(i * 3) + 2] = options.Augment ? random.Next(2) : 0;
                    labels[i] = train.Labels[order[(s * batch) + i]];
                }

                int first = s * batch;
                Par.For(batch, 8, (_, i0, i1) =>
                {
                    for (int i = i0; i < i1; i++)
                    {
                        train.ToInput(order[first + i], inputs.AsSpan(i * len, len), offsets[i * 3], offsets[(i * 3) + 1], offsets[(i * 3) + 2] == 1);
                    }
                });

                net.Forward(inputs, batch, training: true);
                double loss = net.Loss(labels, out int ok);
                net.ZeroGrad();
                net.Backward(labels);
                double lr = schedule.LearningRate(step), wd = schedule.WeightDecay(step);
                sgd.Step(lr, wd);
                lossSum += loss * batch;
                correct += ok;
                seen += batch;
                double seconds = Stopwatch.GetElapsedTime(start).TotalSeconds;
                progress?.Invoke(new StepReport(epoch, step, options.MaxSteps > 0 ? Math.Min(total, options.MaxSteps) : total, s, stepsPerEpoch, loss, lossSum / seen, correct / (double)seen, seen / Math.Max(seconds, 1e-9), lr, wd));
            }
        }
    }

    /// <summary>Eval-mode top-1 accuracy on <paramref name="data"/> (centred, no augmentation), with the predictions.</summary>
    public static double Evaluate(MobileOneNet net, FashionMnist data, out int[] predictions)
    {
        ArgumentNullException.ThrowIfNull(net);
        ArgumentNullException.ThrowIfNull(data);
        predictions = net.Predict(data.AllInputs(), data.Count);
        int correct = 0;
        for (int i = 0; i < data.Count; i++)
        {
            correct += predictions[i] == data.Labels[i] ? 1 : 0;
        }

        return correct / (double)data.Count;
    }
}
