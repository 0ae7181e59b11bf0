using System;

namespace MobileOne.Server.Imaging;

/// <summary>The image formats the server decodes.</summary>
public enum ImageFormat
{
    /// <summary>Not one of the formats below.</summary>
    Unknown,

    /// <summary>PNG.</summary>
    Png,

    /// <summary>JPEG (JFIF / Exif).</summary>
    Jpeg,

    /// <summary>Windows BMP.</summary>
    Bmp,
}

/// <summary>Tells the format from the first bytes (the Content-Type header is not trusted for this).</summary>
public static class ImageFormatSniffer
{
    private static ReadOnlySpan<byte> PngSignature => [0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A];

    /// <summary>Returns the format whose signature <paramref name="data"/> starts with.</summary>
    /// <param name="data">The file's bytes.</param>
    /// <returns>The format, or <see cref="ImageFormat.Unknown"/>.</returns>
    public static ImageFormat Sniff(ReadOnlySpan<byte> data)
    {
        if (data.StartsWith(PngSignature))
        {
            return ImageFormat.Png;
        }

        if (data.Length >= 3 && data[0] == 0xFF && data[1] == 0xD8 && data[2] == 0xFF)
        {
            return ImageFormat.Jpeg;
        }

        return data.Length >= 26 && data[0] == (byte)'B' && data[1] == (byte)'M' ? ImageFormat.Bmp : ImageFormat.Unknown;
    }
}
