using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Net.Http;
using System.Net.Http.Headers;
using StbImageSharp;
using StbImageWriteSharp;
using ReadComponents = StbImageSharp.ColorComponents;
using WriteComponents = StbImageWriteSharp.ColorComponents;

namespace MobileOne.Server.Tests;

/// <summary>The Fashion-MNIST test images that ship with the sample (<c>0000_ankle_boot.png</c>: the label is in the name).</summary>
public static class TestImages
{
    /// <summary>Gets the folder the images are copied to.</summary>
    public static string Folder => Path.Combine(AppContext.BaseDirectory, "images");

    /// <summary>Gets the ten labelled images, by file name.</summary>
    public static IReadOnlyList<string> LabelledFiles { get; } =
        Directory.GetFiles(Folder, "0*_*.png").Select(Path.GetFileName).Order(StringComparer.Ordinal).ToArray()!;

    /// <summary>Gets the ankle boot, the image most tests send.</summary>
    public static byte[] AnkleBoot => Read("0000_ankle_boot.png");

    /// <summary>Gets a 93 KB colour PNG (the sample's gradient), for truncation.</summary>
    public static byte[] Gradient => Read("gradient.png");

    /// <summary>Reads an image of <see cref="Folder"/>.</summary>
    /// <param name="fileName">The file name.</param>
    /// <returns>Its bytes.</returns>
    public static byte[] Read(string fileName) => File.ReadAllBytes(Path.Combine(Folder, fileName));

    /// <summary>The true label of a labelled file, letters only, lower case (<c>0019_tshirt_top.png</c> → tshirttop).</summary>
    /// <param name="fileName">The file name.</param>
    /// <returns>The label.</returns>
    public static string Truth(string fileName) => Normalise(Path.GetFileNameWithoutExtension(fileName)[5..]);

    /// <summary>Letters only, lower case ("T-shirt/top" → tshirttop).</summary>
    /// <param name="label">A label.</param>
    /// <returns>The normalised label.</returns>
    public static string Normalise(string label) => new string(label.Where(char.IsLetter).ToArray()).ToLowerInvariant();

    /// <summary>Re-encodes an image as JPEG (quality 95) or BMP, in memory.</summary>
    /// <param name="png">The source image.</param>
    /// <param name="format">"jpeg" or "bmp".</param>
    /// <returns>The encoded bytes.</returns>
    public static byte[] Reencode(byte[] png, string format)
    {
        ImageResult image = ImageResult.FromMemory(png, ReadComponents.RedGreenBlue);
        using var output = new MemoryStream();
        var writer = new ImageWriter();
        if (format == "jpeg")
        {
            writer.WriteJpg(image.Data, image.Width, image.Height, WriteComponents.RedGreenBlue, output, 95);
        }
        else
        {
            writer.WriteBmp(image.Data, image.Width, image.Height, WriteComponents.RedGreenBlue, output);
        }

        return output.ToArray();
    }

    /// <summary>The photographic negative of an image (255 - value), as a PNG.</summary>
    /// <param name="png">The source image.</param>
    /// <returns>The negative.</returns>
    public static byte[] Negative(byte[] png)
    {
        ImageResult image = ImageResult.FromMemory(png, ReadComponents.RedGreenBlue);
        byte[] pixels = image.Data.Select(b => (byte)(255 - b)).ToArray();
        using var output = new MemoryStream();
        new ImageWriter().WritePng(pixels, image.Width, image.Height, WriteComponents.RedGreenBlue, output);
        return output.ToArray();
    }

    /// <summary>A raw body with a Content-Type.</summary>
    /// <param name="bytes">The body.</param>
    /// <param name="contentType">The Content-Type, or null for none.</param>
    /// <returns>The content.</returns>
    public static HttpContent Body(byte[] bytes, string? contentType = "image/png")
    {
        var content = new ByteArrayContent(bytes);
        if (contentType != null)
        {
            content.Headers.ContentType = MediaTypeHeaderValue.Parse(contentType);
        }

        return content;
    }

    /// <summary>A multipart/form-data body with one file part (as a browser form or <c>curl -F</c> sends it).</summary>
    /// <param name="bytes">The file.</param>
    /// <param name="partType">The part's Content-Type, or null for none.</param>
    /// <returns>The content.</returns>
    public static MultipartFormDataContent FilePart(byte[] bytes, string? partType = "image/png")
    {
        var form = new MultipartFormDataContent { { new StringContent("a form field the server skips"), "note" } };
        ByteArrayContent file = new(bytes);
        if (partType != null)
        {
            file.Headers.ContentType = MediaTypeHeaderValue.Parse(partType);
        }

        form.Add(file, "image", "upload.png");
        return form;
    }
}
