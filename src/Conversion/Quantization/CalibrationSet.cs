using System;
using System.Buffers.Binary;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.IO.Compression;
using System.Linq;
using System.Threading.Tasks;
using MobileOne.Model;
using MobileOne.Runtime;
using StbImageSharp;

namespace MobileOne.Conversion.Quantization;

/// <summary>
/// The preprocessing of a model's input, from its architecture JSON (docs/architecture-json.md): per-channel mean and
/// std on [0, 1] pixels (both absent: pixels / 255 as they are) and timm's crop fraction.
/// </summary>
/// <param name="Mean">Per-channel mean, or null.</param>
/// <param name="Std">Per-channel standard deviation, or null.</param>
/// <param name="CropPct">Fraction of the resized image kept by the centre crop (1: resize straight to the input size).</param>
public sealed record InputNormalization(float[]? Mean, float[]? Std, float CropPct = 1f)
{
    /// <summary>No normalisation: pixels / 255, no crop margin.</summary>
    public static InputNormalization None { get; } = new(null, null);

    /// <summary>The value a pixel byte becomes in channel <paramref name="channel"/>.</summary>
    public float Normalise(byte pixel, int channel) =>
        Mean == null || Std == null ? pixel / 255f : ((pixel / 255f) - Mean[channel]) / Std[channel];

    /// <summary>The mean, std and crop of an architecture JSON (<see cref="None"/> when it has none or does not read).</summary>
    public static InputNormalization FromArchitectureJson(string? json)
    {
        if (json == null)
        {
            return None;
        }

        ArchitectureDocument? doc = ArchitectureJson.Read(json, new List<ArchitectureJsonError>());
        if (doc == null)
        {
            return None;
        }

        float crop = doc.CropPct is float c && c > 0 && c <= 1 ? c : 1f;
        return doc.Mean != null && doc.Std != null ? new InputNormalization(doc.Mean, doc.Std, crop) : new InputNormalization(null, null, crop);
    }
}

/// <summary>
/// Calibration images: normalised CHW float images of a model's input size, read from a raw float32 file, an IDX3 file
/// of grey images (optionally gzipped) or a folder of JPEG/PNG/BMP images.
/// </summary>
/// <remarks>
/// When the source holds more images than asked for, the images taken are evenly spaced over the whole source (image
/// <c>floor(i · available / count)</c> for i = 0 … count − 1), so a folder sorted by class still gives every class.
/// The choice is deterministic: no random seed.
/// </remarks>
public sealed class CalibrationSet
{
    /// <summary>Default number of images <c>mobileone quantize</c> uses.</summary>
    public const int DefaultMaxImages = 1000;

    /// <summary>File extensions read from an image folder (case-insensitive).</summary>
    public static IReadOnlyList<string> ImageExtensions { get; } = new[] { ".jpg", ".jpeg", ".png", ".bmp" };

    private const int IdxUByteMagic = 0x00000803;

    private readonly float[] _images;

    /// <summary>Wraps <paramref name="count"/> CHW images stored one after the other.</summary>
    /// <exception cref="ArgumentException">The length is not <paramref name="count"/> images.</exception>
    public CalibrationSet(float[] images, int count, int channels, int height, int width, string description, int available)
    {
        ArgumentNullException.ThrowIfNull(images);
        ArgumentNullException.ThrowIfNull(description);
        if (count < 0 || channels < 1 || height < 1 || width < 1 || images.LongLength != (long)count * channels * height * width)
        {
            throw new ArgumentException($"Expected {count} images of {channels}x{height}x{width} floats, got {images.LongLength} floats.", nameof(images));
        }

        _images = images;
        Count = count;
        Channels = channels;
        Height = height;
        Width = width;
        Description = description;
        Available = available;
    }

    /// <summary>Number of images.</summary>
    public int Count { get; }

    /// <summary>Channels of an image.</summary>
    public int Channels { get; }

