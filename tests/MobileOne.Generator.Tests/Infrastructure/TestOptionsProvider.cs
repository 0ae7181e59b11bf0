using System.Collections.Generic;
using System.Diagnostics.CodeAnalysis;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Diagnostics;

namespace MobileOne.Generator.Tests.Infrastructure;

/// <summary>Item metadata (build_metadata.AdditionalFiles.*) and build properties, as MSBuild would pass them.</summary>
public sealed class TestOptionsProvider : AnalyzerConfigOptionsProvider
{
    private readonly Dictionary<string, Dictionary<string, string>> _perFile;

    public TestOptionsProvider(Dictionary<string, Dictionary<string, string>>? perFile = null, Dictionary<string, string>? global = null)
    {
        _perFile = perFile ?? new();
        GlobalOptions = new Options(global ?? new Dictionary<string, string> { ["build_property.RootNamespace"] = "TestApp" });
    }

    public override AnalyzerConfigOptions GlobalOptions { get; }

    public override AnalyzerConfigOptions GetOptions(SyntaxTree tree) => new Options(new());

    public override AnalyzerConfigOptions GetOptions(AdditionalText textFile)
    {
        var values = new Dictionary<string, string>();
        if (_perFile.TryGetValue(textFile.Path, out var metadata))
        {
            foreach (var pair in metadata)
            {
                values["build_metadata.AdditionalFiles." + pair.Key] = pair.Value;
            }
        }

        return new Options(values);
    }

    private sealed class Options : AnalyzerConfigOptions
    {
        private readonly Dictionary<string, string> _values;

        public Options(Dictionary<string, string> values) => _values = values;

        public override bool TryGetValue(string key, [NotNullWhen(true)] out string? value) => _values.TryGetValue(key, out value);
    }
}
