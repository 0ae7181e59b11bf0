using System;
using System.Collections.Generic;
using MobileOne.Server.Imaging;

namespace MobileOne.Server.Models;

/// <summary>
/// A model the server can serve: how an image becomes its input, and a batched forward pass. One implementation
/// per generated class (an INT8 class would be one more); the HTTP layer and the micro-batcher see only this.
/// </summary>
public interface IImageClassifier
{
    /// <summary>Gets the model's name, as reported in every response.</summary>
    string Name { get; }

    /// <summary>Gets the number of floats of one preprocessed input.</summary>
    int InputLength { get; }

    /// <summary>Gets the number of classes (logits per image).</summary>
    int NumClasses { get; }

    /// <summary>Gets the name of class <paramref name="index"/> ("class N" when the model has no labels).</summary>
    /// <param name="index">The class index.</param>
    /// <returns>The label.</returns>
    string Label(int index);

    /// <summary>Turns a decoded image into the model's normalised input.</summary>
    /// <param name="image">The decoded RGB image.</param>
    /// <param name="input">Receives <see cref="InputLength"/> floats.</param>
    void Preprocess(DecodedImage image, Span<float> input);

    /// <summary>Classifies <paramref name="batchSize"/> inputs stored one after another (thread-safe).</summary>
    /// <param name="inputs"><paramref name="batchSize"/> x <see cref="InputLength"/> floats.</param>
    /// <param name="logits">Receives <paramref name="batchSize"/> x <see cref="NumClasses"/> logits.</param>
    /// <param name="batchSize">The number of images.</param>
    void Run(ReadOnlySpan<float> inputs, Span<float> logits, int batchSize);
}

/// <summary>Label lookup shared by the classifiers.</summary>
internal static class Labels
{
    public static string At(IReadOnlyList<string> labels, int index) =>
        index < labels.Count ? labels[index] : string.Create(System.Globalization.CultureInfo.InvariantCulture, $"class {index}");
}
