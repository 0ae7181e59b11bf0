using System;
using System.Collections;
using System.Collections.Generic;
using System.Collections.Immutable;
using System.IO;
using System.Linq;
using System.Reflection;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
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
        TrackingNames.ReadModelFile, TrackingNames.PairModelFiles, TrackingNames.BuildNetworkSpec, TrackingNames.CheckClassNames, TrackingNames.Emit,
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
    public void NewTensorDataWithTheSameHeaderOnlyRereadsTheHeader()
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

        // The file was read again (a new AdditionalText), and gave an equal ModelFile.
        AssertReasons(second, TrackingNames.ReadModelFile, IncrementalStepRunReason.Unchanged);
        foreach (string step in AllSteps.Skip(1))
        {
            AssertReasons(second, step, IncrementalStepRunReason.Cached, IncrementalStepRunReason.Unchanged);
        }

        AssertOutputsCached(second);
        Assert.Equal(Sources(first), Sources(second));
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
                ? ModelFileReader.ReadWeightsHeader(path, options)
                : new ModelFile(path, ModelFileKind.Architecture, options, 0, 0, 0, File.ReadAllText(path), null);
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
            typeof(NetworkSpec), typeof(LayerSpec), typeof(TensorSpec), typeof(ModelFile), typeof(ModelInput), typeof(ModelOptions), typeof(ParseResult), typeof(DiagnosticInfo),
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

    private static List<string> Sources(GeneratorDriverRunResult result) =>
        result.Results[0].GeneratedSources.OrderBy(s => s.HintName, StringComparer.Ordinal).Select(s => s.SourceText.ToString()).ToList();

    /// <summary>A driver kept across runs, with the AdditionalText instances it was given.</summary>
    private sealed class Session
    {
        private readonly Dictionary<string, AdditionalText> _texts = new(StringComparer.Ordinal);
        private GeneratorDriver _driver;

        public Session(params string[] paths)
        {
            foreach (string path in paths)
            {
                _texts[path] = new TestAdditionalText(path);
            }

            _driver = CSharpGeneratorDriver.Create(
                new[] { new MobileOneGenerator().AsSourceGenerator() },
                _texts.Values,
                GeneratorHarness.ParseOptions,
                new TestOptionsProvider(),
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

        /// <summary>The file changed on disk: hand the driver a new AdditionalText for it, as the IDE does.</summary>
        public void Replace(string path)
        {
            var fresh = new TestAdditionalText(path);
            _driver = _driver.ReplaceAdditionalText(_texts[path], fresh);
            _texts[path] = fresh;
        }
    }
}
