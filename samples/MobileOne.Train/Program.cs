// Trains a small MobileOne (S0-like: 4 conv branches, scale and skip branches; 1x32x32 input, 10 classes) on
// Fashion-MNIST in C#, evaluates it, saves the train-time weights and fuses them with MobileOne.Conversion (the code
// behind `mobileone fuse`) into the model the main sample compiles.
//
//   dotnet run --project samples/MobileOne.Train -c Release
//   dotnet run --project samples/MobileOne.Train -c Release -- --epochs 20 --branches 4 --out samples/MobileOne.Sample/models
//
// Options: --epochs N, --max-steps N (stop early, for a quick look), --batch N, --lr X, --branches K, --seed N, --threads N, --out DIR, --name NAME, --data DIR.
using System;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using System.Linq;
using MobileOne.Conversion;
using MobileOne.Training;
using Spectre.Console;

CultureInfo.CurrentCulture = CultureInfo.InvariantCulture;
// --data DIR, else the first folder with all 60,000 training images (Debian's dataset-fashion-mnist), else the copy the
// repository ships next to the program (the test split and the first 10,000 training images).
string? dataDir = Arg("--data") ?? FashionMnist.FindDirectory(train: true, preferFullTrainingSplit: true);
if (dataDir is null || !FashionMnist.IsInstalled(dataDir))
{
    Console.Error.WriteLine($"Fashion-MNIST was not found in {dataDir ?? string.Join(" or ", FashionMnist.SearchPath)}: {FashionMnist.InstallHint}.");
    return 2;
}

if (!FashionMnist.HasFullTrainingSplit(dataDir))
{
    Console.WriteLine($"Training on the first 10,000 training images that ship in {dataDir} (the committed model saw all 60,000: " +
                      "apt-get install dataset-fashion-mnist, or --data DIR with train-images-idx3-ubyte.gz).");
}

int branches = IntArg("--branches", 4);
var options = new TrainingOptions
{
    Epochs = IntArg("--epochs", 20),
    BatchSize = IntArg("--batch", 128),
    LearningRate = double.Parse(Arg("--lr") ?? "0.1", CultureInfo.InvariantCulture),
    Seed = IntArg("--seed", 1),
    MaxSteps = IntArg("--max-steps", 0),
};
if (Arg("--threads") is { } t)
{
    Par.Threads = int.Parse(t, CultureInfo.InvariantCulture);
}

string outDir = Arg("--out") ?? Path.Combine("samples", "MobileOne.Sample", "models");
string name = Arg("--name") ?? "fashion_mnist";
Directory.CreateDirectory(outDir);

var arch = TrainingArchitecture.FashionMnist(branches);
var net = new MobileOneNet(arch, options.Seed);
FashionMnist train = FashionMnist.Load(train: true, dataDir), test = FashionMnist.Load(train: false, dataDir);
float[] mean = { FashionMnist.Mean }, std = { FashionMnist.Std };
var labels = TrainingArchitecture.FashionMnistLabels;

Console.WriteLine($"MobileOne (train-time) {arch}");
Console.WriteLine($"  {net.ParameterCount:N0} learnable parameters, {net.BatchNorms.Count()} batch norms; {Par.Threads} threads");
Console.WriteLine($"  {options.Epochs} epochs x {train.Count / options.BatchSize} steps of {options.BatchSize}, SGD momentum {options.Momentum}, lr {options.LearningRate} (warm-up {options.WarmupSteps} steps, cosine), weight decay {options.WeightDecay} -> {options.FinalWeightDecay} (cosine)");

long start = Stopwatch.GetTimestamp();
double lastImagesPerSecond = 0;
AnsiConsole.Progress()
    .AutoClear(false)
    .HideCompleted(false)
    .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn(), new RemainingTimeColumn())
    .Start(ctx =>
    {
        var tasks = Enumerable.Range(0, options.Epochs).Select(e => ctx.AddTask($"epoch {e + 1}/{options.Epochs}", autoStart: e == 0, maxValue: train.Count / options.BatchSize)).ToArray();
        Trainer.Train(net, train, options, r =>
        {
            ProgressTask task = tasks[r.Epoch];
            if (!task.IsStarted)
            {
                task.StartTask();
            }

            task.Value = r.StepInEpoch + 1;
            task.Description = $"epoch {r.Epoch + 1}/{options.Epochs}  loss {r.EpochLoss:F4}  acc {r.EpochAccuracy * 100:F2}%  {r.ImagesPerSecond:F0} img/s  lr {r.LearningRate:F4}";
            lastImagesPerSecond = r.ImagesPerSecond;
            if (r.StepInEpoch + 1 == r.StepsPerEpoch)
            {
                task.StopTask();
                if (Console.IsOutputRedirected)
                {
                    // Spectre draws nothing into a file: keep a plain line per epoch for logs.
                    Console.WriteLine($"epoch {r.Epoch + 1}/{options.Epochs}  loss {r.EpochLoss:F4}  acc {r.EpochAccuracy * 100:F2}%  {r.ImagesPerSecond:F0} img/s  {Stopwatch.GetElapsedTime(start).TotalSeconds:F0} s");
                }
            }
        });
    });
double trainSeconds = Stopwatch.GetElapsedTime(start).TotalSeconds;
int steps = options.MaxSteps > 0 ? Math.Min(options.MaxSteps, options.Epochs * (train.Count / options.BatchSize)) : options.Epochs * (train.Count / options.BatchSize);
Console.WriteLine($"Training: {trainSeconds:F0} s ({steps * options.BatchSize / trainSeconds:F0} images/s overall)");

start = Stopwatch.GetTimestamp();
double accuracy = Trainer.Evaluate(net, test, out _);
Console.WriteLine($"Train-time model, eval mode: test accuracy {accuracy * 100:F2}% ({Stopwatch.GetElapsedTime(start).TotalSeconds:F1} s)");

string trainPath = Path.Combine(outDir, $"{name}.train.safetensors");
string fusedPath = Path.Combine(outDir, $"{name}.safetensors");
ModelFiles.SaveTrainTime(net, trainPath, mean, std, labels);
FusedNetwork fused = ModelFiles.Fuse(trainPath, arch);
ModelFiles.SaveFused(fused, arch, fusedPath, mean, std, labels);
Console.WriteLine($"Saved {trainPath} ({new FileInfo(trainPath).Length / 1024.0:F0} KiB, train-time, Apple unfused names)");
Console.WriteLine($"Saved {fusedPath} ({new FileInfo(fusedPath).Length / 1024.0:F0} KiB, fused: {fused.Architecture.ParameterCount:N0} parameters, {fused.Architecture.Macs / 1e6:F2} M MACs)");
return 0;

string? Arg(string key)
{
    int i = Array.IndexOf(args, key);
    return i >= 0 && i + 1 < args.Length ? args[i + 1] : null;
}

int IntArg(string key, int fallback) => Arg(key) is { } v ? int.Parse(v, CultureInfo.InvariantCulture) : fallback;
