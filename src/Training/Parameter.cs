using System;

namespace MobileOne.Training;

/// <summary>A learnable tensor with its gradient and optimiser state.</summary>
public sealed class Parameter
{
    /// <summary>Creates a zero parameter.</summary>
    /// <param name="name">Apple state-dict name, e.g. <c>stage1.0.rbr_conv.0.conv.weight</c>.</param>
    /// <param name="shape">Shape (PyTorch order).</param>
    /// <param name="decay">Whether weight decay applies (conv and linear weights).</param>
    public Parameter(string name, int[] shape, bool decay)
    {
        Name = name;
        Shape = shape;
        Decay = decay;
        int n = 1;
        foreach (int d in shape)
        {
            n = checked(n * d);
        }

        Value = new float[n];
        Grad = new float[n];
        Momentum = new float[n];
    }

    /// <summary>State-dict name.</summary>
    public string Name { get; }

    /// <summary>Shape.</summary>
    public int[] Shape { get; }

    /// <summary>Whether weight decay applies.</summary>
    public bool Decay { get; }

    /// <summary>Values.</summary>
    public float[] Value { get; }

    /// <summary>Gradient of the loss, accumulated by backward passes.</summary>
    public float[] Grad { get; }

    /// <summary>SGD momentum buffer.</summary>
    public float[] Momentum { get; }

    /// <summary>Number of elements.</summary>
    public int Length => Value.Length;

    /// <summary>He-normal initialisation with the given fan-in (Box-Muller).</summary>
    public void InitHeNormal(Random random, int fanIn, float gain = 1f)
    {
        double std = gain * Math.Sqrt(2.0 / fanIn);
        for (int i = 0; i < Value.Length; i++)
        {
            double u1 = 1.0 - random.NextDouble(), u2 = random.NextDouble();
            Value[i] = (float)(std * Math.Sqrt(-2.0 * Math.Log(u1)) * Math.Cos(2 * Math.PI * u2));
        }
    }

    /// <summary>Sets every value.</summary>
    public void Fill(float value) => Array.Fill(Value, value);
}
