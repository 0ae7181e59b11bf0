using System;

namespace MobileOne.Runtime;

/// <summary>What every generated MobileOne class offers, for code that handles several models alike.</summary>
public interface IMobileOneNetwork
{
    /// <summary>Gets the number of input channels.</summary>
    int InputChannels { get; }

    /// <summary>Gets the input height.</summary>
    int InputHeight { get; }

    /// <summary>Gets the input width.</summary>
    int InputWidth { get; }

    /// <summary>Gets the number of classes.</summary>
    int NumClasses { get; }

    /// <summary>
    /// Prepares the network so that the next call runs at steady-state speed: the generated classes JIT-compile every
    /// kernel they use by running one inference on zeros (once per class and process). Does nothing by default.
    /// </summary>
    void WarmUp()
    {
    }

    /// <summary>Classifies one CHW image of <c>InputChannels x InputHeight x InputWidth</c> floats into <c>NumClasses</c> logits.</summary>
    /// <param name="input">The normalised image, CHW.</param>
    /// <param name="logits">Receives the logits.</param>
    void Run(ReadOnlySpan<float> input, Span<float> logits);

    /// <summary>Classifies <paramref name="batchSize"/> images stored one after another.</summary>
    /// <param name="inputs">The images, CHW each.</param>
    /// <param name="logits">Receives <paramref name="batchSize"/> x <c>NumClasses</c> logits.</param>
    /// <param name="batchSize">Number of images.</param>
    void Run(ReadOnlySpan<float> inputs, Span<float> logits, int batchSize);
}
