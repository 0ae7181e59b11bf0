using System;
using System.Collections.Generic;
using System.Collections.Immutable;
using System.IO;
using System.Linq;
using System.Reflection;
using System.Runtime.Loader;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using MobileOne.Runtime;

namespace MobileOne.Generator.Tests.Infrastructure;

/// <summary>One model file for a generator run, with optional item metadata.</summary>
public sealed record ModelItem(string Path, Dictionary<string, string>? Metadata = null, string? Text = null);

/// <summary>The outcome of running the generator in-process.</summary>
public sealed record GeneratorRun(
    CSharpCompilation Compilation,
    GeneratorDriver Driver,
    GeneratorDriverRunResult Result,
    ImmutableArray<Diagnostic> GeneratorDiagnostics,
    IReadOnlyList<ModelItem> Items)
{
    public string Source(string hintNameSuffix) =>
        Result.Results.Single().GeneratedSources.Single(s => s.HintName.EndsWith(hintNameSuffix, StringComparison.Ordinal)).SourceText.ToString();

    public IEnumerable<string> HintNames => Result.Results.Single().GeneratedSources.Select(s => s.HintName);
}

/// <summary>
/// Runs MobileOneGenerator with CSharpGeneratorDriver, compiles the output in memory (with the weight files as
/// manifest resources, as the build targets embed them), loads it into a collectible context and hands back the
/// generated classes — the Regex generator tests' compile-and-run approach.
/// </summary>
public static class GeneratorHarness
{
    private static readonly Lazy<MetadataReference[]> References = new(() =>
    {
        string tpa = (string)AppContext.GetData("TRUSTED_PLATFORM_ASSEMBLIES")!;
        var paths = tpa.Split(Path.PathSeparator).Where(p => Path.GetFileName(p).StartsWith("System.", StringComparison.Ordinal) || Path.GetFileName(p) is "mscorlib.dll" or "netstandard.dll").ToList();
        paths.Add(typeof(IMobileOneNetwork).Assembly.Location);
        return paths.Distinct().Select(p => (MetadataReference)MetadataReference.CreateFromFile(p)).ToArray();
    });

    public static CSharpParseOptions ParseOptions { get; } = new(LanguageVersion.CSharp12);

    public static CSharpCompilation CreateCompilation(params string[] sources) =>
        CSharpCompilation.Create(
            "GeneratedModels_" + Guid.NewGuid().ToString("N"),
            sources.Select(s => CSharpSyntaxTree.ParseText(s, ParseOptions)),
            References.Value,
            new CSharpCompilationOptions(OutputKind.DynamicallyLinkedLibrary, nullableContextOptions: NullableContextOptions.Enable));

    public static GeneratorDriver CreateDriver(IEnumerable<ModelItem> items, Dictionary<string, string>? globalOptions = null)
    {
        var list = items.ToList();
        var perFile = list.Where(i => i.Metadata != null).ToDictionary(i => i.Path, i => i.Metadata!);
        return CSharpGeneratorDriver.Create(
            new[] { new MobileOneGenerator().AsSourceGenerator() },
            list.Select(i => (AdditionalText)new TestAdditionalText(i.Path, i.Text)),
            ParseOptions,
            new TestOptionsProvider(perFile, globalOptions),
            new GeneratorDriverOptions(IncrementalGeneratorOutputKind.None, trackIncrementalGeneratorSteps: true));
    }

    public static GeneratorRun Run(IEnumerable<ModelItem> items, Dictionary<string, string>? globalOptions = null, params string[] sources)
    {
        var list = items.ToList();
        CSharpCompilation compilation = CreateCompilation(sources);
        GeneratorDriver driver = CreateDriver(list, globalOptions).RunGeneratorsAndUpdateCompilation(compilation, out Compilation output, out ImmutableArray<Diagnostic> diagnostics);
        return new GeneratorRun((CSharpCompilation)output, driver, driver.GetRunResult(), diagnostics, list);
    }

    public static GeneratorRun Run(params string[] modelPaths) => Run(modelPaths.Select(p => new ModelItem(p)));

    /// <summary>
    /// Emits the generated compilation with the weight files embedded and loads it: the safetensors files themselves, or
    /// with <paramref name="packAtBuildTime"/> the blobs <see cref="PackedWeightFile.Pack"/> makes of them (what the
    /// package's build task embeds), or <paramref name="embedded"/> in place of every weight file.
    /// </summary>
    public static LoadedAssembly CompileAndLoad(GeneratorRun run, bool packAtBuildTime = false, string? embedded = null)
    {
        if (run.GeneratorDiagnostics.Length > 0)
        {
            throw new InvalidOperationException("Generator diagnostics: " + string.Join(Environment.NewLine, run.GeneratorDiagnostics));
        }

        var resources = run.Items
            .Where(i => i.Path.EndsWith(".safetensors", StringComparison.OrdinalIgnoreCase) && (i.Metadata == null || !i.Metadata.TryGetValue("MobileOneEmbed", out string? e) || e != "false"))
            .Select(i =>
            {
                string name = i.Metadata != null && i.Metadata.TryGetValue("MobileOneResourceName", out string? n) ? n : "MobileOne.Weights." + Path.GetFileName(i.Path);
                string path = embedded ?? i.Path;
                if (packAtBuildTime && embedded == null)
                {
                    path = i.Path + ".packed";
                    PackedWeightFile.Pack(i.Path, path);
                }

                return new ResourceDescription(name, () => File.OpenRead(path), isPublic: true);
            })
            .ToList();

        using var peStream = new MemoryStream();
        var emit = run.Compilation.Emit(peStream, manifestResources: resources);
        if (!emit.Success)
        {
            throw new InvalidOperationException("Generated code does not compile:" + Environment.NewLine + string.Join(Environment.NewLine, emit.Diagnostics.Where(d => d.Severity == DiagnosticSeverity.Error)));
        }

        var context = new AssemblyLoadContext("GeneratedModels", isCollectible: true);
        peStream.Position = 0;
        Assembly assembly = context.LoadFromStream(peStream);
        return new LoadedAssembly(context, assembly);
    }
}

/// <summary>A generated assembly in a collectible load context; dispose to unload.</summary>
public sealed class LoadedAssembly : IDisposable
{
    private readonly AssemblyLoadContext _context;

    public LoadedAssembly(AssemblyLoadContext context, Assembly assembly)
    {
        _context = context;
        Assembly = assembly;
    }

    public Assembly Assembly { get; }

    public Type Type(string fullName) => Assembly.GetType(fullName, throwOnError: true)!;

    /// <summary>The class's Default instance (embedded weights).</summary>
    public IMobileOneNetwork Default(string fullName) => (IMobileOneNetwork)Invoke(Type(fullName).GetProperty("Default")!.GetMethod!, null);

    /// <summary>The class bound to a weight file at run time (Load(string)).</summary>
    public IMobileOneNetwork Load(string fullName, string path) =>
        (IMobileOneNetwork)Invoke(Type(fullName).GetMethod("Load", new[] { typeof(string) })!, new object[] { path });

    public T Constant<T>(string fullName, string name) => (T)Type(fullName).GetField(name)!.GetValue(null)!;

    public static object Invoke(MethodInfo method, object?[]? args)
    {
        try
        {
            return method.Invoke(null, args)!;
        }
        catch (TargetInvocationException e) when (e.InnerException != null)
        {
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(e.InnerException).Throw();
            throw;
        }
    }

    public void Dispose() => _context.Unload();
}
