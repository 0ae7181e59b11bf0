using System;
using System.Collections;
using System.Collections.Generic;
using System.Collections.Immutable;
using System.IO;
using System.Linq;
using System.Reflection;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.Diagnostics;
using MobileOne.Generator.Helpers;
using MobileOne.Generator.Model;
using MobileOne.Generator.Tests.Infrastructure;
using MobileOne.TestSupport;
using Xunit;

namespace MobileOne.Generator.Tests;

/// <summary>
/// Incremental caching, in the style of the Roslyn incremental-generator cookbook: rerun the driver after an edit and
/// check the reason each tracked step gives for its outputs.
/// </summary>
public class CachingTests
{
    private static readonly string[] AllSteps =
    {
        TrackingNames.ReadModelFile, TrackingNames.ReadModelOptions, TrackingNames.PairModelFiles, TrackingNames.BuildNetworkSpec, TrackingNames.CheckClassNames, TrackingNames.Emit,
    };

    private static readonly MobileOneArchitecture Tiny = TestNets.TinySe;

    [Fact]
    public void UnrelatedSyntaxTreeLeavesEveryStepCached()
    {
        using var models = new TempModels();
        string weights = models.WriteWeights("net.safetensors", Tiny, TestNets.SeededWeights(Tiny, 1));
        string arch = models.WriteText("other.mobileone.json", "{\"variant\": \"s0\"}");
        var session = new Session(weights, arch);
        GeneratorDriverRunResult first = session.Run();
        Assert.Equal(2, first.GeneratedTrees.Length);

        session.Compilation = session.Compilation.AddSyntaxTrees(CSharpSyntaxTree.ParseText("class Unrelated { }", GeneratorHarness.ParseOptions));
        GeneratorDriverRunResult second = session.Run();

        foreach (string step in AllSteps)
        {
            AssertReasons(second, step, IncrementalStepRunReason.Cached, IncrementalStepRunReason.Unchanged);
        }

        AssertOutputsCached(second);
        Assert.Equal(Sources(first), Sources(second));
    }

    [Fact]
    public void NewTensorDataWithTheSameHeaderIsRescannedButRebuildsNothing()
    {
        using var models = new TempModels();
        string weights = models.WriteWeights("net.safetensors", Tiny, TestNets.SeededWeights(Tiny, 1));
        var session = new Session(weights);
        GeneratorDriverRunResult first = session.Run();

        byte[] before = File.ReadAllBytes(weights);
        models.WriteWeights("net.safetensors", Tiny, TestNets.SeededWeights(Tiny, 2));
        byte[] after = File.ReadAllBytes(weights);
        Assert.Equal(before.Length, after.Length);
        Assert.NotEqual(before, after);

        session.Replace(weights);
        GeneratorDriverRunResult second = session.Run();

        // The file was read and its tensor bytes scanned again (a new AdditionalText), and gave equal content.
        AssertReasons(second, TrackingNames.ReadModelFile, IncrementalStepRunReason.Unchanged);
        foreach (string step in AllSteps.Skip(1))
        {
            AssertReasons(second, step, IncrementalStepRunReason.Cached, IncrementalStepRunReason.Unchanged);
        }

        AssertOutputsCached(second);
        Assert.Equal(Sources(first), Sources(second));
    }

