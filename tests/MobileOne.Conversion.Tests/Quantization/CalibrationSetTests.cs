using System;
using System.Buffers.Binary;
using System.IO;
using System.IO.Compression;
using System.Linq;
using MobileOne.Conversion.Quantization;
using MobileOne.TestSupport;
using Xunit;

namespace MobileOne.Conversion.Tests.Quantization;

/// <summary>The three calibration readers (raw float32, IDX3, image folder), their sampling and their errors.</summary>
public class CalibrationSetTests
{
    private static readonly NetworkArchitecture Grey = QuantizationTestData.GreyArch.ToConversion();
    private static readonly InputNormalization FashionNorm = new(new[] { 0.286f }, new[] { 0.353f });

    [Fact]
    public void SamplingTakesEvenlySpacedImagesOverTheWholeSource()
    {
        Assert.Equal(new[] { 0, 1, 3 }, CalibrationSet.Sample(5, 3));
        Assert.Equal(new[] { 0, 2500, 5000, 7500 }, CalibrationSet.Sample(10_000, 4));
        Assert.Equal(new[] { 0, 1 }, CalibrationSet.Sample(2, 1000));
        Assert.Throws<ArgumentOutOfRangeException>(() => CalibrationSet.Sample(5, 0));
    }

    [Fact]
    public void RawFloatsAreReadAsNormalisedChwImagesAtTheModelSize()
    {
        using var dir = new TempDir();
        float[] images = Enumerable.Range(0, 5 * 1024).Select(i => (i % 977) / 100f - 3f).ToArray();
        string path = dir.Write("cal.f32", ToBytes(images));
        CalibrationSet set = CalibrationSet.Open(path, Grey, InputNormalization.None, maxImages: 3);
        Assert.Equal(3, set.Count);
        Assert.Equal(5, set.Available);
        int[] taken = { 0, 1, 3 };
        for (int i = 0; i < 3; i++)
        {
            Assert.Equal(images.AsSpan(taken[i] * 1024, 1024).ToArray(), set[i].ToArray());
        }

        Assert.Contains("3 of 5 raw float32 1x32x32 images", set.Description, StringComparison.Ordinal);
    }

