using System;
using System.IO;
using System.Linq;
using System.Text.RegularExpressions;

namespace MobileOne.LoadGenerator;

/// <summary>A request body: image bytes, its content type and, when its file name says it, its true label.</summary>
/// <param name="Name">The file name.</param>
/// <param name="Bytes">The file's bytes.</param>
/// <param name="ContentType">image/png, image/jpeg or image/bmp, from the extension.</param>
/// <param name="Truth">The label in the name (<c>0000_ankle_boot.png</c> → "ankleboot"), letters only, lower case; or null.</param>
public sealed partial record TestImage(string Name, byte[] Bytes, string ContentType, string? Truth)
{
    /// <summary>Reads an image file.</summary>
    /// <param name="path">The file.</param>
    /// <returns>The image.</returns>
    public static TestImage Load(string path)
    {
        string name = Path.GetFileName(path);
        string type = Path.GetExtension(path).ToUpperInvariant() switch
        {
            ".JPG" or ".JPEG" => "image/jpeg",
            ".BMP" => "image/bmp",
            _ => "image/png",
        };
        Match numbered = NumberedLabel().Match(Path.GetFileNameWithoutExtension(path));
        return new TestImage(name, File.ReadAllBytes(path), type, numbered.Success ? Normalise(numbered.Groups[1].Value) : null);
    }

    /// <summary>Letters only, lower case: how a label is compared with a file name.</summary>
    /// <param name="label">A label or a file-name part.</param>
    /// <returns>The normalised text.</returns>
    public static string Normalise(string label) => new string(label.Where(char.IsLetter).ToArray()).ToLowerInvariant();

    [GeneratedRegex("^[0-9]+_(.+)$")]
    private static partial Regex NumberedLabel();
}