    /// <summary>
    /// Options are read in a step of their own, after the read step: a change of one file's item metadata and of an
    /// unrelated build property reads (and scans) no weight file again, and rebuilds only the model whose options changed.
    /// </summary>
    [Fact]
    public void OptionChangesDoNotRereadTheWeightFiles()
    {
        using var models = new TempModels();
        string kept = models.WriteWeights("kept.safetensors", Tiny, TestNets.SeededWeights(Tiny, 1));
        string renamed = models.WriteWeights("renamed.safetensors", Tiny, TestNets.SeededWeights(Tiny, 2));
        string arch = models.WriteText("other.mobileone.json", "{\"variant\": \"s0\"}");
        var session = new Session(kept, renamed, arch);
        GeneratorDriverRunResult first = session.Run();
        Assert.Equal(new[] { "TestApp.Kept.g.cs", "TestApp.Other.g.cs", "TestApp.Renamed.g.cs" }, HintNames(first));

        session.UpdateOptions(new TestOptionsProvider(
            new Dictionary<string, Dictionary<string, string>> { [renamed] = new() { ["MobileOneClassName"] = "NewName" } },
            new Dictionary<string, string> { ["build_property.RootNamespace"] = "TestApp", ["build_property.Unrelated"] = "1" }));
        GeneratorDriverRunResult second = session.Run();

        // Cached, not Unchanged: the read step did not run at all.
        AssertReasons(second, TrackingNames.ReadModelFile, IncrementalStepRunReason.Cached);
        Assert.Equal(
            new[] { (kept, IncrementalStepRunReason.Unchanged), (renamed, IncrementalStepRunReason.Modified), (arch, IncrementalStepRunReason.Unchanged) }.OrderBy(p => p.Item1, StringComparer.Ordinal),
            PathReasons<ModelFileOptions>(second, TrackingNames.ReadModelOptions, o => o.Path));
        Assert.Equal(
            new[] { (kept, IncrementalStepRunReason.Unchanged), (renamed, IncrementalStepRunReason.Modified), (arch, IncrementalStepRunReason.Unchanged) }.OrderBy(p => p.Item1, StringComparer.Ordinal),
            PathReasons<ParseResult>(second, TrackingNames.BuildNetworkSpec, r => r.FilePath).Select(p => (p.Path, p.Reason == IncrementalStepRunReason.Cached ? IncrementalStepRunReason.Unchanged : p.Reason)));
        Assert.Equal(new[] { "TestApp.Kept.g.cs", "TestApp.NewName.g.cs", "TestApp.Other.g.cs" }, HintNames(second));
        Assert.Equal(Sources(first)[0], Sources(second)[0]);
    }

    /// <summary>A build property the generator does not read changes nothing but the (cheap) options step, which finds the same options.</summary>
    [Fact]
    public void UnrelatedAnalyzerOptionOnlyRerunsTheOptionsStep()
    {
        using var models = new TempModels();
        string weights = models.WriteWeights("net.safetensors", Tiny, TestNets.SeededWeights(Tiny, 1));
        var session = new Session(weights);
        GeneratorDriverRunResult first = session.Run();

        session.UpdateOptions(new TestOptionsProvider(global: new Dictionary<string, string> { ["build_property.RootNamespace"] = "TestApp", ["build_property.Configuration"] = "Debug" }));
        GeneratorDriverRunResult second = session.Run();

        AssertReasons(second, TrackingNames.ReadModelFile, IncrementalStepRunReason.Cached);
        AssertReasons(second, TrackingNames.ReadModelOptions, IncrementalStepRunReason.Unchanged);
        foreach (string step in AllSteps.Skip(2))
        {
            AssertReasons(second, step, IncrementalStepRunReason.Cached, IncrementalStepRunReason.Unchanged);
        }

        AssertOutputsCached(second);
        Assert.Equal(Sources(first), Sources(second));
    }

    /// <summary>The read step hands the parse step the parsed header: the tensors in file order and the architecture metadata.</summary>
    [Fact]
    public void ReadStepCarriesTheParsedHeader()
    {
        using var models = new TempModels();
        string weights = models.WriteWeights("net.safetensors", Tiny, TestNets.SeededWeights(Tiny, 1),
            metadata: new Dictionary<string, string> { ["mobileone.architecture"] = TestNets.TinySeArchitectureJson });
        var session = new Session(weights);
        GeneratorDriverRunResult result = session.Run();

        IncrementalGeneratorRunStep read = Assert.Single(result.Results[0].TrackedSteps[TrackingNames.ReadModelFile]);
        var content = Assert.IsType<ModelFileContent>(Assert.Single(read.Outputs).Value);
        Assert.Null(content.ReadError);
        Assert.NotNull(content.Header);
        Assert.Equal(string.Empty, content.Text);
        Assert.Equal(TestNets.Entries(Tiny).Select(e => e.name), content.Header!.Tensors.Select(t => t.Name));
        Assert.Equal(TestNets.TinySeArchitectureJson, content.Header.ArchitectureJson);
        TensorEntry stem = content.Header.Tensors[0];
        Assert.Equal("stage0.reparam_conv.weight", stem.Name);
        Assert.Equal("F32", stem.DType);
        Assert.Equal(0, stem.Begin);
    }

