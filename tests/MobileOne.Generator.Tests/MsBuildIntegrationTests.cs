using System;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using System.Linq;
using MobileOne.Generator.Tests.Infrastructure;
using MobileOne.TestSupport;
using Xunit;
using Xunit.Abstractions;

namespace MobileOne.Generator.Tests;

/// <summary>
/// The real compiler path: `dotnet build` of a fresh consumer project that uses the generator as an analyzer with
/// the build props/targets, so weight files are embedded by MSBuild, item metadata reaches the generator, and the
/// binary AdditionalFiles never go through GetText (CS2015).
/// </summary>
public class MsBuildIntegrationTests
{
    private readonly ITestOutputHelper _output;

    public MsBuildIntegrationTests(ITestOutputHelper output) => _output = output;

    [Fact]
    public void ConsumerProjectBuildsEmbedsWeightsAndReportsBadFiles()
    {
        string repo = RepositoryRoot();
        using var models = new TempModels();
        NetworkCase odd = NetworkCase.Get("odd");
        NetworkCase gray = NetworkCase.Get("gray");
        Directory.CreateDirectory(models.PathOf("models"));
        models.WriteWeights("models/odd_net.safetensors", odd.Architecture, odd.Weights, metadata: ArchitectureJson.Metadata(odd.Architecture));
        models.WriteWeights("models/gray.safetensors", gray.Architecture, gray.Weights, metadata: ArchitectureJson.Metadata(gray.Architecture));
        File.WriteAllBytes(models.PathOf("odd.input"), ToBytes(odd.InputA));
        File.WriteAllBytes(models.PathOf("gray.input"), ToBytes(gray.InputA));
        models.WriteText("Consumer.csproj", $"""
            <Project Sdk="Microsoft.NET.Sdk">
              <Import Project="{repo}/src/Generator/build/MobileOne.Generator.props" />
              <PropertyGroup>
                <OutputType>Exe</OutputType>
                <TargetFramework>net10.0</TargetFramework>
                <Nullable>enable</Nullable>
                <TreatWarningsAsErrors>true</TreatWarningsAsErrors>
                <RootNamespace>Consumer</RootNamespace>
              </PropertyGroup>
              <ItemGroup>
                <AdditionalFiles Include="models/odd_net.safetensors" />
                <AdditionalFiles Include="models/gray.safetensors" MobileOneClassName="GrayClassifier" MobileOneNamespace="Consumer.Models" MobileOneAccessibility="internal" />
                <ProjectReference Include="{repo}/src/Generator/MobileOne.Generator.csproj" OutputItemType="Analyzer" ReferenceOutputAssembly="false" />
                <ProjectReference Include="{repo}/src/Runtime/MobileOne.Runtime.csproj" />
              </ItemGroup>
              <Import Project="{repo}/src/Generator/build/MobileOne.Generator.targets" />
            </Project>
            """);
        models.WriteText("Program.cs", """
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

        // 1. Two models in one project: builds with no warnings, runs, and matches the reference.
        var (code, log) = Dotnet(models.Directory, "build", "-c", "Release");
        Assert.True(code == 0, log);
        var (runCode, output) = Dotnet(models.Directory, "bin/Release/net10.0/Consumer.dll", models.PathOf("odd.input"), models.PathOf("gray.input"));
        Assert.True(runCode == 0, output);
        LogitComparison.AssertClose(odd.ReferenceA, Parse(output, "odd"), "odd via dotnet build");
        LogitComparison.AssertClose(gray.ReferenceA, Parse(output, "gray"), "gray via dotnet build");

        // 2. New weights (same architecture) in the same file: a rebuild embeds them.
        FusedWeights other = FusedWeights.Random(odd.Architecture, 99);
        models.WriteWeights("models/odd_net.safetensors", odd.Architecture, other, metadata: ArchitectureJson.Metadata(odd.Architecture));
        (code, log) = Dotnet(models.Directory, "build", "-c", "Release");
        Assert.True(code == 0, log);
        (runCode, output) = Dotnet(models.Directory, "bin/Release/net10.0/Consumer.dll", models.PathOf("odd.input"), models.PathOf("gray.input"));
        Assert.True(runCode == 0, output);
        LogitComparison.AssertClose(DoubleReference.Run(odd.Architecture, other, odd.InputA), Parse(output, "odd"), "odd after the weights changed");

        // 3. A truncated weight file: a located diagnostic with its ID, and a clean build failure (no AD0001/CS8785).
        byte[] bytes = File.ReadAllBytes(models.PathOf("models/odd_net.safetensors"));
        File.WriteAllBytes(models.PathOf("models/odd_net.safetensors"), bytes.AsSpan(0, bytes.Length / 2).ToArray());
        (code, log) = Dotnet(models.Directory, "build", "-c", "Release");
        _output.WriteLine(log);
        Assert.NotEqual(0, code);
        Assert.Contains("odd_net.safetensors", log, StringComparison.Ordinal);
        Assert.Contains("error MO0002", log, StringComparison.Ordinal);
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

    private static string RepositoryRoot()
    {
        string? dir = AppContext.BaseDirectory;
        while (dir != null && !File.Exists(Path.Combine(dir, "MobileOne.Generator.sln")))
        {
            dir = Path.GetDirectoryName(dir);
        }

        return dir ?? throw new InvalidOperationException("MobileOne.Generator.sln not found above " + AppContext.BaseDirectory);
    }

    private static (int ExitCode, string Output) Dotnet(string workingDirectory, params string[] args)
    {
        var start = new ProcessStartInfo("dotnet") { WorkingDirectory = workingDirectory, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (string a in args)
        {
            start.ArgumentList.Add(a);
        }

        if (args[0] == "build")
        {
            start.ArgumentList.Add("-nodeReuse:false");
            start.ArgumentList.Add("-p:UseSharedCompilation=false");
            start.ArgumentList.Add("-clp:NoSummary");
        }

        start.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        start.Environment["DOTNET_NOLOGO"] = "1";
        using Process p = Process.Start(start)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(TimeSpan.FromMinutes(5)))
        {
            p.Kill(entireProcessTree: true);
            throw new TimeoutException("dotnet " + string.Join(' ', args) + " did not finish in 5 minutes");
        }

        return (p.ExitCode, stdout.Result + stderr.Result);
    }
}
