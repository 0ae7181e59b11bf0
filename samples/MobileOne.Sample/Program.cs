// MobileOne.Generator sample: a MobileOne trained on Fashion-MNIST in C# (samples/MobileOne.Train), fused, and
// compiled into the class FashionMnist by the generator at build time.
//
//   dotnet run --project samples/MobileOne.Sample -c Release                       # the 10,000 test images
//   dotnet run --project samples/MobileOne.Sample -c Release -- --image photo.png  # one image file
//   dotnet run --project samples/MobileOne.Sample -c Release -- --s1-weights path/to/mobileone_s1.safetensors --image photo.jpg
//
// FashionMnist and MobileOneS1 below are generated at build time from the files in models/.
using System;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using System.IO.Compression;
using System.Linq;
using MobileOne.Runtime;
using MobileOne.Sample;
using StbImageSharp;

CultureInfo.CurrentCulture = CultureInfo.InvariantCulture;
// The test split ships with the repository (data/fashion-mnist, copied next to the program by the project file);
// Debian's dataset-fashion-mnist package or --data DIR are read as well.
string[] dataDirectories = ArgValue(args, "--data") is { } given
    ? new[] { given }
    : new[] { Path.Combine(AppContext.BaseDirectory, "data", "fashion-mnist"), "/usr/share/datasets/fashion-mnist" };
string? s1Weights = ArgValue(args, "--s1-weights");
string? imagePath = ArgValue(args, "--image");
ImageResult? image = null;
if (imagePath != null)
{
    using var file = File.OpenRead(imagePath);
    image = ImageResult.FromStream(file, ColorComponents.RedGreenBlue);
    Console.WriteLine($"Image: {imagePath}, {image.Width}x{image.Height}");
}

int runs = int.TryParse(ArgValue(args, "--runs"), out int r) && r > 0 ? r : 200;

Console.WriteLine($"CPU: {Environment.ProcessorCount} logical cores, SIMD path {Simd.Level}");
Console.WriteLine();

// 1. The default model: weights embedded, nothing to load, just call Infer.
Console.WriteLine($"FashionMnist: {FashionMnist.InputChannels}x{FashionMnist.InputHeight}x{FashionMnist.InputWidth} -> {FashionMnist.NumClasses} classes, " +
                  $"{FashionMnist.ParameterCount:N0} parameters, {FashionMnist.MultiplyAccumulates / 1e6:F2} M MACs (trained in C# with 4 conv branches, then fused)");
if (image != null)
{
    float[] input = FashionInput(image);
    float[] logits = new float[FashionMnist.NumClasses];
    FashionMnist.Infer(input, logits);
    PrintTop5(logits, FashionMnist.Labels);
    Time("FashionMnist.Infer", () => FashionMnist.Infer(input, logits), runs, FashionMnist.MultiplyAccumulates);
}
else
{
    ClassifyTestSet(dataDirectories);
}

Console.WriteLine();

// 2. A model generated from its architecture alone; its weights are bound at run time.
Console.WriteLine($"MobileOneS1: {MobileOneS1.Variant}, {MobileOneS1.InputChannels}x{MobileOneS1.InputHeight}x{MobileOneS1.InputWidth} -> {MobileOneS1.NumClasses} classes, " +
                  $"{MobileOneS1.ParameterCount:N0} parameters, {MobileOneS1.MultiplyAccumulates / 1e6:F1} M MACs");
if (s1Weights == null)
{
    Console.WriteLine("  (pass --s1-weights FILE.safetensors, a fused MobileOne-S1 with Apple's or timm's names, to run it)");
    return 0;
}

MobileOneS1 s1 = MobileOneS1.Load(s1Weights);
float[] s1Input = image != null
    ? Preprocess(image, MobileOneS1.InputChannels, MobileOneS1.InputHeight, MobileOneS1.InputWidth, MobileOneS1.Mean, MobileOneS1.Std, MobileOneS1.CropPct)
    : SyntheticImage(MobileOneS1.InputChannels, MobileOneS1.InputHeight, MobileOneS1.InputWidth, MobileOneS1.Mean, MobileOneS1.Std);
float[] s1Logits = new float[MobileOneS1.NumClasses];
s1.Run(s1Input, s1Logits);
PrintTop5(s1Logits, MobileOneS1.Labels);
Time("MobileOneS1.Run", () => s1.Run(s1Input, s1Logits), Math.Max(10, runs / 10), MobileOneS1.MultiplyAccumulates);
return 0;

