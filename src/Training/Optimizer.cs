using System;
using System.Collections.Generic;

namespace MobileOne.Training;

/// <summary>
/// Learning rate and weight decay per step: linear warm-up to <see cref="PeakLearningRate"/>, then a cosine down to
/// <see cref="FinalLearningRate"/>; the weight decay coefficient follows the same cosine from
/// <see cref="InitialWeightDecay"/> to <see cref="FinalWeightDecay"/> (MobileOne's annealed weight decay).
/// </summary>
public sealed record CosineSchedule(int TotalSteps, int WarmupSteps, double PeakLearningRate, double FinalLearningRate,
    double InitialWeightDecay, double FinalWeightDecay)
{
    /// <summary>Cosine factor: 1 at the end of warm-up, 0 at the last step.</summary>
    public double Cosine(int step)
    {
        if (step < WarmupSteps)
        {
            return 1;
        }

        double t = Math.Min(1.0, (step - WarmupSteps) / (double)Math.Max(1, TotalSteps - WarmupSteps));
        return 0.5 * (1 + Math.Cos(Math.PI * t));
    }

    /// <summary>Learning rate at <paramref name="step"/> (0-based).</summary>
    public double LearningRate(int step) => step < WarmupSteps
        ? PeakLearningRate * (step + 1) / WarmupSteps
        : FinalLearningRate + ((PeakLearningRate - FinalLearningRate) * Cosine(step));

    /// <summary>Weight decay coefficient at <paramref name="step"/>.</summary>
    public double WeightDecay(int step) => FinalWeightDecay + ((InitialWeightDecay - FinalWeightDecay) * Cosine(step));
}

/// <summary>SGD with (heavy-ball) momentum, PyTorch's form: <c>v = μv + g + λw; w -= η v</c>, λ only on conv/linear weights.</summary>
public sealed class Sgd
{
    private readonly IReadOnlyList<Parameter> _parameters;

    /// <summary>Creates the optimiser.</summary>
    public Sgd(IReadOnlyList<Parameter> parameters, double momentum = 0.9)
    {
        _parameters = parameters;
        MomentumCoefficient = (float)momentum;
    }

    /// <summary>μ.</summary>
    public float MomentumCoefficient { get; }

    /// <summary>One update with the gradients in the parameters.</summary>
    public void Step(double learningRate, double weightDecay)
    {
        float lr = (float)learningRate, wd = (float)weightDecay, mu = MomentumCoefficient;
        foreach (Parameter p in _parameters)
        {
            float[] w = p.Value, g = p.Grad, v = p.Momentum;
            float decay = p.Decay ? wd : 0f;
            for (int i = 0; i < w.Length; i++)
            {
                float d = g[i] + (decay * w[i]);
                v[i] = (mu * v[i]) + d;
                w[i] -= lr * v[i];
            }
        }
    }
}
