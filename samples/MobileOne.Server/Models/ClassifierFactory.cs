namespace MobileOne.Server.Models;

/// <summary>
/// Chooses the model from the options: MobileOne-S1 when <c>--s1-weights</c> is given, the int8 Fashion-MNIST model
/// with <c>--int8</c>, else the FP32 Fashion-MNIST model.
/// </summary>
public static class ClassifierFactory
{
    /// <summary>Creates the classifier the options ask for (loading and warming up its weights).</summary>
    /// <param name="options">The server options.</param>
    /// <returns>The classifier.</returns>
    public static IImageClassifier Create(ServerOptions options)
    {
        System.ArgumentNullException.ThrowIfNull(options);
        if (options.S1Weights is { } path)
        {
            return new MobileOneS1Classifier(path);
        }

        return options.Int8 ? new FashionMnistInt8Classifier() : new FashionMnistClassifier();
    }
}