static string? ArgValue(string[] args, string name)
{
    int i = Array.IndexOf(args, name);
    return i >= 0 && i + 1 < args.Length ? args[i + 1] : null;
}

// The 10,000 Fashion-MNIST test images: accuracy, confusion matrix, per-class accuracy, images/s.
static void ClassifyTestSet(string[] directories)
{
    string? directory = directories.FirstOrDefault(d =>
        File.Exists(Path.Combine(d, "t10k-images-idx3-ubyte.gz")) && File.Exists(Path.Combine(d, "t10k-labels-idx1-ubyte.gz")));
    if (directory == null)
    {
        Console.WriteLine($"  The Fashion-MNIST test set is not in {string.Join(" or ", directories)}; classifying the ten test images that ship with the sample instead.");
        Console.WriteLine("  For all 10,000: build from the repository (it ships data/fashion-mnist), or pass --data DIR with t10k-images-idx3-ubyte.gz and t10k-labels-idx1-ubyte.gz.");
        ClassifyShippedImages(Path.Combine(AppContext.BaseDirectory, "images", "fashion-mnist"));
        return;
    }

    string images = Path.Combine(directory, "t10k-images-idx3-ubyte.gz"), labelsPath = Path.Combine(directory, "t10k-labels-idx1-ubyte.gz");
    Console.WriteLine($"  test set: {images}");
    byte[] pixels = ReadIdx(images, 2051, out int count);
    byte[] labels = ReadIdx(labelsPath, 2049, out _);
    int len = FashionMnist.InputLength, classes = FashionMnist.NumClasses;
    float[] inputs = new float[count * len];
    for (int i = 0; i < count; i++)
    {
        Pad28To32(pixels.AsSpan(i * 784, 784), inputs.AsSpan(i * len, len));
    }

    float[] logits = new float[count * classes];
    Parallelism.MaxDegreeOfParallelism = Environment.ProcessorCount;
    FashionMnist.Infer(inputs.AsSpan(0, 100 * len), logits.AsSpan(0, 100 * classes), 100); // warm-up
    long start = Stopwatch.GetTimestamp();
    FashionMnist.Infer(inputs, logits, count);
    double seconds = Stopwatch.GetElapsedTime(start).TotalSeconds;
    Parallelism.MaxDegreeOfParallelism = 1;

    int[,] confusion = new int[classes, classes];
    int correct = 0;
    for (int i = 0; i < count; i++)
    {
        int predicted = ArgMax(logits.AsSpan(i * classes, classes));
        confusion[labels[i], predicted]++;
        correct += predicted == labels[i] ? 1 : 0;
    }

    Console.WriteLine($"  Fashion-MNIST test set: {count:N0} images, accuracy {100.0 * correct / count:F2}%, " +
                      $"{count / seconds:N0} images/s ({Environment.ProcessorCount} threads, batch {count})");
    Console.WriteLine();
    Console.WriteLine("  confusion matrix (rows: true class, columns: predicted)");
    Console.Write($"  {"",-12}");
    for (int c = 0; c < classes; c++)
    {
        Console.Write($"{c,6}");
    }

    Console.WriteLine($"{"accuracy",10}");
    for (int t = 0; t < classes; t++)
    {
        string name = FashionMnist.Labels[t];
        Console.Write($"  {t} {(name.Length > 10 ? name[..10] : name),-10}");
        int total = 0;
        for (int p = 0; p < classes; p++)
        {
            Console.Write($"{confusion[t, p],6}");
            total += confusion[t, p];
        }

        Console.WriteLine($"{100.0 * confusion[t, t] / Math.Max(1, total),9:F1}%");
    }

    // The same network quantized to int8 (docs/quantization.md): the same images, the same labels.
    float[] logits8 = new float[count * classes];
    Parallelism.MaxDegreeOfParallelism = Environment.ProcessorCount;
    FashionMnistInt8.Infer(inputs.AsSpan(0, 100 * len), logits8.AsSpan(0, 100 * classes), 100); // warm-up
    start = Stopwatch.GetTimestamp();
    FashionMnistInt8.Infer(inputs, logits8, count);
    double seconds8 = Stopwatch.GetElapsedTime(start).TotalSeconds;
    Parallelism.MaxDegreeOfParallelism = 1;
    int correct8 = 0, agree = 0;
    for (int i = 0; i < count; i++)
    {
        int predicted8 = ArgMax(logits8.AsSpan(i * classes, classes));
        correct8 += predicted8 == labels[i] ? 1 : 0;
        agree += predicted8 == ArgMax(logits.AsSpan(i * classes, classes)) ? 1 : 0;
    }

    Console.WriteLine();
    Console.WriteLine($"  FP32 accuracy {100.0 * correct / count:F2}%");
    Console.WriteLine($"  int8 accuracy {100.0 * correct8 / count:F2}% (FashionMnistInt8, {FashionMnistInt8.QuantizationMethod} calibration; " +
                      $"same prediction as FP32 on {100.0 * agree / count:F2}% of images), {count / seconds8:N0} images/s");

    float[] one = inputs.AsSpan(0, len).ToArray();
    float[] oneLogits = new float[classes];
    Console.WriteLine();
    Time("FashionMnist.Infer (one image, one thread)", () => FashionMnist.Infer(one, oneLogits), 2000, FashionMnist.MultiplyAccumulates);
    Time("FashionMnistInt8.Infer (one image, one thread)", () => FashionMnistInt8.Infer(one, oneLogits), 2000, FashionMnist.MultiplyAccumulates);
}