    [Fact]
    public void HeaderChangeRebuildsTheSpecAndTheSource()
    {
        using var models = new TempModels();
        string weights = models.WriteWeights("net.safetensors", Tiny, TestNets.SeededWeights(Tiny, 1));
        var session = new Session(weights);
        GeneratorDriverRunResult first = session.Run();

        var wider = Tiny with { NumClasses = 12 };
        models.WriteWeights("net.safetensors", wider, TestNets.SeededWeights(wider, 1));
        session.Replace(weights);
        GeneratorDriverRunResult second = session.Run();

        AssertReasons(second, TrackingNames.ReadModelFile, IncrementalStepRunReason.Modified);
        AssertReasons(second, TrackingNames.BuildNetworkSpec, IncrementalStepRunReason.Modified);
        AssertReasons(second, TrackingNames.Emit, IncrementalStepRunReason.Modified);
        string before = Assert.Single(Sources(first)), after = Assert.Single(Sources(second));
        Assert.NotEqual(before, after);
        Assert.Contains("public const int NumClasses = 12;", after, StringComparison.Ordinal);
    }

    [Fact]
    public void DiagnosticOnlyChangeDoesNotTouchOtherModelsSource()
    {
        using var models = new TempModels();
        string good = models.WriteWeights("good.safetensors", Tiny, TestNets.SeededWeights(Tiny, 1));
        string broken = models.WriteText("broken.mobileone.json", "{\"variant\": \"s9\"}");
        var session = new Session(good, broken);
        GeneratorDriverRunResult first = session.Run();
        Assert.Equal("MO0005", Assert.Single(first.Diagnostics).Id);

        File.WriteAllText(broken, "{\"variant\": \"s8\"}");
        session.Replace(broken);
        GeneratorDriverRunResult second = session.Run();

        Assert.Equal("MO0005", Assert.Single(second.Diagnostics).Id);
        IncrementalGeneratorRunStep emit = Assert.Single(second.Results[0].TrackedSteps[TrackingNames.Emit]);
        Assert.All(emit.Outputs, o => Assert.True(o.Reason is IncrementalStepRunReason.Cached or IncrementalStepRunReason.Unchanged, o.Reason.ToString()));
        Assert.Equal(Sources(first), Sources(second));
    }

    [Fact]
    public void ParsingTheSameInputTwiceGivesEqualValues()
    {
        using var models = new TempModels();
        string weights = models.WriteWeights("net.safetensors", Tiny, TestNets.SeededWeights(Tiny, 1),
            metadata: new Dictionary<string, string> { ["mobileone.architecture"] = TestNets.TinySeArchitectureJson });
        string broken = models.WriteText("broken.mobileone.json", "{\"variant\": \"s9\"}");
        var options = new ModelOptions(null, null, null, null, null, "TestApp");

        ParseResult Parse(string path)
        {
            ModelFile file = path.EndsWith(".safetensors", StringComparison.Ordinal)
                ? new ModelFile(ModelFileReader.ReadWeights(path), options)
                : new ModelFile(new ModelFileContent(path, ModelFileKind.Architecture, 0, 0, File.ReadAllText(path), null, null), options);
            ModelInput input = Assert.Single(ModelFileReader.Pair(ImmutableArray.Create(file), default));
            return ModelFileParser.Parse(input, default);
        }

        ParseResult a = Parse(weights), b = Parse(weights);
        Assert.NotSame(a, b);
        Assert.NotNull(a.Spec);
        Assert.NotSame(a.Spec, b.Spec);
        Assert.Equal(a.Spec, b.Spec);
        Assert.Equal(a, b);
        Assert.Equal(a.GetHashCode(), b.GetHashCode());
        Assert.Equal(a.Spec!.GetHashCode(), b.Spec!.GetHashCode());
        Assert.True(a.Spec.Layers.Count > 0 && a.Spec.Tensors.Count > 0 && a.Spec.Labels.Count == 10);

        ParseResult c = Parse(broken), d = Parse(broken);
        Assert.Null(c.Spec);
        Assert.Equal(c, d);
        Assert.Equal(c.Diagnostics, d.Diagnostics);

        NetworkSpec other = a.Spec with { Mean = new EquatableArray<float>(new[] { 0.25f }) };
        Assert.NotEqual(a.Spec, other);
    }

