using System;

namespace MobileOne.Runtime;

/// <summary>Post-processing of logits: softmax and top-k, allocation-free.</summary>
public static class Classification
{
    /// <summary>Writes softmax(<paramref name="logits"/>) into <paramref name="probabilities"/> (max-subtracted, so no overflow).</summary>
    /// <param name="logits">The logits.</param>
    /// <param name="probabilities">Receives one probability per logit; may be the same memory as <paramref name="logits"/>.</param>
    /// <exception cref="ArgumentException">The spans differ in length or are empty.</exception>
    public static void Softmax(ReadOnlySpan<float> logits, Span<float> probabilities)
    {
        if (logits.Length == 0 || probabilities.Length != logits.Length)
        {
            throw new ArgumentException($"Expected {logits.Length} probabilities for {logits.Length} logits (at least 1), got {probabilities.Length}.", nameof(probabilities));
        }

        float max = float.NegativeInfinity;
        foreach (float v in logits)
        {
            max = Math.Max(max, v);
        }

        double sum = 0;
        for (int i = 0; i < logits.Length; i++)
        {
            float e = MathF.Exp(logits[i] - max);
            probabilities[i] = e;
            sum += e;
        }

        float scale = (float)(1.0 / sum);
        for (int i = 0; i < probabilities.Length; i++)
        {
            probabilities[i] *= scale;
        }
    }

    /// <summary>
    /// Fills <paramref name="indices"/> with the positions of the largest <paramref name="scores"/>, largest first
    /// (ties: lower index first). Its length is k and must not exceed the number of scores.
    /// </summary>
    /// <param name="scores">Logits or probabilities.</param>
    /// <param name="indices">Receives k indices.</param>
    /// <exception cref="ArgumentException">k is larger than the number of scores.</exception>
    public static void TopK(ReadOnlySpan<float> scores, Span<int> indices)
    {
        if (indices.Length > scores.Length)
        {
            throw new ArgumentException($"Expected at most {scores.Length} indices (one per score), got {indices.Length}.", nameof(indices));
        }

        int k = indices.Length;
        int filled = 0;
        for (int i = 0; i < scores.Length; i++)
        {
            float s = scores[i];
            if (filled == k && (k == 0 || !(s > scores[indices[k - 1]])))
            {
                continue;
            }

            // Insertion into the sorted top list: k is small (5), so this beats a heap.
            int pos = filled < k ? filled++ : k - 1;
            while (pos > 0 && s > scores[indices[pos - 1]])
            {
                indices[pos] = indices[pos - 1];
                pos--;
            }

            indices[pos] = i;
        }
    }
}
