using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Reflection;
using MobileOne.Generator.Tests.Infrastructure;
using MobileOne.Runtime;
using MobileOne.TestSupport;

namespace MobileOne.Fuzz.Tests.Infrastructure;

/// <summary>A class the generator emitted for a seed network, compiled and loaded once per test run.</summary>
public sealed class GeneratedNet
{
    private GeneratedNet(string name, MobileOneArchitecture arch, Type type, string weightsPath, byte[] file)
    {
        Name = name;
        Architecture = arch;
        Type = type;
        WeightsPath = weightsPath;
        File = file;
        Tensors = (TensorDescriptor[])type.GetField("s_tensors", BindingFlags.NonPublic | BindingFlags.Static)!.GetValue(null)!;
        Default = (IMobileOneNetwork)type.GetProperty("Default")!.GetValue(null)!;
    }

    public string Name { get; }

    public MobileOneArchitecture Architecture { get; }

    public Type Type { get; }

    /// <summary>The weight file it was generated from (and whose bytes are embedded).</summary>
    public string WeightsPath { get; }

    public byte[] File { get; }

    /// <summary>The generated class's tensor list, with the dtypes and offsets the generator saw.</summary>
    public IReadOnlyList<TensorDescriptor> Tensors { get; }

    /// <summary>The descriptors without build-time locations, as <c>Load</c> uses them.</summary>
    public IReadOnlyList<TensorDescriptor> Names => Tensors.Select(t => new TensorDescriptor(t.Name, t.Shape)).ToList();

    /// <summary>The embedded-weights instance (<c>Default</c>).</summary>
    public IMobileOneNetwork Default { get; }

    public IMobileOneNetwork Load(string path)
    {
        MethodInfo load = Type.GetMethod("Load", new[] { typeof(string) })!;
        try
        {
            return (IMobileOneNetwork)load.Invoke(null, new object[] { path })!;
        }
        catch (TargetInvocationException e) when (e.InnerException != null)
        {
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(e.InnerException).Throw();
            throw;
        }
    }

    private static readonly Lazy<GeneratedNet> LazyTinySe = new(() => Build("fuzz_tiny_se", Seeds.TinySe, TensorNaming.Apple, "F32"));
    private static readonly Lazy<GeneratedNet> LazyTinyPlain = new(() => Build("fuzz_tiny_plain", Seeds.TinyPlain, TensorNaming.Timm, "F16"));

    /// <summary>Seeds.TinySe, F32, Apple names, with the architecture metadata.</summary>
    public static GeneratedNet TinySe => LazyTinySe.Value;

    /// <summary>Seeds.TinyPlain, F16, timm names, no metadata.</summary>
    public static GeneratedNet TinyPlain => LazyTinyPlain.Value;

    public static string Directory { get; } = CreateDirectory();

    private static string CreateDirectory()
    {
        string dir = System.IO.Directory.CreateTempSubdirectory("mobileone-fuzz-").FullName;
        System.IO.Directory.CreateDirectory(dir);
        return dir;
    }

    private static GeneratedNet Build(string name, MobileOneArchitecture arch, TensorNaming naming, string dtype)
    {
        var metadata = naming == TensorNaming.Apple ? new Dictionary<string, string> { ["mobileone.architecture"] = Seeds.ArchitectureJson(arch) } : null;
        byte[] file = Seeds.Encode(arch, Seeds.Weights(arch, 11), naming, dtype, metadata);
        string path = Path.Combine(Directory, name + ".safetensors");
        System.IO.File.WriteAllBytes(path, file);
        GeneratorOutcome outcome = GeneratorRunner.Run(new[] { (path, (string?)null) });
        if (outcome.Diagnostics.Length > 0)
        {
            throw new InvalidOperationException(string.Join(Environment.NewLine, outcome.Diagnostics));
        }

        Assembly assembly = GeneratorHarness.CompileAndLoad(outcome.Run).Assembly;
        Type type = assembly.GetTypes().Single(t => typeof(IMobileOneNetwork).IsAssignableFrom(t));
        return new GeneratedNet(name, arch, type, path, file);
    }
}