    /// <summary>No pipeline model may hold a symbol, syntax node, location, compilation or other Roslyn object.</summary>
    [Fact]
    public void PipelineModelsHoldNoRoslynObjects()
    {
        Type[] models =
        {
            typeof(NetworkSpec), typeof(LayerSpec), typeof(TensorSpec), typeof(PackedRegionSpec), typeof(ModelFile), typeof(ModelFileContent), typeof(WeightHeader),
            typeof(TensorEntry), typeof(ModelFileOptions), typeof(ModelInput), typeof(ModelOptions), typeof(ParseResult), typeof(EmitInput), typeof(DiagnosticInfo),
        };
        var problems = new List<string>();
        var seen = new HashSet<Type>();
        foreach (Type model in models)
        {
            Walk(model, model.Name, problems, seen);
        }

        Assert.Empty(problems);

        static void Walk(Type type, string path, List<string> problems, HashSet<Type> seen)
        {
            if (type.IsGenericType && type.GetGenericTypeDefinition() == typeof(Nullable<>))
            {
                type = Nullable.GetUnderlyingType(type)!;
            }

            if (type.Assembly == typeof(ISymbol).Assembly || type.Assembly == typeof(CSharpSyntaxTree).Assembly)
            {
                problems.Add($"{path}: {type}");
                return;
            }

            if (!seen.Add(type) || type.IsPrimitive || type.IsEnum || type == typeof(string) || type == typeof(decimal))
            {
                return;
            }

            if (type.IsGenericType && type.GetGenericTypeDefinition() == typeof(EquatableArray<>))
            {
                Walk(type.GetGenericArguments()[0], path + "[]", problems, seen);
                return;
            }

            if (type.Assembly != typeof(NetworkSpec).Assembly || typeof(IEnumerable).IsAssignableFrom(type) || type == typeof(object))
            {
                problems.Add($"{path}: {type} is not a value-equatable pipeline model");
                return;
            }

            Assert.True(typeof(IEquatable<>).MakeGenericType(type).IsAssignableFrom(type), $"{path}: {type} is not IEquatable");
            const BindingFlags Instance = BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic;
            foreach (FieldInfo field in type.GetFields(Instance))
            {
                Walk(field.FieldType, path + "." + field.Name, problems, seen);
            }

            foreach (PropertyInfo property in type.GetProperties(Instance))
            {
                if (property.Name != "EqualityContract" && property.GetIndexParameters().Length == 0)
                {
                    Walk(property.PropertyType, path + "." + property.Name, problems, seen);
                }
            }
        }
    }

    /// <summary>What actually crosses the pipeline at run time is also free of Roslyn objects.</summary>
    [Fact]
    public void StepOutputsAreOnlyPipelineModels()
    {
        using var models = new TempModels();
        string weights = models.WriteWeights("net.safetensors", Tiny, TestNets.SeededWeights(Tiny, 1));
        var session = new Session(weights);
        GeneratorDriverRunResult result = session.Run();
        foreach (string step in AllSteps)
        {
            foreach (IncrementalGeneratorRunStep run in result.Results[0].TrackedSteps[step])
            {
                foreach (var (value, _) in run.Outputs)
                {
                    Assert.True(value.GetType().Assembly == typeof(NetworkSpec).Assembly, $"{step} outputs {value.GetType()}");
                }
            }
        }
    }

