using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using MobileOne.Generator.Tests.Infrastructure;
using MobileOne.TestSupport;
using Xunit;
using Xunit.Abstractions;

namespace MobileOne.Generator.Tests;

/// <summary>
/// The user's path, for real: MobileOne.Runtime and MobileOne.Generator are packed into a local feed, a fresh
/// `dotnet new console` project adds MobileOne.Generator from it and two weight files as AdditionalFiles, and is
/// built (the package's build targets embed the weights; item metadata reaches the generator; binary files never
/// go through GetText, CS2015), run, rebuilt after a weight change, broken with a truncated file, and published
/// with NativeAOT.
/// </summary>
public class PackageConsumerTests
{
#if DEBUG
    private const string Configuration = "Debug";
#else
    private const string Configuration = "Release";
#endif

    private readonly ITestOutputHelper _output;

    public PackageConsumerTests(ITestOutputHelper output) => _output = output;

    [Fact]
    public void ConsumerBuildsFromThePackagesRebuildsOnWeightChangeReportsBadFilesAndPublishesNativeAot()
    {
        string repo = ProcessRunner.RepositoryRoot();
        using var work = new TempModels();
        string feed = work.PathOf("feed");
        // A version of its own, so the machine's package cache can never serve an older build of ours.
        string version = "0.1.0-test." + DateTime.UtcNow.ToString("yyyyMMddHHmmssfff", CultureInfo.InvariantCulture);
        foreach (string project in new[] { "src/Runtime/MobileOne.Runtime.csproj", "src/Generator/MobileOne.Generator.csproj" })
        {
            var (packCode, packLog) = ProcessRunner.Dotnet(repo, "pack", Path.Combine(repo, project), "-c", Configuration, "--no-build", "-o", feed, "-p:PackageVersion=" + version);
            Assert.True(packCode == 0, packLog);
        }

        string app = work.PathOf("Consumer");
        var (newCode, newLog) = ProcessRunner.Dotnet(work.Directory, "new", "console", "-o", app, "--framework", "net10.0");
        Assert.True(newCode == 0, newLog);
        File.WriteAllText(Path.Combine(app, "nuget.config"), $"""
            <?xml version="1.0" encoding="utf-8"?>
            <configuration>
              <packageSources>
                <add key="local" value="{feed}" />
              </packageSources>
            </configuration>
            """);
        var (addCode, addLog) = ProcessRunner.Dotnet(app, "add", "package", "MobileOne.Generator", "--version", version);
        Assert.True(addCode == 0, addLog);

        NetworkCase odd = NetworkCase.Get("odd");
        NetworkCase gray = NetworkCase.Get("gray");
        Directory.CreateDirectory(Path.Combine(app, "models"));
        SafetensorsWriter.Write(Path.Combine(app, "models/odd_net.safetensors"), odd.Weights, odd.Architecture, TensorNaming.Apple, "F32", ArchitectureJson.Metadata(odd.Architecture));
        SafetensorsWriter.Write(Path.Combine(app, "models/gray.safetensors"), gray.Weights, gray.Architecture, TensorNaming.Timm, "F32", ArchitectureJson.Metadata(gray.Architecture));
        File.WriteAllBytes(Path.Combine(app, "odd.input"), ToBytes(odd.InputA));
        File.WriteAllBytes(Path.Combine(app, "gray.input"), ToBytes(gray.InputA));
        string csproj = Path.Combine(app, "Consumer.csproj");
        File.WriteAllText(csproj, File.ReadAllText(csproj).Replace("</Project>", """
              <PropertyGroup>
                <TreatWarningsAsErrors>true</TreatWarningsAsErrors>
                <RootNamespace>Consumer</RootNamespace>
              </PropertyGroup>
              <ItemGroup>
                <AdditionalFiles Include="models/odd_net.safetensors" />
                <AdditionalFiles Include="models/gray.safetensors" MobileOneClassName="GrayClassifier" MobileOneNamespace="Consumer.Models" MobileOneAccessibility="internal" />
              </ItemGroup>
            </Project>
            """));
        File.WriteAllText(Path.Combine(app, "Program.cs"), """
            using System;
            using System.Globalization;
            using System.IO;
            static float[] Read(string path) { byte[] b = File.ReadAllBytes(path); var f = new float[b.Length / 4]; Buffer.BlockCopy(b, 0, f, 0, b.Length); return f; }
            var a = new float[Consumer.OddNet.NumClasses];
            Consumer.OddNet.Infer(Read(args[0]), a);
            var g = new float[Consumer.Models.GrayClassifier.NumClasses];
            Consumer.Models.GrayClassifier.Infer(Read(args[1]), g);
            foreach (float v in a) Console.WriteLine("odd " + v.ToString("R", CultureInfo.InvariantCulture));
            foreach (float v in g) Console.WriteLine("gray " + v.ToString("R", CultureInfo.InvariantCulture));
            """);
        string[] inputs = { Path.Combine(app, "odd.input"), Path.Combine(app, "gray.input") };

        // 1. Two models in one project: builds with no warnings, runs, and matches the reference.
        var (code, log) = ProcessRunner.Dotnet(app, "build", "-c", "Release");
        Assert.True(code == 0, log);
        var (runCode, output) = ProcessRunner.Dotnet(app, new[] { "bin/Release/net10.0/Consumer.dll" }.Concat(inputs).ToArray());
        Assert.True(runCode == 0, output);
        float[] jitOdd = Parse(output, "odd");
        LogitComparison.AssertClose(odd.ReferenceA, jitOdd, "odd from the package");
        LogitComparison.AssertClose(gray.ReferenceA, Parse(output, "gray"), "gray (timm names) from the package");

        // 2. NativeAOT: publishes with zero trim/AOT warnings (warnings are errors here) and gives the same logits.
        var (aotCode, aotLog) = ProcessRunner.Dotnet(app, "publish", "-c", "Release", "-r", "linux-x64", "-p:PublishAot=true", "-o", Path.Combine(app, "aot"));
        Assert.True(aotCode == 0, aotLog);
        Assert.DoesNotMatch(@"warning (IL|AOT)\d+", aotLog);
        var (nativeCode, nativeOutput) = ProcessRunner.Run(Path.Combine(app, "aot", "Consumer"), app, inputs);
        Assert.True(nativeCode == 0, nativeOutput);
        float[] aotOdd = Parse(nativeOutput, "odd");
        LogitComparison.AssertClose(LogitComparison.Widen(jitOdd), aotOdd, "NativeAOT vs JIT");
        LogitComparison.AssertClose(odd.ReferenceA, aotOdd, "NativeAOT vs reference");

        // 3. New weights (same architecture) in the same file: a rebuild embeds them.
        FusedWeights other = FusedWeights.Random(odd.Architecture, 99);
        SafetensorsWriter.Write(Path.Combine(app, "models/odd_net.safetensors"), other, odd.Architecture, TensorNaming.Apple, "F32", ArchitectureJson.Metadata(odd.Architecture));
        (code, log) = ProcessRunner.Dotnet(app, "build", "-c", "Release");
        Assert.True(code == 0, log);
        (runCode, output) = ProcessRunner.Dotnet(app, new[] { "bin/Release/net10.0/Consumer.dll" }.Concat(inputs).ToArray());
        Assert.True(runCode == 0, output);
        LogitComparison.AssertClose(DoubleReference.Run(odd.Architecture, other, odd.InputA), Parse(output, "odd"), "odd after the weights changed");

        // 4. A truncated weight file: a diagnostic with its ID at the file, and a clean build failure.
        byte[] bytes = File.ReadAllBytes(Path.Combine(app, "models/odd_net.safetensors"));
        File.WriteAllBytes(Path.Combine(app, "models/odd_net.safetensors"), bytes.AsSpan(0, bytes.Length / 2).ToArray());
        (code, log) = ProcessRunner.Dotnet(app, "build", "-c", "Release");
        _output.WriteLine(log);
        Assert.NotEqual(0, code);
        Assert.Matches(@"odd_net\.safetensors\(1,1\): error MO0002", log);
        Assert.DoesNotContain("AD0001", log, StringComparison.Ordinal);
        Assert.DoesNotContain("CS8785", log, StringComparison.Ordinal);
        Assert.DoesNotContain("CS2015", log, StringComparison.Ordinal);
    }

    private static float[] Parse(string output, string prefix) =>
        output.Split('\n').Where(l => l.StartsWith(prefix + " ", StringComparison.Ordinal))
              .Select(l => float.Parse(l.Substring(prefix.Length + 1).Trim(), CultureInfo.InvariantCulture)).ToArray();

    private static byte[] ToBytes(float[] values)
    {
        byte[] bytes = new byte[values.Length * 4];
        Buffer.BlockCopy(values, 0, bytes, 0, bytes.Length);
        return bytes;
    }
}
