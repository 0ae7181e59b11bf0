// Cold start of a process whose weights are embedded (issue 13): build-time packing against run-time packing.
//
//   dotnet run --project benchmarks/MobileOne.ColdStart -c Release -- [--runs 7] [--variants s1,s4,s1int8] [--seed 1]
//
// Writes random fused S1 and S4 weights (and S1 quantized to int8) as safetensors into artifacts/cold-start/weights,
// builds benchmarks/MobileOne.ColdStart.App from source with them as AdditionalFiles (embedded): as a user gets it
// (the package's task packs them at build time; Load maps the blob), with MobileOnePackWeights=false (the safetensors
// embedded; Load reads, checks and packs it, as before build-time packing), published with ReadyToRun, and published
// with NativeAOT for this CPU.
// Then starts each build --runs times per variant, alternating, one process per start, and prints the medians of what
// each process measured of itself: time to Main, Load (Default), the first Run (JIT included, no WarmUp), the
// steady-state Run, anonymous and file-backed resident memory.
using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using System.Linq;
using MobileOne.Benchmarks;
using MobileOne.TestSupport;

CultureInfo.CurrentCulture = CultureInfo.InvariantCulture;
int runs = 7, seed = 1;
string[] variants = { "s1", "s4", "s1int8" };
for (int i = 0; i < args.Length; i++)
{
    switch (args[i])
    {
        case "--runs": runs = int.Parse(args[++i], CultureInfo.InvariantCulture); break;
        case "--seed": seed = int.Parse(args[++i], CultureInfo.InvariantCulture); break;
        case "--variants": variants = args[++i].Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries); break;
        default: throw new ArgumentException("unknown option " + args[i] + "; expected --runs N, --variants s1,s4,s1int8, --seed N");
    }
}

string repo = FindRepository();
string work = Path.Combine(repo, "artifacts", "cold-start");
string weights = Path.Combine(work, "weights");
Directory.CreateDirectory(weights);
Console.WriteLine($"CPU: {CpuInfo.ModelName()} ({CpuInfo.Signature()}), {Environment.ProcessorCount} logical cores; .NET {Environment.Version}");

// 1. Weights (random, seeded: the speed does not depend on them).
var s1 = MobileOneArchitecture.Preset("s1");
FusedWeights s1Weights = FusedWeights.Random(s1, seed);
SafetensorsWriter.Write(Path.Combine(weights, "s1.safetensors"), s1Weights, s1, TensorNaming.Apple);
var s4 = MobileOneArchitecture.Preset("s4");
SafetensorsWriter.Write(Path.Combine(weights, "s4.safetensors"), FusedWeights.Random(s4, seed), s4, TensorNaming.Apple);
var image = new float[s1.InputLength];
var rng = new Random(seed + 7);
for (int i = 0; i < image.Length; i++)
{
    image[i] = (float)((rng.NextDouble() * 2) - 1);
}

using (var file = File.Create(Path.Combine(weights, "s1_int8.safetensors")))
{
    Int8TestQuantizer.Quantize(s1, s1Weights, new[] { image }).WriteTo(file);
}

// 2. Two builds of the app: packed at build time (the default) and not.
string project = Path.Combine(repo, "benchmarks", "MobileOne.ColdStart.App", "MobileOne.ColdStart.App.csproj");
var builds = new (string Name, string Output, string Property)[]
{
    ("build-time packing", Path.Combine(work, "packed"), "true"),
    ("run-time packing", Path.Combine(work, "unpacked"), "false"),
    ("build-time packing, ReadyToRun", Path.Combine(work, "r2r"), "r2r"),
    ("build-time packing, NativeAOT", Path.Combine(work, "aot"), "aot"),
};
foreach (var b in builds)
{
    if (b.Property == "aot")
    {
        // NativeAOT for this machine's CPU (its default x64 target, x86-64-v2, has neither AVX2 nor AVX-512).
        Run("dotnet", repo, "publish", project, "-c", "Release", "-r", RuntimeIdentifier(), "-o", b.Output, "-p:ColdStartAot=true",
            "-p:IlcInstructionSet=native", "-p:ColdStartWeights=" + weights);
        Console.WriteLine("published with NativeAOT (IlcInstructionSet=native)");
        continue;
    }

    if (b.Property == "r2r")
    {
        // ReadyToRun: the non-vector code (the load path, the generated class) precompiled; crossgen2 leaves the
        // Vector512 kernels to the JIT.
        Run("dotnet", repo, "publish", project, "-c", "Release", "-r", RuntimeIdentifier(), "--self-contained", "false", "-o", b.Output,
            "-p:PublishReadyToRun=true", "-p:ColdStartWeights=" + weights);
        Console.WriteLine("published with ReadyToRun");
        continue;
    }

    // The app's own intermediate files go, so that it is compiled again with the other resources (the projects it
    // references stay built).
    string intermediate = Path.Combine(Path.GetDirectoryName(project)!, "obj", "Release");
    if (Directory.Exists(intermediate))
    {
        Directory.Delete(intermediate, recursive: true);
    }

    var watch = Stopwatch.StartNew();
    Run("dotnet", repo, "build", project, "-c", "Release", "-p:ColdStartWeights=" + weights, "-p:MobileOnePackWeights=" + b.Property);
    CopyDirectory(Path.Combine(Path.GetDirectoryName(project)!, "bin", "Release", "net10.0"), b.Output);
    Console.WriteLine($"built with {b.Name} in {watch.Elapsed.TotalSeconds:F1} s");
}

