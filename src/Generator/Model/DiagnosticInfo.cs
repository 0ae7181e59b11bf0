using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Text;
using MobileOne.Generator.Helpers;

namespace MobileOne.Generator.Model;

/// <summary>A diagnostic as a value: descriptor ID, file, 0-based line and column, message arguments.</summary>
internal sealed record DiagnosticInfo(string Id, string FilePath, int Line, int Column, EquatableArray<string> Arguments)
{
    public static DiagnosticInfo Create(DiagnosticDescriptor descriptor, string filePath, params string[] arguments) =>
        new DiagnosticInfo(descriptor.Id, filePath, 0, 0, new EquatableArray<string>(arguments));

    /// <summary>A diagnostic at a 1-based line and column of a text file (as JSON errors report them).</summary>
    public static DiagnosticInfo At(DiagnosticDescriptor descriptor, string filePath, int line1, int column1, params string[] arguments) =>
        new DiagnosticInfo(descriptor.Id, filePath, line1 > 0 ? line1 - 1 : 0, column1 > 0 ? column1 - 1 : 0, new EquatableArray<string>(arguments));

    public Diagnostic ToDiagnostic()
    {
        var position = new LinePosition(Line, Column);
        Location location = Location.Create(FilePath, default(TextSpan), new LinePositionSpan(position, position));
        object[] args = new object[Arguments.Count];
        for (int i = 0; i < args.Length; i++)
        {
            args[i] = Arguments[i];
        }

        return Diagnostic.Create(DiagnosticDescriptors.Get(Id), location, args);
    }
}
