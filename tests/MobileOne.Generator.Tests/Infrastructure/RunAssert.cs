using System;
using System.Globalization;
using System.Linq;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Text;
using Xunit;

namespace MobileOne.Generator.Tests.Infrastructure;

/// <summary>Checks shared by the generator tests.</summary>
public static class RunAssert
{
    /// <summary>The generator never throws into the compiler: no exception on the run result, no CS8785/AD0001.</summary>
    public static void NoGeneratorException(GeneratorRun run)
    {
        GeneratorRunResult result = Assert.Single(run.Result.Results);
        Assert.Null(result.Exception);
        Assert.DoesNotContain(run.GeneratorDiagnostics, d => d.Id is "CS8784" or "CS8785" or "AD0001");
    }

    /// <summary>No diagnostics at all, and the generated code compiles.</summary>
    public static void Clean(GeneratorRun run)
    {
        NoGeneratorException(run);
        Assert.Empty(run.GeneratorDiagnostics);
        var errors = run.Compilation.GetDiagnostics().Where(d => d.Severity == DiagnosticSeverity.Error).ToList();
        Assert.True(errors.Count == 0, "Generated code does not compile:\n" + string.Join("\n", errors.Take(10)));
    }

    /// <summary>Exactly one diagnostic, as described; no exception; the model generated nothing.</summary>
    public static void SingleError(GeneratorRun run, string id, string path, string messageFragment, int line1 = 1, int column1 = 1)
    {
        NoGeneratorException(run);
        Diagnostic d = Assert.Single(run.GeneratorDiagnostics);
        Error(d, id, path, messageFragment, line1, column1);
        Assert.Empty(run.HintNames);
    }

    /// <summary>One error diagnostic: ID, severity, file, 1-based start line/column, a fragment of the message.</summary>
    public static void Error(Diagnostic d, string id, string path, string messageFragment, int line1 = 1, int column1 = 1)
    {
        string message = d.GetMessage(CultureInfo.InvariantCulture);
        Assert.True(id == d.Id, $"Expected {id}, got {d.Id}: {message}");
        Assert.Equal(DiagnosticSeverity.Error, d.Severity);
        Assert.Equal(LocationKind.ExternalFile, d.Location.Kind);
        FileLinePositionSpan span = d.Location.GetLineSpan();
        Assert.Equal(path, span.Path);
        Assert.Equal(new LinePosition(line1 - 1, column1 - 1), span.StartLinePosition);
        Assert.Contains(messageFragment, message, StringComparison.Ordinal);
    }
}
