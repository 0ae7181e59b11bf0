using System;
using MobileOne.Server.Imaging;

namespace MobileOne.Server.Models;

/// <summary>
/// The same Fashion-MNIST network quantized to int8 (class <see cref="FashionMnistInt8"/>, weights embedded;
/// docs/quantization.md): the same input as the FP32 model, int8 kernels inside.
/// </summary>
public sealed class FashionMnistInt8Classifier : IImageClassifier
{
    /// <summary>Initializes a new instance of the <see cref="FashionMnistInt8Classifier"/> class: binds the embedded weights and compiles the kernels now, not in the first request.</summary>
    public FashionMnistInt8Classifier() => FashionMnistInt8.Default.WarmUp();

    /// <inheritdoc />
    public string Name => nameof(FashionMnistInt8);

    /// <inheritdoc />
    public int InputLength => FashionMnistInt8.InputLength;

    /// <inheritdoc />
    public int NumClasses => FashionMnistInt8.NumClasses;

    /// <inheritdoc />
    public string Label(int index) => Labels.At(FashionMnistInt8.Labels, index);

    /// <inheritdoc />
    public void Preprocess(DecodedImage image, Span<float> input) => FashionPreprocessing.ToInput(image, input);

    /// <inheritdoc />
    public void Run(ReadOnlySpan<float> inputs, Span<float> logits, int batchSize) => FashionMnistInt8.Default.Run(inputs, logits, batchSize);
}
