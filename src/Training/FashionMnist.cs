using System;
using System.Buffers.Binary;
using System.IO;
using System.IO.Compression;

namespace MobileOne.Training;

/// <summary>
/// Fashion-MNIST (Zalando; 60,000 train / 10,000 test 28x28 grey images, 10 classes) from the IDX files of the
/// Debian package <c>dataset-fashion-mnist</c>, and the model input used here: the 28x28 image zero-padded to 32x32
/// (background is 0), scaled to [0, 1] and normalised with the training set's mean and std.
/// </summary>
public sealed class FashionMnist
{
    /// <summary>Where the Debian package installs the files.</summary>
    public const string DefaultDirectory = "/usr/share/datasets/fashion-mnist";

    /// <summary>What to run when the files are missing.</summary>
    public const string InstallHint = "sudo apt-get install -y dataset-fashion-mnist   (Debian/Ubuntu; installs the IDX files to " + DefaultDirectory + ")";

    /// <summary>Side of a stored image.</summary>
    public const int ImageSide = 28;

    /// <summary>Side of the model input.</summary>
    public const int InputSide = 32;

    /// <summary>Mean of the training pixels on [0, 1].</summary>
    public const float Mean = 0.2860f;

    /// <summary>Standard deviation of the training pixels on [0, 1].</summary>
    public const float Std = 0.3530f;

    private FashionMnist(byte[] images, byte[] labels, int count)
    {
        Images = images;
        Labels = labels;
        Count = count;
    }

    /// <summary>Pixels, <c>Count x 28 x 28</c> bytes.</summary>
    public byte[] Images { get; }

    /// <summary>Labels 0..9.</summary>
    public byte[] Labels { get; }

    /// <summary>Number of images.</summary>
    public int Count { get; }

    /// <summary>Whether the four IDX files are present in <paramref name="directory"/>.</summary>
    public static bool IsInstalled(string directory = DefaultDirectory) =>
        File.Exists(Find(directory, "train-images-idx3-ubyte")) && File.Exists(Find(directory, "t10k-images-idx3-ubyte"));

    /// <summary>Loads the training (60,000) or test (10,000) split.</summary>
    /// <exception cref="FileNotFoundException">The files are missing; the message says how to install them.</exception>
    public static FashionMnist Load(bool train, string directory = DefaultDirectory)
    {
        string prefix = train ? "train" : "t10k";
        string imagesPath = Find(directory, prefix + "-images-idx3-ubyte"), labelsPath = Find(directory, prefix + "-labels-idx1-ubyte");
        if (!File.Exists(imagesPath) || !File.Exists(labelsPath))
        {
            throw new FileNotFoundException($"Fashion-MNIST not found in {directory}. Install it with: {InstallHint}", imagesPath);
        }

        byte[] images = ReadIdx(imagesPath, 2051, out int n, ImageSide * ImageSide);
        byte[] labels = ReadIdx(labelsPath, 2049, out int m, 1);
        if (n != m)
        {
            throw new InvalidDataException($"{imagesPath} has {n} images but {labelsPath} has {m} labels.");
        }

        return new FashionMnist(images, labels, n);
    }

    /// <summary>
    /// Writes image <paramref name="index"/> as a normalised 1x32x32 input: the 28x28 image placed at
    /// (<paramref name="offsetX"/>, <paramref name="offsetY"/>) (2, 2 centres it), optionally mirrored.
    /// </summary>
    public void ToInput(int index, Span<float> destination, int offsetX = 2, int offsetY = 2, bool flip = false) =>
        ToInput(Images.AsSpan(index * ImageSide * ImageSide, ImageSide * ImageSide), destination, offsetX, offsetY, flip);

    /// <summary>The same for any 28x28 grey image (bytes, 0 = background).</summary>
    public static void ToInput(ReadOnlySpan<byte> image, Span<float> destination, int offsetX = 2, int offsetY = 2, bool flip = false)
    {
        const float background = (0f - Mean) / Std;
        destination[..(InputSide * InputSide)].Fill(background);
        for (int y = 0; y < ImageSide; y++)
        {
            for (int x = 0; x < ImageSide; x++)
            {
                int sx = flip ? ImageSide - 1 - x : x;
                destination[((y + offsetY) * InputSide) + x + offsetX] = ((image[(y * ImageSide) + sx] / 255f) - Mean) / Std;
            }
        }
    }

    /// <summary>All images as normalised, centred 1x32x32 inputs.</summary>
    public float[] AllInputs()
    {
        var inputs = new float[Count * InputSide * InputSide];
        for (int i = 0; i < Count; i++)
        {
            ToInput(i, inputs.AsSpan(i * InputSide * InputSide, InputSide * InputSide));
        }

        return inputs;
    }

    private static string Find(string directory, string name)
    {
        string plain = Path.Combine(directory, name);
        return File.Exists(plain) ? plain : plain + ".gz";
    }

    private static byte[] ReadIdx(string path, int magic, out int count, int itemSize)
    {
        using Stream file = File.OpenRead(path);
        using Stream s = path.EndsWith(".gz", StringComparison.Ordinal) ? new GZipStream(file, CompressionMode.Decompress) : file;
        Span<byte> word = stackalloc byte[4];
        s.ReadExactly(word);
        if (BinaryPrimitives.ReadInt32BigEndian(word) != magic)
        {
            throw new InvalidDataException($"{path} is not an IDX file with magic {magic}.");
        }

        s.ReadExactly(word);
        count = BinaryPrimitives.ReadInt32BigEndian(word);
        int dims = magic & 0xFF;
        for (int d = 1; d < dims; d++)
        {
            s.ReadExactly(word);
        }

        var data = new byte[checked(count * itemSize)];
        s.ReadExactly(data);
        return data;
    }
}