    [Fact]
    public void ARawFileThatIsNotAWholeNumberOfImagesSaysWhatSizeWasExpected()
    {
        using var dir = new TempDir();
        string path = dir.Write("bad.f32", new byte[(2 * 4096) + 12]);
        var e = Assert.Throws<ConversionException>(() => CalibrationSet.Open(path, Grey, InputNormalization.None));
        Assert.Equal(ConversionErrorKind.InvalidFormat, e.Kind);
        Assert.Contains("8,204 bytes", e.Message, StringComparison.Ordinal);
        Assert.Contains("1x32x32 CHW images of 1,024 floats (4,096 bytes) each", e.Message, StringComparison.Ordinal);

        string empty = dir.Write("empty.f32", Array.Empty<byte>());
        Assert.Throws<ConversionException>(() => CalibrationSet.Open(empty, Grey, InputNormalization.None));

        float[] nan = new float[1024];
        nan[17] = float.NaN;
        string withNan = dir.Write("nan.f32", ToBytes(nan));
        Assert.Contains("non-finite", Assert.Throws<ConversionException>(() => CalibrationSet.Open(withNan, Grey, InputNormalization.None)).Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void IdxImagesSmallerThanTheInputAreCentredOnTheZeroPixelAndNormalised(bool gzip)
    {
        using var dir = new TempDir();
        byte[][] images = Enumerable.Range(0, 4).Select(n => Enumerable.Range(0, 28 * 28).Select(i => (byte)((i * 7) + n)).ToArray()).ToArray();
        string path = dir.Write(gzip ? "x-idx3-ubyte.gz" : "x-idx3-ubyte", Idx(images, 28, 28, gzip));
        CalibrationSet set = CalibrationSet.Open(path, Grey, FashionNorm, maxImages: 2);
        Assert.Equal(2, set.Count);
        float background = (0f - 0.286f) / 0.353f;
        for (int i = 0; i < 2; i++)
        {
            byte[] source = images[i * 2]; // images 0 and 2
            float[] x = set[i].ToArray();
            for (int y = 0; y < 32; y++)
            {
                for (int c = 0; c < 32; c++)
                {
                    bool inside = y >= 2 && y < 30 && c >= 2 && c < 30;
                    float expected = inside ? ((source[((y - 2) * 28) + c - 2] / 255f) - 0.286f) / 0.353f : background;
                    Assert.Equal(expected, x[(y * 32) + c]);
                }
            }
        }

        Assert.Contains("centred on 32x32", set.Description, StringComparison.Ordinal);
    }

    [Fact]
    public void IdxImagesLargerThanTheInputAreResizedAndWithoutMeanStdScaledTo01()
    {
        using var dir = new TempDir();
        byte[] flat = Enumerable.Repeat((byte)51, 40 * 40).ToArray(); // 0.2 everywhere
        string path = dir.Write("big-idx3-ubyte", Idx(new[] { flat }, 40, 40, gzip: false));
        CalibrationSet set = CalibrationSet.Open(path, Grey, InputNormalization.None);
        Assert.All(set[0].ToArray(), v => Assert.Equal(0.2f, v, 1e-5f));
        Assert.Contains("resized to 32x32", set.Description, StringComparison.Ordinal);

        // A 3-channel model gets the grey value in each channel, normalised per channel.
        var rgb = new NetworkArchitecture(3, 32, 32, 8, new[] { 8, 8, 8, 8 }, new[] { 1, 1, 1, 1 }, new[] { 0, 0, 0, 0 }, 2);
        var norm = new InputNormalization(new[] { 0.1f, 0.2f, 0.3f }, new[] { 0.5f, 0.5f, 0.5f });
        CalibrationSet three = CalibrationSet.Open(path, rgb, norm);
        for (int c = 0; c < 3; c++)
        {
            Assert.Equal((0.2f - norm.Mean![c]) / 0.5f, three[0][(c * 1024) + 500], 1e-5f);
        }
    }

    [Fact]
    public void BadIdxFilesGiveClearErrors()
    {
        using var dir = new TempDir();
        byte[] good = Idx(new[] { new byte[28 * 28], new byte[28 * 28] }, 28, 28, gzip: false);
        string truncated = dir.Write("cut-idx3-ubyte", good[..^100]);
        var e = Assert.Throws<ConversionException>(() => CalibrationSet.Open(truncated, Grey, FashionNorm));
        Assert.Equal(ConversionErrorKind.Truncated, e.Kind);
        Assert.Contains("truncated", e.Message, StringComparison.Ordinal);

        // gzip of something that is not IDX3 (an IDX1 label file).
        byte[] labels = new byte[8 + 2];
        BinaryPrimitives.WriteInt32BigEndian(labels, 0x00000801);
        BinaryPrimitives.WriteInt32BigEndian(labels.AsSpan(4), 2);
        string notImages = dir.Write("labels-idx1-ubyte.gz", Gzip(labels));
        e = Assert.Throws<ConversionException>(() => CalibrationSet.Open(notImages, Grey, FashionNorm));
        Assert.Contains("0x00000803", e.Message, StringComparison.Ordinal);
        Assert.Contains("0x00000801", e.Message, StringComparison.Ordinal);

        // A model that takes neither 1 nor 3 channels cannot be fed images.
        var two = new NetworkArchitecture(2, 32, 32, 8, new[] { 8, 8, 8, 8 }, new[] { 1, 1, 1, 1 }, new[] { 0, 0, 0, 0 }, 2);
        string ok = dir.Write("ok-idx3-ubyte", good);
        Assert.Contains("raw float32", Assert.Throws<ConversionException>(() => CalibrationSet.Open(ok, two, InputNormalization.None)).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void AFolderOfImagesIsDecodedResizedAndNormalisedInPathOrder()
    {
        using var dir = new TempDir();
        string folder = Directory.CreateDirectory(dir["images"]).FullName;
        Directory.CreateDirectory(Path.Combine(folder, "b"));
        File.WriteAllBytes(Path.Combine(folder, "b", "z.bmp"), Bmp(48, 40, 200, 100, 50));
        File.WriteAllBytes(Path.Combine(folder, "a.BMP"), Bmp(32, 32, 255, 255, 255));
        File.WriteAllText(Path.Combine(folder, "notes.txt"), "not an image");
        CalibrationSet set = CalibrationSet.Open(folder, Grey, FashionNorm);
        Assert.Equal(2, set.Count);
        // "a.BMP" first (ordinal order of relative paths), white: (1 - mean) / std everywhere.
        Assert.All(set[0].ToArray(), v => Assert.Equal((1f - 0.286f) / 0.353f, v, 1e-4f));
        // A flat colour stays flat through resize and crop; grey is ITU-R BT.601 luma.
        float luma = ((0.299f * 200) + (0.587f * 100) + (0.114f * 50)) / 255f;
        Assert.All(set[1].ToArray(), v => Assert.Equal((luma - 0.286f) / 0.353f, v, 1e-3f));
        Assert.Contains("2 of 2 images", set.Description, StringComparison.Ordinal);
    }

    [Fact]
    public void AFolderWithoutImagesOrWithABrokenImageIsRefusedNamingTheFile()
    {
        using var dir = new TempDir();
        string empty = Directory.CreateDirectory(dir["empty"]).FullName;
        File.WriteAllText(Path.Combine(empty, "readme.md"), "#");
        Assert.Contains("has no images", Assert.Throws<ConversionException>(() => CalibrationSet.Open(empty, Grey, FashionNorm)).Message, StringComparison.Ordinal);

        string broken = Directory.CreateDirectory(dir["broken"]).FullName;
        File.WriteAllBytes(Path.Combine(broken, "ok.bmp"), Bmp(8, 8, 1, 2, 3));
        File.WriteAllBytes(Path.Combine(broken, "bad.png"), new byte[] { 1, 2, 3, 4, 5 });
        var e = Assert.Throws<ConversionException>(() => CalibrationSet.Open(broken, Grey, FashionNorm));
        Assert.Contains("'bad.png' cannot be decoded", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void AMissingPathIsFileNotFound()
    {
        using var dir = new TempDir();
        var e = Assert.Throws<FileNotFoundException>(() => CalibrationSet.Open(dir["nope"], Grey, FashionNorm));
        Assert.Contains("does not exist", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void NormalisationComesFromTheArchitectureJson()
    {
        InputNormalization n = InputNormalization.FromArchitectureJson("{\"inputChannels\": 3, \"mean\": [0.485, 0.456, 0.406], \"std\": [0.229, 0.224, 0.225], \"cropPct\": 0.875}");
        Assert.Equal(new[] { 0.485f, 0.456f, 0.406f }, n.Mean);
        Assert.Equal(0.875f, n.CropPct);
        Assert.Same(InputNormalization.None, InputNormalization.FromArchitectureJson(null));
        Assert.Null(InputNormalization.FromArchitectureJson("{\"numClasses\": 10}").Mean);
        Assert.Equal(51 / 255f, InputNormalization.None.Normalise(51, 0));
    }

    private static byte[] ToBytes(float[] values)
    {
        byte[] bytes = new byte[values.Length * 4];
        for (int i = 0; i < values.Length; i++)
        {
            BinaryPrimitives.WriteSingleLittleEndian(bytes.AsSpan(i * 4), values[i]);
        }

        return bytes;
    }

    private static byte[] Idx(byte[][] images, int rows, int cols, bool gzip)
    {
        byte[] data = new byte[16 + (images.Length * rows * cols)];
        BinaryPrimitives.WriteInt32BigEndian(data, 0x00000803);
        BinaryPrimitives.WriteInt32BigEndian(data.AsSpan(4), images.Length);
        BinaryPrimitives.WriteInt32BigEndian(data.AsSpan(8), rows);
        BinaryPrimitives.WriteInt32BigEndian(data.AsSpan(12), cols);
        for (int i = 0; i < images.Length; i++)
        {
            images[i].CopyTo(data, 16 + (i * rows * cols));
        }

        return gzip ? Gzip(data) : data;
    }

    private static byte[] Gzip(byte[] data)
    {
        using var output = new MemoryStream();
        using (var gz = new GZipStream(output, CompressionLevel.Fastest))
        {
            gz.Write(data);
        }

        return output.ToArray();
    }

    // A 24-bit uncompressed BMP of one colour.
    private static byte[] Bmp(int width, int height, byte r, byte g, byte b)
    {
        int row = ((width * 3) + 3) / 4 * 4;
        byte[] file = new byte[54 + (row * height)];
        file[0] = (byte)'B';
        file[1] = (byte)'M';
        BinaryPrimitives.WriteInt32LittleEndian(file.AsSpan(2), file.Length);
        BinaryPrimitives.WriteInt32LittleEndian(file.AsSpan(10), 54);
        BinaryPrimitives.WriteInt32LittleEndian(file.AsSpan(14), 40);
        BinaryPrimitives.WriteInt32LittleEndian(file.AsSpan(18), width);
        BinaryPrimitives.WriteInt32LittleEndian(file.AsSpan(22), height);
        BinaryPrimitives.WriteInt16LittleEndian(file.AsSpan(26), 1);
        BinaryPrimitives.WriteInt16LittleEndian(file.AsSpan(28), 24);
        BinaryPrimitives.WriteInt32LittleEndian(file.AsSpan(34), row * height);
        for (int y = 0; y < height; y++)
        {
            for (int x = 0; x < width; x++)
            {
                int at = 54 + (y * row) + (x * 3);
                file[at] = b;
                file[at + 1] = g;
                file[at + 2] = r;
            }
        }

        return file;
    }
}
