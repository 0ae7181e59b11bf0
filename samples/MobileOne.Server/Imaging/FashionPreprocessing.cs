using System;
using MobileOne.Runtime;

namespace MobileOne.Server.Imaging;

/// <summary>
/// Any image → the Fashion-MNIST model's input, as samples/MobileOne.Sample's <c>FashionInput</c> does it: 28x28 grey
/// (antialiased resize, BT.601), inverted when the border is bright (Fashion-MNIST shows light clothes on black),
/// rounded to bytes as the training images are, zero-padded to 1x32x32 and normalised with the model's mean/std.
/// </summary>
public static class FashionPreprocessing
{
    private const int Side = 28;
    private const int Padded = 32;

    /// <summary>Writes the model input for <paramref name="image"/>.</summary>
    /// <param name="image">The decoded image.</param>
    /// <param name="input">Receives <c>FashionMnist.InputLength</c> floats.</param>
    public static void ToInput(DecodedImage image, Span<float> input)
    {
        ArgumentNullException.ThrowIfNull(image);
        Span<float> grey = stackalloc float[Side * Side];
        ImagePreprocessing.ToChw(image.Rgb, image.Width, image.Height, image.Width * 3, PixelFormat.Rgb24, grey, 1, Side, Side,
            ReadOnlySpan<float>.Empty, ReadOnlySpan<float>.Empty);
        bool invert = BorderMean(grey) > 0.5f;
        Span<byte> bytes = stackalloc byte[Side * Side];
        for (int i = 0; i < bytes.Length; i++)
        {
            float v = invert ? 1f - grey[i] : grey[i];
            bytes[i] = (byte)Math.Clamp(MathF.Round(v * 255f), 0, 255);
        }

        Pad28To32(bytes, input);
    }

    private static float BorderMean(ReadOnlySpan<float> grey)
    {
        float border = 0;
        for (int i = 0; i < Side; i++)
        {
            border += grey[i] + grey[((Side - 1) * Side) + i] + grey[i * Side] + grey[(i * Side) + Side - 1];
        }

        return border / (4 * Side);
    }

    // A 28x28 image (0 = background) -> zero-padded to 32x32, normalised with the model's mean/std.
    private static void Pad28To32(ReadOnlySpan<byte> image, Span<float> destination)
    {
        if (destination.Length != FashionMnist.InputLength)
        {
            throw new ArgumentException($"Expected {FashionMnist.InputLength} floats, got {destination.Length}.", nameof(destination));
        }

        float mean = FashionMnist.Mean[0], std = FashionMnist.Std[0];
        int offset = (Padded - Side) / 2;
        destination.Fill((0f - mean) / std);
        for (int y = 0; y < Side; y++)
        {
            for (int x = 0; x < Side; x++)
            {
                destination[((y + offset) * Padded) + x + offset] = ((image[(y * Side) + x] / 255f) - mean) / std;
            }
        }
    }
}
