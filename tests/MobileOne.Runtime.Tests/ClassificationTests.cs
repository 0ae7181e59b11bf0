using System;
using System.Linq;
using MobileOne.Runtime;
using Xunit;

namespace MobileOne.Runtime.Tests;

public class ClassificationTests
{
    [Theory]
    [InlineData(1, 1)]
    [InlineData(10, 3)]
    [InlineData(1000, 5)]
    public void SoftmaxAndTopKMatchAPlainReference(int n, int seed)
    {
        var rng = new Random(seed);
        float[] logits = Enumerable.Range(0, n).Select(_ => (float)(rng.NextDouble() * 40 - 20)).ToArray();
        logits[n / 2] = 80; // would overflow exp() without max subtraction
        float[] p = new float[n];
        Classification.Softmax(logits, p);
        double max = logits.Max();
        double sum = logits.Sum(v => Math.Exp(v - max));
        for (int i = 0; i < n; i++)
        {
            Assert.InRange(Math.Abs(p[i] - (Math.Exp(logits[i] - max) / sum)), 0, 1e-6);
        }

        int k = Math.Min(5, n);
        int[] top = new int[k];
        Classification.TopK(logits, top);
        int[] expected = Enumerable.Range(0, n).OrderByDescending(i => logits[i]).ThenBy(i => i).Take(k).ToArray();
        Assert.Equal(expected, top);
    }

    [Fact]
    public void TiesKeepTheLowerIndexFirstAndBadLengthsThrow()
    {
        int[] top = new int[3];
        Classification.TopK(new float[] { 1, 3, 3, 2, 3 }, top);
        Assert.Equal(new[] { 1, 2, 4 }, top);
        Assert.Throws<ArgumentException>(() => Classification.TopK(new float[2], new int[3]));
        Assert.Throws<ArgumentException>(() => Classification.Softmax(new float[3], new float[2]));
        Assert.Throws<ArgumentException>(() => Classification.Softmax(ReadOnlySpan<float>.Empty, Span<float>.Empty));
    }
}
