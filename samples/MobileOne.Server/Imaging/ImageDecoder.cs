using System;
using System.Globalization;
using System.IO;
using MobileOne.Server.Http;
using StbImageSharp;

namespace MobileOne.Server.Imaging;

/// <summary>
/// Decodes an uploaded JPEG, PNG or BMP to RGB, after checking what it would cost: the format from the signature,
/// the dimensions from the header against the pixel limit, and for PNG the inflated size against the dimensions
/// (<see cref="PngInflateGuard"/>). Every failure is a <see cref="RequestRejectedException"/>; nothing reaches disk.
/// </summary>
public sealed class ImageDecoder
{
    private readonly long _maxPixels;

    /// <summary>Initializes a new instance of the <see cref="ImageDecoder"/> class.</summary>
    /// <param name="maxPixels">The largest width x height accepted.</param>
    public ImageDecoder(long maxPixels)
    {
        _maxPixels = maxPixels;
    }

    /// <summary>Decodes <paramref name="file"/>.</summary>
    /// <param name="file">The uploaded bytes.</param>
    /// <returns>The RGB image.</returns>
    public DecodedImage Decode(ArraySegment<byte> file)
    {
        if (file.Count == 0)
        {
            throw new RequestRejectedException(400, "Empty image", "The request has no image: the body (or the file part) is empty.");
        }

        ImageFormat format = ImageFormatSniffer.Sniff(file);
        if (format == ImageFormat.Unknown)
        {
            throw new RequestRejectedException(400, "Invalid image", "The body is not a JPEG, PNG or BMP image (its first bytes are no known signature).");
        }

        (int width, int height) = ReadDimensions(file, format);
        CheckPixels(width, height);
        if (format == ImageFormat.Png)
        {
            PngInflateGuard.Check(file);
        }

        ImageResult image = DecodePixels(file, format);
        if (image.Width != width || image.Height != height)
        {
            throw new RequestRejectedException(400, "Invalid image", $"The {format} header says {width}x{height}, the data {image.Width}x{image.Height}.");
        }

        return new DecodedImage(image.Data, image.Width, image.Height);
    }

    private static (int Width, int Height) ReadDimensions(ArraySegment<byte> file, ImageFormat format)
    {
        ImageInfo? info;
        try
        {
            using var stream = new MemoryStream(file.Array!, file.Offset, file.Count, writable: false);
            info = ImageInfo.FromStream(stream);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // The header reader of a hostile file may throw anything; it is as unreadable as no header.
            info = null;
        }

        return info is { Width: > 0, Height: > 0 } i
            ? (i.Width, i.Height)
            : throw new RequestRejectedException(400, "Invalid image", $"The {format} header is malformed or truncated: no dimensions could be read.");
    }

    private void CheckPixels(int width, int height)
    {
        long pixels = (long)width * height;
        if (pixels > _maxPixels)
        {
            throw new RequestRejectedException(413, "Image too large", string.Create(CultureInfo.InvariantCulture,
                $"The image is {width}x{height} = {pixels / 1e6:F1} megapixels; the limit is {_maxPixels / 1e6:F1} megapixels ({_maxPixels:N0} pixels). It was not decoded."));
        }
    }

    private static ImageResult DecodePixels(ArraySegment<byte> file, ImageFormat format)
    {
        try
        {
            using var stream = new MemoryStream(file.Array!, file.Offset, file.Count, writable: false);
            return ImageResult.FromStream(stream, ColorComponents.RedGreenBlue);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // StbImageSharp reports corrupt data with InvalidOperationException, and a fuzzed file can make it throw others.
            throw new RequestRejectedException(400, "Invalid image", $"The {format} image could not be decoded: it is corrupt or truncated.");
        }
    }
}