    private static void AssertReasons(GeneratorDriverRunResult result, string step, params IncrementalStepRunReason[] allowed)
    {
        Assert.True(result.Results[0].TrackedSteps.TryGetValue(step, out ImmutableArray<IncrementalGeneratorRunStep> runs), $"step {step} was not tracked");
        Assert.NotEmpty(runs);
        foreach (IncrementalGeneratorRunStep run in runs)
        {
            Assert.NotEmpty(run.Outputs);
            foreach (var (value, reason) in run.Outputs)
            {
                Assert.True(allowed.Contains(reason), $"{step}: {value.GetType().Name} is {reason}, expected {string.Join(" or ", allowed)}");
            }
        }
    }

    private static void AssertOutputsCached(GeneratorDriverRunResult result)
    {
        foreach (var pair in result.Results[0].TrackedOutputSteps)
        {
            foreach (IncrementalGeneratorRunStep run in pair.Value)
            {
                foreach (var (_, reason) in run.Outputs)
                {
                    Assert.True(reason is IncrementalStepRunReason.Cached or IncrementalStepRunReason.Unchanged, $"{pair.Key}: {reason}");
                }
            }
        }
    }

    private static List<string> HintNames(GeneratorDriverRunResult result) =>
        result.Results[0].GeneratedSources.Select(s => s.HintName).OrderBy(n => n, StringComparer.Ordinal).ToList();

    /// <summary>Each output of a per-file step as (file, reason), ordered by file.</summary>
    private static List<(string Path, IncrementalStepRunReason Reason)> PathReasons<T>(GeneratorDriverRunResult result, string step, Func<T, string> path) =>
        result.Results[0].TrackedSteps[step]
            .SelectMany(run => run.Outputs)
            .Select(o => (path((T)o.Value), o.Reason))
            .OrderBy(p => p.Item1, StringComparer.Ordinal)
            .ToList();

    private static List<string> Sources(GeneratorDriverRunResult result) =>
        result.Results[0].GeneratedSources.OrderBy(s => s.HintName, StringComparer.Ordinal).Select(s => s.SourceText.ToString()).ToList();

    /// <summary>A driver kept across runs, with the AdditionalText instances it was given.</summary>
    private sealed class Session
    {
        private readonly Dictionary<string, AdditionalText> _texts = new(StringComparer.Ordinal);
        private GeneratorDriver _driver;

        public Session(params string[] paths)
            : this(new TestOptionsProvider(), paths)
        {
        }

        public Session(AnalyzerConfigOptionsProvider options, params string[] paths)
        {
            foreach (string path in paths)
            {
                _texts[path] = new TestAdditionalText(path);
            }

            _driver = CSharpGeneratorDriver.Create(
                new[] { new MobileOneGenerator().AsSourceGenerator() },
                _texts.Values,
                GeneratorHarness.ParseOptions,
                options,
                new GeneratorDriverOptions(IncrementalGeneratorOutputKind.None, trackIncrementalGeneratorSteps: true));
            Compilation = GeneratorHarness.CreateCompilation("class Program { }");
        }

        public Compilation Compilation { get; set; }

        public GeneratorDriverRunResult Run()
        {
            _driver = _driver.RunGenerators(Compilation);
            GeneratorDriverRunResult result = _driver.GetRunResult();
            Assert.Null(result.Results[0].Exception);
            return result;
        }

        /// <summary>The analyzer options changed (an .editorconfig, a build property, item metadata).</summary>
        public void UpdateOptions(AnalyzerConfigOptionsProvider options) => _driver = _driver.WithUpdatedAnalyzerConfigOptions(options);

        /// <summary>The file changed on disk: hand the driver a new AdditionalText for it, as the IDE does.</summary>
        public void Replace(string path)
        {
            var fresh = new TestAdditionalText(path);
            _driver = _driver.ReplaceAdditionalText(_texts[path], fresh);
            _texts[path] = fresh;
        }
    }
}