// The ten 28x28 PNGs in images/fashion-mnist (the first test image of each class, named after its true label).
static void ClassifyShippedImages(string directory)
{
    int correct = 0, count = 0;
    float[] logits = new float[FashionMnist.NumClasses], probabilities = new float[FashionMnist.NumClasses];
    foreach (string path in Directory.GetFiles(directory, "*.png").Order(StringComparer.Ordinal))
    {
        using var file = File.OpenRead(path);
        ImageResult image = ImageResult.FromStream(file, ColorComponents.RedGreenBlue);
        FashionMnist.Infer(FashionInput(image, quiet: true), logits);
        int predicted = ArgMax(logits);
        string truth = Path.GetFileNameWithoutExtension(path)[5..];
        string label = FashionMnist.Labels[predicted];
        bool ok = string.Equals(Normalise(label), Normalise(truth), StringComparison.Ordinal);
        correct += ok ? 1 : 0;
        count++;
        Classification.Softmax(logits, probabilities);
        Console.WriteLine($"  {Path.GetFileName(path),-24} -> {label,-12} {probabilities[predicted] * 100,6:F2}%  {(ok ? "ok" : "wrong")}");
    }

    Console.WriteLine($"  {correct}/{count} correct");

    static string Normalise(string name) => new string(name.Where(char.IsLetter).ToArray()).ToLowerInvariant();
}

static int ArgMax(ReadOnlySpan<float> values)
{
    int best = 0;
    for (int i = 1; i < values.Length; i++)
    {
        if (values[i] > values[best])
        {
            best = i;
        }
    }

    return best;
}

// A 28x28 Fashion-MNIST image (0 = background) -> the model input: zero-padded to 32x32, normalised with the model's mean/std.
static void Pad28To32(ReadOnlySpan<byte> image, Span<float> destination)
{
    float mean = FashionMnist.Mean[0], std = FashionMnist.Std[0];
    destination.Fill((0f - mean) / std);
    for (int y = 0; y < 28; y++)
    {
        for (int x = 0; x < 28; x++)
        {
            destination[((y + 2) * 32) + x + 2] = ((image[(y * 28) + x] / 255f) - mean) / std;
        }
    }
}

// Any image file -> 28x28 grey (antialiased resize, BT.601), inverted when its border is bright (Fashion-MNIST shows
// light clothes on black), padded to 1x32x32 and normalised as in training.
static float[] FashionInput(ImageResult image, bool quiet = false)
{
    float[] grey = new float[28 * 28];
    long start = Stopwatch.GetTimestamp();
    ImagePreprocessing.ToChw(image.Data, image.Width, image.Height, image.Width * 3, PixelFormat.Rgb24, grey, 1, 28, 28, ReadOnlySpan<float>.Empty, ReadOnlySpan<float>.Empty);
    float border = 0;
    for (int i = 0; i < 28; i++)
    {
        border += grey[i] + grey[(27 * 28) + i] + grey[i * 28] + grey[(i * 28) + 27];
    }

    bool invert = border / (4 * 28) > 0.5f;
    byte[] bytes = new byte[28 * 28];
    for (int i = 0; i < bytes.Length; i++)
    {
        float v = invert ? 1f - grey[i] : grey[i];
        bytes[i] = (byte)Math.Clamp(MathF.Round(v * 255f), 0, 255);
    }

    float[] input = new float[FashionMnist.InputLength];
    Pad28To32(bytes, input);
    if (!quiet)
    {
        Console.WriteLine($"  preprocessing ({image.Width}x{image.Height} -> grey 28x28{(invert ? ", inverted" : "")} -> 1x32x32): {Stopwatch.GetElapsedTime(start).TotalMilliseconds:F2} ms");
    }

    return input;
}

