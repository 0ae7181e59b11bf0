// MobileOne.Generator sample: classify an image with a generated MobileOne class.
//
//   dotnet run --project samples/MobileOne.Sample -c Release
//   dotnet run --project samples/MobileOne.Sample -c Release -- --image photo.jpg
//   dotnet run --project samples/MobileOne.Sample -c Release -- --s1-weights path/to/mobileone_s1.safetensors --image photo.jpg
//
// MobileOneTiny and MobileOneS1 below are generated at build time from the files in models/.
using System;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using MobileOne.Runtime;
using MobileOne.Sample;
using StbImageSharp;

CultureInfo.CurrentCulture = CultureInfo.InvariantCulture;
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

// 1. A model whose weights are embedded: nothing to load, just call Infer.
Console.WriteLine($"MobileOneTiny: {MobileOneTiny.Variant} MobileOne, {MobileOneTiny.InputChannels}x{MobileOneTiny.InputHeight}x{MobileOneTiny.InputWidth} -> {MobileOneTiny.NumClasses} classes, " +
                  $"{MobileOneTiny.ParameterCount:N0} parameters, {MobileOneTiny.MultiplyAccumulates / 1e6:F1} M MACs");
float[] input = image != null
    ? Preprocess(image, MobileOneTiny.InputChannels, MobileOneTiny.InputHeight, MobileOneTiny.InputWidth, MobileOneTiny.Mean, MobileOneTiny.Std, MobileOneTiny.CropPct)
    : SyntheticImage(MobileOneTiny.InputChannels, MobileOneTiny.InputHeight, MobileOneTiny.InputWidth, MobileOneTiny.Mean, MobileOneTiny.Std);
float[] logits = new float[MobileOneTiny.NumClasses];
MobileOneTiny.Infer(input, logits);
PrintTop5(logits, MobileOneTiny.Labels);
Time("MobileOneTiny.Infer", () => MobileOneTiny.Infer(input, logits), runs, MobileOneTiny.MultiplyAccumulates);
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
