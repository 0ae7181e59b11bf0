using System;
using System.Buffers.Binary;
using System.Collections.Generic;
using System.IO;
using System.IO.Compression;
using System.Linq;

namespace MobileOne.Training;

/// <summary>
/// Fashion-MNIST (Zalando; 60,000 train / 10,000 test 28x28 grey images, 10 classes) from IDX files, and the model
/// input used here: the 28x28 image zero-padded to 32x32 (background is 0), scaled to [0, 1] and normalised with the
/// training set's mean and std. The files come from a folder given by the caller, or from the first of
/// <see cref="SearchPath"/> that has them: the copy the repository ships (<c>data/fashion-mnist</c>: the whole test
/// split and the first 10,000 training images, copied next to the program by the sample's and tests' projects), then the
/// Debian package <c>dataset-fashion-mnist</c> (all 60,000 training images).
/// </summary>
public sealed class FashionMnist
{
    /// <summary>Where the Debian package installs the files.</summary>
    public const string DefaultDirectory = "/usr/share/datasets/fashion-mnist";

    /// <summary>File-name prefix of the training slice the repository ships (the first 10,000 training images).</summary>
    public const string TrainingSlicePrefix = "train-first10000";

    /// <summary>What to do when the files are missing.</summary>
    public const string InstallHint = "the repository ships them in data/fashion-mnist (pass --data DIR for another folder); " +
        "for all 60,000 training images: sudo apt-get install -y dataset-fashion-mnist (Debian/Ubuntu; installs the IDX files to " + DefaultDirectory + ")";

    /// <summary>Side of a stored image.</summary>
    public const int ImageSide = 28;

    /// <summary>Side of the model input.</summary>
    public const int InputSide = 32;

    /// <summary>Mean of the training pixels on [0, 1].</summary>
    public const float Mean = 0.2860f;

    /// <summary>Standard deviation of the training pixels on [0, 1].</summary>
    public const float Std = 0.3530f;

    /// <summary>The copy next to the program: <c>data/fashion-mnist</c> under the application's base directory.</summary>
    public static string ShippedDirectory => Path.Combine(AppContext.BaseDirectory, "data", "fashion-mnist");

    /// <summary>Folders searched in order when none is given: <see cref="ShippedDirectory"/>, then <see cref="DefaultDirectory"/>.</summary>
    public static IReadOnlyList<string> SearchPath => new[] { ShippedDirectory, DefaultDirectory };

    private FashionMnist(byte[] images, byte[] labels, int count, string imagesPath)
    {
        Images = images;
        Labels = labels;
        Count = count;
        ImagesPath = imagesPath;
    }

    /// <summary>The IDX file the images were read from.</summary>
    public string ImagesPath { get; }

    /// <summary>Pixels, <c>Count x 28 x 28</c> bytes.</summary>
    public byte[] Images { get; }

    /// <summary>Labels 0..9.</summary>
    public byte[] Labels { get; }

    /// <summary>Number of images.</summary>
    public int Count { get; }

    /// <summary>Whether <paramref name="directory"/> has the test split and a training split (whole or the shipped slice).</summary>
    public static bool IsInstalled(string directory = DefaultDirectory) => HasSplit(directory, train: true) && HasSplit(directory, train: false);

    /// <summary>Whether <paramref name="directory"/> has the images and labels of one split (for training: whole or the slice).</summary>
    public static bool HasSplit(string directory, bool train) => SplitFiles(directory, train) is not null;

    /// <summary>Whether <paramref name="directory"/> has all 60,000 training images (not only the slice).</summary>
    public static bool HasFullTrainingSplit(string directory) =>
        File.Exists(Find(directory, "train-images-idx3-ubyte")) && File.Exists(Find(directory, "train-labels-idx1-ubyte"));

    /// <summary>
    /// The first folder of <see cref="SearchPath"/> that has the split; with <paramref name="preferFullTrainingSplit"/>, a
    /// folder with all 60,000 training images wins over one with only the slice. Null when none has it.
    /// </summary>
    public static string? FindDirectory(bool train, bool preferFullTrainingSplit = false)
    {
        if (train && preferFullTrainingSplit)
        {
            foreach (string d in SearchPath)
            {
                if (HasFullTrainingSplit(d))
                {
                    return d;
                }
            }
        }

        foreach (string d in SearchPath)
        {
            if (HasSplit(d, train))
            {
                return d;
            }
        }

        return null;
    }

    /// <summary>
    /// Loads the training split (all 60,000 images, or the first 10,000 where only the shipped slice is there) or the test
    /// split (10,000) from <paramref name="directory"/>, or from the first folder of <see cref="SearchPath"/> that has it.
    /// </summary>
    /// <exception cref="FileNotFoundException">The files are missing; the message says where they were looked for.</exception>
    public static FashionMnist Load(bool train, string? directory = null)
    {
        string[] searched = directory is null ? SearchPath.ToArray() : new[] { directory };
        directory ??= FindDirectory(train);
        (string Images, string Labels)? files = directory is null ? null : SplitFiles(directory, train);
        if (files is not { } found)
        {
            string split = train ? "training" : "test";
            throw new FileNotFoundException($"The Fashion-MNIST {split} split was not found in {string.Join(" or ", searched)}: {InstallHint}.");
        }

        byte[] images = ReadIdx(found.Images, 2051, out int n, ImageSide * ImageSide);
        byte[] labels = ReadIdx(found.Labels, 2049, out int m, 1);
        if (n != m)
        {
            throw new InvalidDataException($"{found.Images} has {n} images but {found.Labels} has {m} labels.");
        }

        return new FashionMnist(images, labels, n, found.Images);
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

    private static (string Images, string Labels)? SplitFiles(string directory, bool train)
    {
        foreach (string prefix in train ? new[] { "train", TrainingSlicePrefix } : new[] { "t10k" })
        {
            string images = Find(directory, prefix + "-images-idx3-ubyte"), labels = Find(directory, prefix + "-labels-idx1-ubyte");
            if (File.Exists(images) && File.Exists(labels))
            {
                return (images, labels);
            }
        }

        return null;
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