    /// <summary>Height of an image.</summary>
    public int Height { get; }

    /// <summary>Width of an image.</summary>
    public int Width { get; }

    /// <summary>Floats per image.</summary>
    public int ImageLength => Channels * Height * Width;

    /// <summary>How many images the source had.</summary>
    public int Available { get; }

    /// <summary>Where the images came from and how they were made, for a person.</summary>
    public string Description { get; }

    /// <summary>Image <paramref name="index"/> (CHW).</summary>
    public ReadOnlySpan<float> this[int index] => _images.AsSpan(index * ImageLength, ImageLength);

    /// <summary>The indices taken from <paramref name="available"/> images when at most <paramref name="maxImages"/> are wanted.</summary>
    public static int[] Sample(int available, int maxImages)
    {
        if (maxImages < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(maxImages), maxImages, "Expected at least 1 image.");
        }

        int n = Math.Min(available, maxImages);
        var indices = new int[n];
        for (int i = 0; i < n; i++)
        {
            indices[i] = (int)((long)i * available / n);
        }

        return indices;
    }

    /// <summary>
    /// Reads calibration images from <paramref name="path"/>: a folder is read as images (<see cref="FromImageFolder"/>);
    /// a file starting with the IDX3 unsigned-byte magic, or gzip data holding one, as IDX (<see cref="FromIdx"/>);
    /// any other file as raw float32 (<see cref="FromRawFloats"/>).
    /// </summary>
    /// <exception cref="FileNotFoundException">Nothing exists at <paramref name="path"/>.</exception>
    /// <exception cref="ConversionException">The source cannot be used; the message says why and what was expected.</exception>
    public static CalibrationSet Open(string path, NetworkArchitecture architecture, InputNormalization normalization, int maxImages = DefaultMaxImages)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (Directory.Exists(path))
        {
            return FromImageFolder(path, architecture, normalization, maxImages);
        }

        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"The calibration data '{path}' does not exist (expected a raw float32 file, an IDX3 file or a folder of images).", path);
        }

        byte[] head = new byte[4];
        int read;
        using (FileStream f = File.OpenRead(path))
        {
            read = f.ReadAtLeast(head, 4, throwOnEndOfStream: false);
        }

        bool gzip = read >= 2 && head[0] == 0x1F && head[1] == 0x8B;
        bool idx = read == 4 && BinaryPrimitives.ReadInt32BigEndian(head) == IdxUByteMagic;
        return gzip || idx ? FromIdx(path, architecture, normalization, maxImages) : FromRawFloats(path, architecture, maxImages);
    }

    /// <summary>
    /// Little-endian float32 images, already normalised, CHW at the model's input size, one after the other (what
    /// <c>numpy.ndarray.astype('&lt;f4').tofile</c> writes for an N x C x H x W batch). N follows from the length.
    /// </summary>
    /// <exception cref="ConversionException">The length is not a whole number of images, or a value is NaN or infinite.</exception>
    public static CalibrationSet FromRawFloats(string path, NetworkArchitecture architecture, int maxImages = DefaultMaxImages)
    {
        ArgumentNullException.ThrowIfNull(path);
        ArgumentNullException.ThrowIfNull(architecture);
        int c = architecture.InputChannels, h = architecture.InputHeight, w = architecture.InputWidth;
        long imageFloats = (long)c * h * w, imageBytes = imageFloats * sizeof(float);
        string name = Path.GetFileName(path);
        using FileStream file = OpenExisting(path);
        long length = file.Length;
        if (length == 0 || length % imageBytes != 0)
        {
            throw new ConversionException(ConversionErrorKind.InvalidFormat, string.Create(CultureInfo.InvariantCulture,
                $"{name} is {length:N0} bytes, not a whole number of raw float32 images: the model takes {c}x{h}x{w} CHW images of {imageFloats:N0} floats ({imageBytes:N0} bytes) each, normalised, little-endian."));
        }

        long available = length / imageBytes;
        if (available > int.MaxValue)
        {
            throw new ConversionException(ConversionErrorKind.InvalidFormat, $"{name} holds more than {int.MaxValue} images.");
        }

        int[] take = Sample((int)available, maxImages);
        float[] images = new float[take.Length * imageFloats];
        byte[] buffer = new byte[imageBytes];
        for (int i = 0; i < take.Length; i++)
        {
            file.Position = take[i] * imageBytes;
            file.ReadExactly(buffer);
            Span<float> image = images.AsSpan((int)(i * imageFloats), (int)imageFloats);
            for (int k = 0; k < image.Length; k++)
            {
                image[k] = BinaryPrimitives.ReadSingleLittleEndian(buffer.AsSpan(k * sizeof(float)));
                if (!float.IsFinite(image[k]))
                {
                    throw new ConversionException(ConversionErrorKind.InvalidFormat, string.Create(CultureInfo.InvariantCulture,
                        $"{name}: image {take[i]} has a non-finite value ({image[k]}) at float {k}; calibration images must be finite."));
                }
            }
        }

        return new CalibrationSet(images, take.Length, c, h, w,
            string.Create(CultureInfo.InvariantCulture, $"{take.Length:N0} of {available:N0} raw float32 {c}x{h}x{w} images from {name}"), (int)available);
    }

    /// <summary>
    /// An IDX3 file of unsigned-byte grey images (MNIST / Fashion-MNIST format; gzipped or not). An image no larger than
    /// the model's input is centred on a background of pixel value 0 (Fashion-MNIST's 28x28 on 32x32); any other is
    /// resized (shorter side, then centre crop; <see cref="ImagePreprocessing.ToChw"/>). Pixels are normalised with the
    /// architecture's mean and std (none: pixel / 255); a 3-channel model gets the grey value in each channel.
    /// </summary>
    /// <exception cref="ConversionException">The file is not an unsigned-byte IDX3 file, is truncated, or the model does not take 1 or 3 channels.</exception>
    public static CalibrationSet FromIdx(string path, NetworkArchitecture architecture, InputNormalization normalization, int maxImages = DefaultMaxImages)
    {
        ArgumentNullException.ThrowIfNull(path);
        ArgumentNullException.ThrowIfNull(architecture);
        ArgumentNullException.ThrowIfNull(normalization);
        int c = architecture.InputChannels, h = architecture.InputHeight, w = architecture.InputWidth;
        string name = Path.GetFileName(path);
        CheckChannels(c, name, normalization);
        byte[] data;
        using (FileStream file = OpenExisting(path))
        {
            Span<byte> head = stackalloc byte[2];
            bool gzip = file.ReadAtLeast(head, 2, throwOnEndOfStream: false) == 2 && head[0] == 0x1F && head[1] == 0x8B;
            file.Position = 0;
            try
            {
                using Stream source = gzip ? new GZipStream(file, CompressionMode.Decompress, leaveOpen: true) : file;
                using var all = new MemoryStream();
                source.CopyTo(all);
                data = all.ToArray();
            }
            catch (InvalidDataException e)
            {
                throw new ConversionException(ConversionErrorKind.InvalidFormat, $"{name} is not valid gzip data: {e.Message}", e);
            }
        }

        if (data.Length < 16 || BinaryPrimitives.ReadInt32BigEndian(data) != IdxUByteMagic)
        {
            string magic = data.Length >= 4 ? "0x" + BinaryPrimitives.ReadInt32BigEndian(data).ToString("X8", CultureInfo.InvariantCulture) : "none";
            throw new ConversionException(ConversionErrorKind.InvalidFormat,
                $"{name} is not an IDX3 file of unsigned-byte images: it must start with the magic 0x00000803 and three dimensions (images, rows, columns); its magic is {magic}.");
        }

        int count = BinaryPrimitives.ReadInt32BigEndian(data.AsSpan(4)), rows = BinaryPrimitives.ReadInt32BigEndian(data.AsSpan(8)), cols = BinaryPrimitives.ReadInt32BigEndian(data.AsSpan(12));
        if (count < 1 || rows < 1 || cols < 1 || rows > ImagePreprocessing.MaxSide || cols > ImagePreprocessing.MaxSide)
        {
            throw new ConversionException(ConversionErrorKind.InvalidFormat, string.Create(CultureInfo.InvariantCulture,
                $"{name} says it holds {count} images of {rows}x{cols}; expected at least one image of 1 to {ImagePreprocessing.MaxSide} pixels a side."));
        }

        long pixels = (long)rows * cols;
        if (16 + (count * pixels) > data.LongLength)
        {
            throw new ConversionException(ConversionErrorKind.Truncated, string.Create(CultureInfo.InvariantCulture,
                $"{name} is truncated: its header says {count:N0} images of {rows}x{cols} ({16 + (count * pixels):N0} bytes), but it has {data.LongLength:N0} bytes."));
        }

        bool pad = rows <= h && cols <= w;
        int[] take = Sample(count, maxImages);
        int imageFloats = c * h * w;
        float[] images = new float[take.Length * imageFloats];
        Parallel.For(0, take.Length, i =>
        {
            ReadOnlySpan<byte> image = data.AsSpan((int)(16 + (take[i] * pixels)), (int)pixels);
            Span<float> destination = images.AsSpan(i * imageFloats, imageFloats);
            if (pad)
            {
                int top = (h - rows) / 2, left = (w - cols) / 2;
                for (int ch = 0; ch < c; ch++)
                {
                    Span<float> plane = destination.Slice(ch * h * w, h * w);
                    plane.Fill(normalization.Normalise(0, ch));
                    for (int y = 0; y < rows; y++)
                    {
                        for (int x = 0; x < cols; x++)
                        {
                            plane[((y + top) * w) + x + left] = normalization.Normalise(image[(y * cols) + x], ch);
                        }
                    }
                }
            }
            else
            {
                ImagePreprocessing.ToChw(image, cols, rows, cols, PixelFormat.Gray8, destination, c, h, w, normalization.Mean, normalization.Std, normalization.CropPct);
            }
        });
        string how = pad ? (rows == h && cols == w ? "as they are" : $"centred on {h}x{w}") : $"resized to {h}x{w}";
        return new CalibrationSet(images, take.Length, c, h, w,
            string.Create(CultureInfo.InvariantCulture, $"{take.Length:N0} of {count:N0} IDX {rows}x{cols} grey images from {name} ({how}{Describe(normalization)})"), count);
    }

    /// <summary>
    /// The JPEG, PNG and BMP files under <paramref name="directory"/> (recursively, in ordinal order of their relative
    /// paths), decoded with StbImageSharp and preprocessed as the model expects (<see cref="ImagePreprocessing.ToChw"/>:
    /// resize the shorter side to size / cropPct, centre crop, normalise; grey models get ITU-R BT.601 luma).
    /// </summary>
    /// <exception cref="ConversionException">The folder has no images, an image cannot be decoded, or the model does not take 1 or 3 channels.</exception>
    public static CalibrationSet FromImageFolder(string directory, NetworkArchitecture architecture, InputNormalization normalization, int maxImages = DefaultMaxImages)
    {
        ArgumentNullException.ThrowIfNull(directory);
        ArgumentNullException.ThrowIfNull(architecture);
        ArgumentNullException.ThrowIfNull(normalization);
        if (!Directory.Exists(directory))
        {
            throw new DirectoryNotFoundException($"The calibration folder '{directory}' does not exist.");
        }

        int c = architecture.InputChannels, h = architecture.InputHeight, w = architecture.InputWidth;
        CheckChannels(c, directory, normalization);
        string[] files = Directory.EnumerateFiles(directory, "*", SearchOption.AllDirectories)
            .Where(f => ImageExtensions.Contains(Path.GetExtension(f).ToLowerInvariant()))
            .Select(f => Path.GetRelativePath(directory, f).Replace('\\', '/'))
            .OrderBy(f => f, StringComparer.Ordinal)
            .ToArray();
        if (files.Length == 0)
        {
            throw new ConversionException(ConversionErrorKind.InvalidFormat, $"The calibration folder '{directory}' has no images (expected {string.Join(", ", ImageExtensions)} files, in it or in its subfolders).");
        }

        int[] take = Sample(files.Length, maxImages);
        int imageFloats = c * h * w;
        float[] images = new float[take.Length * imageFloats];
        var failures = new string?[take.Length];
        Parallel.For(0, take.Length, i =>
        {
            string file = Path.Combine(directory, files[take[i]]);
            ImageResult? decoded;
            try
            {
                decoded = ImageResult.FromMemory(File.ReadAllBytes(file), ColorComponents.RedGreenBlue);
            }
#pragma warning disable CA1031 // StbImageSharp reports damaged or unsupported data with plain Exception.
            catch (Exception e)
#pragma warning restore CA1031
            {
                failures[i] = $"'{files[take[i]]}' cannot be decoded as an image: {e.Message}";
                return;
            }

            if (decoded?.Data == null || decoded.Width < 1 || decoded.Height < 1)
            {
                failures[i] = $"'{files[take[i]]}' cannot be decoded as an image.";
                return;
            }

            try
            {
                ImagePreprocessing.ToChw(decoded.Data, decoded.Width, decoded.Height, decoded.Width * 3, PixelFormat.Rgb24,
                    images.AsSpan(i * imageFloats, imageFloats), c, h, w, normalization.Mean, normalization.Std, normalization.CropPct);
            }
            catch (ArgumentException e)
            {
                failures[i] = $"'{files[take[i]]}' ({decoded.Width}x{decoded.Height}) cannot be preprocessed: {e.Message}";
            }
        });
        if (failures.FirstOrDefault(f => f != null) is string failure)
        {
            throw new ConversionException(ConversionErrorKind.InvalidFormat, $"Calibration folder '{directory}': {failure}");
        }

        return new CalibrationSet(images, take.Length, c, h, w,
            string.Create(CultureInfo.InvariantCulture, $"{take.Length:N0} of {files.Length:N0} images from {directory} (resized and centre-cropped to {h}x{w}{Describe(normalization)})"), files.Length);
    }

    private static FileStream OpenExisting(string path) =>
        File.Exists(path) ? File.OpenRead(path) : throw new FileNotFoundException($"The calibration data '{path}' does not exist.", path);

    private static void CheckChannels(int channels, string source, InputNormalization normalization)
    {
        if (channels != 1 && channels != 3)
        {
            throw new ConversionException(ConversionErrorKind.InvalidFormat,
                $"The model takes {channels} input channels; images ({source}) can only feed a 1-channel (grey) or 3-channel (RGB) model. Give raw float32 calibration data instead.");
        }

        if (normalization.Mean != null && (normalization.Mean.Length != channels || normalization.Std?.Length != channels))
        {
            throw new ConversionException(ConversionErrorKind.InvalidFormat,
                $"The architecture's mean and std must have {channels} values each (one per input channel), not {normalization.Mean.Length} and {normalization.Std?.Length ?? 0}.");
        }
    }

    private static string Describe(InputNormalization n) =>
        n.Mean == null || n.Std == null
            ? ", pixels / 255"
            : string.Create(CultureInfo.InvariantCulture, $", normalised with mean [{string.Join(", ", n.Mean.Select(m => m.ToString("R", CultureInfo.InvariantCulture)))}], std [{string.Join(", ", n.Std.Select(s => s.ToString("R", CultureInfo.InvariantCulture)))}]");
}
