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
/// The user's path, for real: MobileOne.Runtime and MobileOne.Generator are packed once into a local feed
/// (<see cref="PackedFeedFixture"/>), and consumer projects add MobileOne.Generator from it with weight files as
/// AdditionalFiles and are built by the SDK with the package's real build targets (build/MobileOne.Generator.targets
/// embeds the weights; item metadata reaches the generator; binary files never go through GetText, CS2015), then run.
/// One consumer is also checked for weights packed at build time (a blob per weight file, not re-packed by an unrelated
/// edit, re-packed by a weight change), rebuilt after a weight change, broken with a truncated file, and published with
/// NativeAOT; one exercises the embedding options (MobileOneEmbed, MobileOneResourceName, MobileOneEmbedWeights,
/// MobileOnePackWeights); one targets net8.0.
/// </summary>
public class PackageConsumerTests : IClassFixture<PackedFeedFixture>
{
    private readonly PackedFeedFixture _feed;
    private readonly ITestOutputHelper _output;

    public PackageConsumerTests(PackedFeedFixture feed, ITestOutputHelper output)
    {
        _feed = feed;
        _output = output;
    }

    [Fact]
    public void ConsumerBuildsFromThePackagesRebuildsOnWeightChangeReportsBadFilesAndPublishesNativeAot()
    {
        string version = _feed.Version;
        string app = _feed.NewConsumerDirectory("Consumer");
        var (newCode, newLog) = ProcessRunner.Dotnet(app, "new", "console", "-o", app, "--framework", "net10.0");
        Assert.True(newCode == 0, newLog);
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

        // 1b. Packed at build time: the package's task wrote a packed blob per embedded weight file into obj/ (and the
        //     build embedded it: the logits above came from Infer, which maps it). An unrelated edit rebuilds without
        //     re-packing; the weight edit of step 3 re-packs.
        string packedDir = Path.Combine(app, "obj/Release/net10.0/mobileone");
        string oddPacked = Path.Combine(packedDir, "MobileOne.Weights.odd_net.safetensors.packed");
        string grayPacked = Path.Combine(packedDir, "MobileOne.Weights.gray.safetensors.packed");
        foreach (string blob in new[] { oddPacked, grayPacked })
        {
            Assert.True(File.Exists(blob), "no packed blob " + blob + "\n" + log);
            Assert.Equal("MO1PACK", System.Text.Encoding.ASCII.GetString(File.ReadAllBytes(blob), 0, 7));
        }

        DateTime oddPackedAt = File.GetLastWriteTimeUtc(oddPacked);
        File.AppendAllText(Path.Combine(app, "Program.cs"), "\n// an unrelated edit\n");
        (code, log) = ProcessRunner.Dotnet(app, "build", "-c", "Release");
        Assert.True(code == 0, log);
        Assert.Equal(oddPackedAt, File.GetLastWriteTimeUtc(oddPacked));
        (runCode, output) = ProcessRunner.Dotnet(app, new[] { "bin/Release/net10.0/Consumer.dll" }.Concat(inputs).ToArray());
        Assert.True(runCode == 0, output);
        LogitComparison.AssertClose(odd.ReferenceA, Parse(output, "odd"), "odd after an unrelated edit");

        // 2. NativeAOT: publishes with zero trim/AOT warnings (warnings are errors here) and gives the same logits.
        //    For this machine's runtime identifier (linux-x64, linux-arm64, osx-arm64, win-x64, ...).
        var (aotCode, aotLog) = ProcessRunner.Dotnet(app, "publish", "-c", "Release", "-r", PackedFeedFixture.HostRuntimeIdentifier, "-p:PublishAot=true", "-o", Path.Combine(app, "aot"));
        Assert.True(aotCode == 0, aotLog);
        Assert.DoesNotMatch(@"warning (IL|AOT)\d+", aotLog);
        var (nativeCode, nativeOutput) = ProcessRunner.Run(Path.Combine(app, "aot", OperatingSystem.IsWindows() ? "Consumer.exe" : "Consumer"), app, inputs);
        Assert.True(nativeCode == 0, nativeOutput);
        float[] aotOdd = Parse(nativeOutput, "odd");
        LogitComparison.AssertClose(LogitComparison.Widen(jitOdd), aotOdd, "NativeAOT vs JIT");
        LogitComparison.AssertClose(odd.ReferenceA, aotOdd, "NativeAOT vs reference");

        // 3. New weights (same architecture) in the same file: a rebuild embeds them.
        FusedWeights other = FusedWeights.Random(odd.Architecture, 99);
        SafetensorsWriter.Write(Path.Combine(app, "models/odd_net.safetensors"), other, odd.Architecture, TensorNaming.Apple, "F32", ArchitectureJson.Metadata(odd.Architecture));
        (code, log) = ProcessRunner.Dotnet(app, "build", "-c", "Release");
        Assert.True(code == 0, log);
        Assert.True(File.GetLastWriteTimeUtc(oddPacked) > oddPackedAt, "the weight edit did not re-pack " + oddPacked);
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
        // The packing task says why it did not pack the file, and leaves no blob of the earlier file to be embedded.
        Assert.Matches(@"odd_net\.safetensors.*MOPACK001", log);
        Assert.False(File.Exists(oddPacked), "a blob packed from the earlier weight file was left behind: " + oddPacked);
    }

