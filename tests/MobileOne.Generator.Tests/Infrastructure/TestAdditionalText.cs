using System;
using System.IO;
using System.Threading;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Text;

namespace MobileOne.Generator.Tests.Infrastructure;

/// <summary>
/// An AdditionalFile backed by a file on disk. For binary files GetText throws, so any test proves the
/// generator never asks the compiler to decode weights as text (CS2015 in a real build).
/// </summary>
public sealed class TestAdditionalText : AdditionalText
{
    private readonly string? _text;

    public TestAdditionalText(string path, string? text = null)
    {
        Path = path;
        _text = text;
    }

    public override string Path { get; }

    public override SourceText? GetText(CancellationToken cancellationToken = default)
    {
        if (Path.EndsWith(".safetensors", StringComparison.OrdinalIgnoreCase))
        {
            throw new InvalidOperationException("The generator called GetText() on a binary weight file: " + Path);
        }

        return SourceText.From(_text ?? File.ReadAllText(Path));
    }
}
