using System.Linq;
using Microsoft.CodeAnalysis;
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
}