    /// <summary>
    /// The embedding options, through the package's real build targets (not the test harness that imitates them): a
    /// consumer with three weight files of one architecture but different weights is built four times, and each build's
    /// manifest resources and generated members are checked, and each class's logits against its own weights.
    /// </summary>
    [Fact]
    public void EmbeddingOptionsWorkThroughTheRealBuildTargets()
    {
        string app = _feed.NewConsumerDirectory("Options");
        MobileOneArchitecture arch = NetworkCase.ArchitectureOf("odd");
        float[] input = TestData.RandomInput(arch, 5);
        string[] names = { "plain", "renamed", "loose" };
        var reference = new Dictionary<string, double[]>();
        var args = new List<string> { Path.Combine(app, "odd.input") };
        Directory.CreateDirectory(Path.Combine(app, "models"));
        for (int i = 0; i < names.Length; i++)
        {
            FusedWeights weights = FusedWeights.Random(arch, 11 + i);
            string path = Path.Combine(app, "models", names[i] + ".safetensors");
            SafetensorsWriter.Write(path, weights, arch, TensorNaming.Apple, "F32", ArchitectureJson.Metadata(arch));
            reference[names[i]] = DoubleReference.Run(arch, weights, input);
            args.Add(path);
        }

        File.WriteAllBytes(args[0], ToBytes(input));
        // Prints the assembly's manifest resources, and for each class whether the generator gave it the embedded-weights
        // members (Infer, Default) and its logits: from Default when it has one (the embedded weights, which must be found
        // under the resource name the generator expects), else from Load(path).
        File.WriteAllText(Path.Combine(app, "Program.cs"), """
            using System;
            using System.Globalization;
            using System.IO;
            using System.Linq;
            using System.Reflection;
            using MobileOne.Runtime;
            static float[] Read(string path) { byte[] b = File.ReadAllBytes(path); var f = new float[b.Length / 4]; Buffer.BlockCopy(b, 0, f, 0, b.Length); return f; }
            float[] input = Read(args[0]);
            Assembly assembly = typeof(Consumer.Plain).Assembly;
            Console.WriteLine("resources [" + string.Join(", ", assembly.GetManifestResourceNames().OrderBy(n => n, StringComparer.Ordinal)) + "]");
            foreach (string resource in assembly.GetManifestResourceNames())
            {
                using Stream stream = assembly.GetManifestResourceStream(resource)!;
                var prefix = new byte[16];
                stream.ReadExactly(prefix);
                bool packed = PackedWeightFile.IsPackedWeightFile(prefix);
                Console.WriteLine("packed " + resource + " " + packed);
                if (packed)
                {
                    // The build moved the data onto a 64-byte boundary of the image: Load uses it where it lies.
                    unsafe { Console.WriteLine("aligned " + resource + " " + (((ulong)((UnmanagedMemoryStream)stream).PositionPointer - 16 + BitConverter.ToUInt32(prefix, 12)) % 64 == 0)); }
                }
            }

            Report("plain", typeof(Consumer.Plain), () => Consumer.Plain.Load(args[1]));
            Report("renamed", typeof(Consumer.Renamed), () => Consumer.Renamed.Load(args[2]));
            Report("loose", typeof(Consumer.Loose), () => Consumer.Loose.Load(args[3]));

            void Report(string name, Type type, Func<IMobileOneNetwork> load)
            {
                bool infer = type.GetMember("Infer", BindingFlags.Public | BindingFlags.Static).Length > 0;
                PropertyInfo? embedded = type.GetProperty("Default", BindingFlags.Public | BindingFlags.Static);
                Console.WriteLine("members " + name + " Infer=" + infer + " Default=" + (embedded != null));
                IMobileOneNetwork net = embedded != null ? (IMobileOneNetwork)embedded.GetValue(null)! : load();
                var logits = new float[net.NumClasses];
                net.Run(input, logits);
                foreach (float v in logits) Console.WriteLine(name + " " + v.ToString("R", CultureInfo.InvariantCulture));
            }
            """);

        void Build(string step, string properties, string plain, string renamed, string loose, string resources, bool plainEmbedded, bool renamedEmbedded, bool looseEmbedded, bool packed = true, bool readyToRun = false)
        {
            File.WriteAllText(Path.Combine(app, "Options.csproj"), $"""
                <Project Sdk="Microsoft.NET.Sdk">
                  <PropertyGroup>
                    <OutputType>Exe</OutputType>
                    <TargetFramework>net10.0</TargetFramework>
                    <Nullable>enable</Nullable>
                    <TreatWarningsAsErrors>true</TreatWarningsAsErrors>
                    <AllowUnsafeBlocks>true</AllowUnsafeBlocks>
                    <RootNamespace>Consumer</RootNamespace>
                    {properties}
                  </PropertyGroup>
                  <ItemGroup>
                    <PackageReference Include="MobileOne.Generator" Version="{_feed.Version}" />
                    <AdditionalFiles Include="models/plain.safetensors" {plain} />
                    <AdditionalFiles Include="models/renamed.safetensors" {renamed} />
                    <AdditionalFiles Include="models/loose.safetensors" {loose} />
                  </ItemGroup>
                </Project>
                """);
            // A ReadyToRun publish writes a new image of the assembly (crossgen2's layout), which the targets align again.
            var (code, log) = readyToRun
                ? ProcessRunner.Dotnet(app, "publish", "-c", "Release", "-r", PackedFeedFixture.HostRuntimeIdentifier, "--self-contained", "false", "-p:PublishReadyToRun=true", "-o", Path.Combine(app, "r2r"))
                : ProcessRunner.Dotnet(app, "build", "-c", "Release");
            Assert.True(code == 0, step + ": " + log);
            var (runCode, output) = ProcessRunner.Dotnet(app, new[] { readyToRun ? "r2r/Options.dll" : "bin/Release/net10.0/Options.dll" }.Concat(args).ToArray());
            Assert.True(runCode == 0, step + ": " + output);
            string[] lines = output.Split('\n').Select(l => l.TrimEnd('\r')).ToArray();
            void Expect(string expected) => Assert.True(lines.Contains(expected), $"{step}: expected the line \"{expected}\" in\n{output}");
            Expect("resources [" + resources + "]");
            foreach (string resource in resources.Split(", ", StringSplitOptions.RemoveEmptyEntries))
            {
                Expect("packed " + resource + " " + packed);
                if (packed)
                {
                    Expect("aligned " + resource + " True");
                }
            }

            foreach (var (name, embedded) in new[] { ("plain", plainEmbedded), ("renamed", renamedEmbedded), ("loose", looseEmbedded) })
            {
                Expect($"members {name} Infer={embedded} Default={embedded}");
                LogitComparison.AssertClose(reference[name], Parse(output, name), step + ": " + name);
            }
        }

        // 1. Per file: MobileOneEmbed="false" embeds nothing and the class has no Infer/Default (weights only through
        //    Load(path)); MobileOneResourceName names the resource, and the generated class reads that one.
        Build("item metadata", "", "", "MobileOneResourceName=\"Custom.Name\"", "MobileOneEmbed=\"false\"",
            "Custom.Name, MobileOne.Weights.plain.safetensors", plainEmbedded: true, renamedEmbedded: true, looseEmbedded: false);

        // 2. <MobileOneEmbedWeights>false</MobileOneEmbedWeights> turns embedding off for every file, even one that says
        //    MobileOneEmbed="true".
        Build("MobileOneEmbedWeights=false", "<MobileOneEmbedWeights>false</MobileOneEmbedWeights>", "MobileOneEmbed=\"true\"", "MobileOneResourceName=\"Custom.Name\"", "",
            "", plainEmbedded: false, renamedEmbedded: false, looseEmbedded: false);

        // 3. The generator trims these values, so the targets must too: a padded resource name is still found (the targets
        //    used to embed it as " Custom.Name " and Default threw "resource 'Custom.Name' is missing"), and a padded
        //    "false" embeds nothing, for one file or for all.
        Build("padded item metadata", "", "MobileOneEmbed=\" True \"", "MobileOneResourceName=\" Custom.Name \"", "MobileOneEmbed=\" false \"",
            "Custom.Name, MobileOne.Weights.plain.safetensors", plainEmbedded: true, renamedEmbedded: true, looseEmbedded: false);
        Build("padded MobileOneEmbedWeights", "<MobileOneEmbedWeights> false </MobileOneEmbedWeights>", "", "", "",
            "", plainEmbedded: false, renamedEmbedded: false, looseEmbedded: false);

        // 4. <MobileOnePackWeights>false</MobileOnePackWeights> embeds the safetensors files themselves (what an MSBuild
        //    without the task does too): Default packs them at run time, with the same logits.
        Build("MobileOnePackWeights=false", "<MobileOnePackWeights>false</MobileOnePackWeights>", "", "MobileOneResourceName=\"Custom.Name\"", "MobileOneEmbed=\"false\"",
            "Custom.Name, MobileOne.Weights.plain.safetensors", plainEmbedded: true, renamedEmbedded: true, looseEmbedded: false, packed: false);

        // 5. Published with ReadyToRun: packed, and aligned in the image crossgen2 wrote.
        Build("ReadyToRun", "", "", "MobileOneResourceName=\"Custom.Name\"", "MobileOneEmbed=\"false\"",
            "Custom.Name, MobileOne.Weights.plain.safetensors", plainEmbedded: true, renamedEmbedded: true, looseEmbedded: false, readyToRun: true);
    }