static byte[] ReadIdx(string path, int magic, out int count)
{
    using var gz = new GZipStream(File.OpenRead(path), CompressionMode.Decompress);
    using var data = new MemoryStream();
    gz.CopyTo(data);
    byte[] all = data.ToArray();
    int BigEndian(int at) => (all[at] << 24) | (all[at + 1] << 16) | (all[at + 2] << 8) | all[at + 3];
    if (BigEndian(0) != magic)
    {
        throw new InvalidDataException($"{path} is not an IDX file with magic {magic}.");
    }

    count = BigEndian(4);
    int header = 4 + (4 * (magic & 0xFF));
    return all.AsSpan(header).ToArray();
}

// Decoded RGB bytes -> resize (shorter side to size / cropPct), centre crop, normalise: the model's CHW input.
static float[] Preprocess(ImageResult image, int channels, int height, int width, ReadOnlySpan<float> mean, ReadOnlySpan<float> std, float cropPct)
{
    float[] input = new float[channels * height * width];
    long start = Stopwatch.GetTimestamp();
    ImagePreprocessing.ToChw(image.Data, image.Width, image.Height, image.Width * 3, PixelFormat.Rgb24, input, channels, height, width, mean, std, cropPct > 0 ? cropPct : 1f);
    Console.WriteLine($"  preprocessing ({image.Width}x{image.Height} -> {channels}x{height}x{width}): {Stopwatch.GetElapsedTime(start).TotalMilliseconds:F2} ms");
    return input;
}

// A smooth colour gradient with a bright disc, as [0, 1] RGB, normalised with the model's mean/std when it has them.
static float[] SyntheticImage(int channels, int height, int width, ReadOnlySpan<float> mean, ReadOnlySpan<float> std)
{
    float[] image = new float[channels * height * width];
    for (int c = 0; c < channels; c++)
    {
        for (int y = 0; y < height; y++)
        {
            for (int x = 0; x < width; x++)
            {
                float dx = x - (width * 0.6f), dy = y - (height * 0.4f);
                bool disc = (dx * dx) + (dy * dy) < width * height / 16f;
                float v = disc ? 0.95f : ((c + 1) * (x + y) % (width + height)) / (float)(width + height);
                image[(c * height * width) + (y * width) + x] = mean.IsEmpty ? v : (v - mean[c]) / std[c];
            }
        }
    }

    return image;
}

static void PrintTop5(float[] logits, System.Collections.Generic.IReadOnlyList<string> labels)
{
    float[] probabilities = new float[logits.Length];
    Classification.Softmax(logits, probabilities);
    int[] top = new int[Math.Min(5, logits.Length)];
    Classification.TopK(probabilities, top);
    Console.WriteLine("  top-5:");
    foreach (int i in top)
    {
        string name = labels.Count > i ? labels[i] : $"class {i}";
        Console.WriteLine($"    {name,-16} p = {probabilities[i]:F4}   logit = {logits[i]:F4}");
    }
}

static void Time(string what, Action run, int runs, long macs)
{
    for (int i = 0; i < Math.Max(5, runs / 10); i++)
    {
        run();
    }

    double[] ms = new double[runs];
    long allocated = GC.GetAllocatedBytesForCurrentThread();
    for (int i = 0; i < runs; i++)
    {
        long start = Stopwatch.GetTimestamp();
        run();
        ms[i] = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
    }

    allocated = GC.GetAllocatedBytesForCurrentThread() - allocated;
    Array.Sort(ms);
    double median = ms[runs / 2];
    Console.WriteLine($"  {what}: median {median:F3} ms (p10 {ms[runs / 10]:F3}, p90 {ms[runs * 9 / 10]:F3}) over {runs} runs, " +
                      $"{2.0 * macs / (median * 1e6):F1} GFLOP/s, {allocated / runs} bytes allocated per call");
}
