using System.Collections.Generic;
using System.Globalization;
using Microsoft.CodeAnalysis;
using MobileOne.Generator.Model;
using MobileOne.Model;

namespace MobileOne.Generator;

/// <summary>
/// Reads the architecture JSON (docs/architecture-json.md) of a <c>.mobileone.json</c> file or of the safetensors
/// metadata key <c>mobileone.architecture</c> with the shared <see cref="ArchitectureJson"/> reader, and turns each
/// of its errors into a diagnostic: in a file, located at the offending value's line and column; in the metadata,
/// with the line and column in the message.
/// </summary>
internal static class ArchitectureJsonReader
{
    /// <param name="text">The JSON.</param>
    /// <param name="path">File the diagnostics point at.</param>
    /// <param name="displayName">How messages name the source.</param>
    /// <param name="inFile">True when the JSON is the file's text, so line and column locate the diagnostic;
    /// false when it is embedded (safetensors metadata), so they go into the message instead.</param>
    /// <param name="diagnostics">Receives one diagnostic per error.</param>
    /// <returns>The architecture, or null after reporting at least one error.</returns>
    public static ArchitectureDocument? Read(string text, string path, string displayName, bool inFile, List<DiagnosticInfo> diagnostics)
    {
        var errors = new List<ArchitectureJsonError>();
        ArchitectureDocument? document = ArchitectureJson.Read(text, errors);
        foreach (ArchitectureJsonError error in errors)
        {
            DiagnosticDescriptor descriptor = error.Kind switch
            {
                ArchitectureJsonErrorKind.Syntax => DiagnosticDescriptors.InvalidArchitectureJson,
                ArchitectureJsonErrorKind.UnknownVariant => DiagnosticDescriptors.UnknownVariant,
                _ => DiagnosticDescriptors.InvalidArchitecture,
            };
            if (inFile)
            {
                diagnostics.Add(DiagnosticInfo.At(descriptor, path, error.Line, error.Column, displayName, error.Message));
            }
            else
            {
                // MO0005's message is the variant name alone, quoted by the descriptor: no position to add.
                string where = string.Format(CultureInfo.InvariantCulture, " (in __metadata__ '{0}', line {1}, column {2})", ArchitectureJson.MetadataKey, error.Line, error.Column);
                diagnostics.Add(DiagnosticInfo.Create(descriptor, path, displayName, error.Kind == ArchitectureJsonErrorKind.UnknownVariant ? error.Message : error.Message + where));
            }
        }

        return errors.Count == 0 ? document : null;
    }
}