    /// <summary>
    /// The README says the generated code and the runtime also build for .NET 8: a net8.0 consumer (C# 12, the .NET 8
    /// reference assemblies from the Microsoft.NETCore.App.Ref 8.0 targeting pack, the runtime package's net8.0 assets)
    /// builds from the packages with no warnings and runs, with embedded weights (Infer) and with Load(path).
    /// This machine has only the .NET 10 runtime and none other can be installed, so the net8.0 build is run with
    /// <c>dotnet --roll-forward Major</c> (the same as DOTNET_ROLL_FORWARD=Major) on .NET 10; the program prints the
    /// framework it was built for and the one the runtime library was built for, which are asserted to be .NET 8.0.
    /// </summary>
    [Fact]
    public void Net8ConsumerBuildsFromThePackagesAndRuns()
    {
        string app = _feed.NewConsumerDirectory("Net8Consumer");
        NetworkCase odd = NetworkCase.Get("odd");
        NetworkCase gray = NetworkCase.Get("gray");
        Directory.CreateDirectory(Path.Combine(app, "models"));
        SafetensorsWriter.Write(Path.Combine(app, "models/odd_net.safetensors"), odd.Weights, odd.Architecture, TensorNaming.Apple, "F32", ArchitectureJson.Metadata(odd.Architecture));
        SafetensorsWriter.Write(Path.Combine(app, "models/gray.safetensors"), gray.Weights, gray.Architecture, TensorNaming.Timm, "F32", ArchitectureJson.Metadata(gray.Architecture));
        File.WriteAllBytes(Path.Combine(app, "odd.input"), ToBytes(odd.InputA));
        File.WriteAllBytes(Path.Combine(app, "gray.input"), ToBytes(gray.InputA));
        File.WriteAllText(Path.Combine(app, "Net8Consumer.csproj"), $"""
            <Project Sdk="Microsoft.NET.Sdk">
              <PropertyGroup>
                <OutputType>Exe</OutputType>
                <TargetFramework>net8.0</TargetFramework>
                <Nullable>enable</Nullable>
                <ImplicitUsings>enable</ImplicitUsings>
                <TreatWarningsAsErrors>true</TreatWarningsAsErrors>
                <RootNamespace>Consumer</RootNamespace>
                <!-- Run through `dotnet`: no 8.0 apphost pack needed, so only the targeting pack is restored. -->
                <UseAppHost>false</UseAppHost>
              </PropertyGroup>
              <ItemGroup>
                <PackageReference Include="MobileOne.Generator" Version="{_feed.Version}" />
                <AdditionalFiles Include="models/odd_net.safetensors" />
                <AdditionalFiles Include="models/gray.safetensors" MobileOneEmbed="false" />
              </ItemGroup>
            </Project>
            """);
        // Embedded weights (Infer) for one model, Load(path) for the other.
        File.WriteAllText(Path.Combine(app, "Program.cs"), """
            using System.Globalization;
            using System.Reflection;
            using System.Runtime.Versioning;
            static float[] Read(string path) { byte[] b = File.ReadAllBytes(path); var f = new float[b.Length / 4]; Buffer.BlockCopy(b, 0, f, 0, b.Length); return f; }
            Console.WriteLine("built for " + AppContext.TargetFrameworkName);
            Console.WriteLine("runtime library built for " + typeof(MobileOne.Runtime.IMobileOneNetwork).Assembly.GetCustomAttribute<TargetFrameworkAttribute>()?.FrameworkName);
            Console.WriteLine("running on " + Environment.Version);
            var a = new float[Consumer.OddNet.NumClasses];
            Consumer.OddNet.Infer(Read(args[0]), a);
            var g = new float[Consumer.Gray.NumClasses];
            Consumer.Gray.Load(args[2]).Run(Read(args[1]), g);
            foreach (float v in a) Console.WriteLine("odd " + v.ToString("R", CultureInfo.InvariantCulture));
            foreach (float v in g) Console.WriteLine("gray " + v.ToString("R", CultureInfo.InvariantCulture));
            """);

        var (code, log) = ProcessRunner.Dotnet(app, "build", "-c", "Release");
        Assert.True(code == 0, log);
        string dll = Path.Combine(app, "bin/Release/net8.0/Net8Consumer.dll");
        Assert.True(File.Exists(dll), "no net8.0 build at " + dll + "\n" + log);
        string runtimeConfig = File.ReadAllText(Path.ChangeExtension(dll, ".runtimeconfig.json"));
        Assert.Contains("\"tfm\": \"net8.0\"", runtimeConfig, StringComparison.Ordinal);
        Assert.Matches("\"name\": \"Microsoft.NETCore.App\",\\s*\"version\": \"8\\.0\\.", runtimeConfig);

        // No .NET 8 runtime here: roll forward to the newest major version installed (.NET 10).
        var (runCode, output) = ProcessRunner.Dotnet(app, "--roll-forward", "Major", dll, Path.Combine(app, "odd.input"), Path.Combine(app, "gray.input"), Path.Combine(app, "models/gray.safetensors"));
        _output.WriteLine(output);
        Assert.True(runCode == 0, output);
        string[] lines = output.Split('\n').Select(l => l.TrimEnd('\r')).ToArray();
        Assert.Contains("built for .NETCoreApp,Version=v8.0", lines);
        Assert.Contains("runtime library built for .NETCoreApp,Version=v8.0", lines);
        LogitComparison.AssertClose(odd.ReferenceA, Parse(output, "odd"), "odd (embedded) on net8.0");
        LogitComparison.AssertClose(gray.ReferenceA, Parse(output, "gray"), "gray (Load, timm names) on net8.0");
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
