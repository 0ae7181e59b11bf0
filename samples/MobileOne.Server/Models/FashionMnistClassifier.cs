using System;
using MobileOne.Server.Imaging;

namespace MobileOne.Server.Models;

/// <summary>The Fashion-MNIST model that ships with the repository (class <see cref="FashionMnist"/>, weights embedded).</summary>
public sealed class FashionMnistClassifier : IImageClassifier
{
    /// <summary>Initializes a new instance of the <see cref="FashionMnistClassifier"/> class: binds the embedded weights and compiles the kernels now, not in the first request.</summary>
    public FashionMnistClassifier() => FashionMnist.Default.WarmUp();

    /// <inheritdoc />
    public string Name => nameof(FashionMnist);

    /// <inheritdoc />
    public int InputLength => FashionMnist.InputLength;

    /// <inheritdoc />
    public int NumClasses => FashionMnist.NumClasses;

    /// <inheritdoc />
    public string Label(int index) => Labels.At(FashionMnist.Labels, index);

    /// <inheritdoc />
    public void Preprocess(DecodedImage image, Span<float> input) => FashionPreprocessing.ToInput(image, input);

    /// <inheritdoc />
    public void Run(ReadOnlySpan<float> inputs, Span<float> logits, int batchSize) => FashionMnist.Default.Run(inputs, logits, batchSize);
}
