using System;
using MobileOne.Runtime;
using MobileOne.Server.Imaging;

namespace MobileOne.Server.Models;

/// <summary>
/// MobileOne-S1 (class <see cref="MobileOneS1"/>, generated from its architecture file) with weights bound at run
/// time; preprocessing as timm evaluates it: resize, centre crop (<c>CropPct</c>), ImageNet mean/std.
/// </summary>
public sealed class MobileOneS1Classifier : IImageClassifier
{
    private readonly MobileOneS1 _network;

    /// <summary>Initializes a new instance of the <see cref="MobileOneS1Classifier"/> class.</summary>
    /// <param name="weightsPath">A fused MobileOne-S1 safetensors file (Apple's or timm's names).</param>
    public MobileOneS1Classifier(string weightsPath)
    {
        _network = MobileOneS1.Load(weightsPath);
        _network.WarmUp(); // the kernels are compiled now, not in the first request
    }

    /// <inheritdoc />
    public string Name => nameof(MobileOneS1);

    /// <inheritdoc />
    public int InputLength => MobileOneS1.InputLength;

    /// <inheritdoc />
    public int NumClasses => MobileOneS1.NumClasses;

    /// <inheritdoc />
    public string Label(int index) => Labels.At(MobileOneS1.Labels, index);

    /// <inheritdoc />
    public void Preprocess(DecodedImage image, Span<float> input) =>
        ImagePreprocessing.ToChw(image.Rgb, image.Width, image.Height, image.Width * 3, PixelFormat.Rgb24, input,
            MobileOneS1.InputChannels, MobileOneS1.InputHeight, MobileOneS1.InputWidth, MobileOneS1.Mean, MobileOneS1.Std,
            MobileOneS1.CropPct > 0 ? MobileOneS1.CropPct : 1f);

    /// <inheritdoc />
    public void Run(ReadOnlySpan<float> inputs, Span<float> logits, int batchSize) => _network.Run(inputs, logits, batchSize);
}