// 3. Alternating cold starts.
Console.WriteLine();
Console.WriteLine("| variant | weights | to Main ms | Load ms | first Run ms | steady Run ms | first/steady | (Load + first)/steady | anon MB | file MB | data mod 64 |");
Console.WriteLine("|---|---|---|---|---|---|---|---|---|---|---|");
foreach (string variant in variants)
{
    var samples = builds.ToDictionary(b => b.Name, _ => new List<Dictionary<string, double>>());
    for (int r = 0; r < runs; r++)
    {
        foreach (var b in builds)
        {
            string line = (b.Property == "aot"
                ? Run(Path.Combine(b.Output, OperatingSystem.IsWindows() ? "MobileOne.ColdStart.App.exe" : "MobileOne.ColdStart.App"), repo, variant)
                : Run("dotnet", repo, Path.Combine(b.Output, "MobileOne.ColdStart.App.dll"), variant)).Trim().Split('\n').Last();
            samples[b.Name].Add(line.Split(' ').Select(kv => kv.Split('=')).Where(kv => kv[0] != "logit0")
                .ToDictionary(kv => kv[0], kv => double.Parse(kv[1], CultureInfo.InvariantCulture)));
        }
    }

    foreach (var b in builds)
    {
        double M(string key) => Median(samples[b.Name].Select(s => s[key]));
        double steady = M("steady_ms");
        double firstRatio = Median(samples[b.Name].Select(s => s["first_ms"] / s["steady_ms"]));
        double coldRatio = Median(samples[b.Name].Select(s => (s["load_ms"] + s["first_ms"]) / s["steady_ms"]));
        Console.WriteLine($"| {variant} | {b.Name} | {M("to_main_ms"):F1} | {M("load_ms"):F2} | {M("first_ms"):F2} | {steady:F2} | {firstRatio:F2} | {coldRatio:F2} | {M("anon_mb"):F1} | {M("file_mb"):F1} | {M("data_mod64"):F0} |");
    }
}

Console.WriteLine();
Console.WriteLine($"Medians of {runs} processes per row, alternating builds. Load = the class's Default (embedded weights): build-time packing uses the");
Console.WriteLine("packed data where it lies in the image when it is 64-byte aligned there (data mod 64 = 0; the build aligns it), else copies it once;");
Console.WriteLine("run-time packing reads, checks and packs the safetensors. anon MB = RssAnon (the process's own memory: a packed copy lives there),");
Console.WriteLine("file MB = RssFile (mapped files: the assembly image with the weights). first Run includes the JIT of the kernels (no WarmUp).");

static double Median(IEnumerable<double> values)
{
    double[] v = values.OrderBy(x => x).ToArray();
    return v.Length == 0 ? double.NaN : v.Length % 2 == 1 ? v[v.Length / 2] : (v[(v.Length / 2) - 1] + v[v.Length / 2]) / 2;
}

static string Run(string file, string directory, params string[] arguments)
{
    var info = new ProcessStartInfo(file) { WorkingDirectory = directory, RedirectStandardOutput = true, RedirectStandardError = true };
    foreach (string a in arguments)
    {
        info.ArgumentList.Add(a);
    }

    info.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
    info.Environment["DOTNET_NOLOGO"] = "1";
    using Process process = Process.Start(info)!;
    var stderr = process.StandardError.ReadToEndAsync();
    string stdout = process.StandardOutput.ReadToEnd();
    process.WaitForExit();
    if (process.ExitCode != 0)
    {
        throw new InvalidOperationException($"{file} {string.Join(' ', arguments)} exited with {process.ExitCode}:\n{stdout}\n{stderr.Result}");
    }

    return stdout;
}

static string RuntimeIdentifier() =>
    (OperatingSystem.IsWindows() ? "win" : OperatingSystem.IsMacOS() ? "osx" : "linux") + "-" +
    System.Runtime.InteropServices.RuntimeInformation.OSArchitecture.ToString().ToLowerInvariant();

static void CopyDirectory(string from, string to)
{
    if (Directory.Exists(to))
    {
        Directory.Delete(to, recursive: true);
    }

    foreach (string file in Directory.GetFiles(from, "*", SearchOption.AllDirectories))
    {
        string target = Path.Combine(to, Path.GetRelativePath(from, file));
        Directory.CreateDirectory(Path.GetDirectoryName(target)!);
        File.Copy(file, target);
    }
}

static string FindRepository()
{
    for (string? dir = AppContext.BaseDirectory; dir != null; dir = Path.GetDirectoryName(dir))
    {
        if (File.Exists(Path.Combine(dir, "MobileOne.Generator.sln")))
        {
            return dir;
        }
    }

    throw new InvalidOperationException("run from inside the repository (MobileOne.Generator.sln not found above " + AppContext.BaseDirectory + ")");
}
