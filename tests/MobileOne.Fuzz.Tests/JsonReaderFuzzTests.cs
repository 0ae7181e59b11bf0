using System;
using System.Collections.Generic;
using System.Linq;
using System.Text;
using MobileOne.Formats.Json;
using MobileOne.Fuzz.Tests.Infrastructure;
using Xunit;
using Xunit.Abstractions;

namespace MobileOne.Fuzz.Tests;

/// <summary>
/// Target (b): <c>JsonReader.Parse</c> on mutated architecture JSON and safetensors header JSON. Every input ends in a
/// value or a <c>JsonParseException</c> with a line and column inside the text; the tree never nests deeper than
/// <c>MaxDepth</c>; allocation stays a small multiple of the text.
/// </summary>
public class JsonReaderFuzzTests
{
    /// <summary>Bytes one parse may allocate: the tree is at most ~60 bytes per input character.</summary>
    public static long Budget(long inputLength) => (96 * inputLength) + (16 * 1024);

    private readonly ITestOutputHelper _output;

    public JsonReaderFuzzTests(ITestOutputHelper output) => _output = output;

    [Fact]
    public void MutatedArchitectureAndHeaderJson()
    {
        var texts = Seeds.ArchitectureTexts().Select(t => Encoding.UTF8.GetBytes(t)).ToList();
        texts.AddRange(Seeds.Tiny.Take(4).Concat(Seeds.S0.Take(1)).Select(s => s.HeaderBytes));
        texts.Add(Encoding.UTF8.GetBytes("[" + new string('[', 60) + new string(']', 60) + "]"));
        var mutator = new Mutator(FuzzOptions.Seed(3), texts, safetensors: false);
        var inputs = mutator.Take(FuzzOptions.Iterations()).Select(b => b);
        FuzzStats stats = FuzzRunner.Run("json", inputs, input => Parse(Encoding.UTF8.GetString(input)), n => Budget(2 * n), _output);
        Assert.True(stats["ok"] > 0 && stats["JsonParseException"] > 0, stats.ToString());
    }

    public static string Parse(string text)
    {
        try
        {
            JsonValue value = JsonReader.Parse(text);
            int depth = Depth(value, 0);
            if (depth > JsonReader.MaxDepth + 1)
            {
                throw new FuzzFailure($"a tree {depth} levels deep was accepted");
            }

            return "ok";
        }
        catch (JsonParseException e)
        {
            int lines = text.Count(c => c == '\n') + 1;
            if (e.Line < 1 || e.Line > lines || e.Column < 1 || e.Column > text.Length + 1)
            {
                throw new FuzzFailure($"error located at line {e.Line}, column {e.Column} of a {lines}-line, {text.Length}-character text: {e.Message}");
            }

            return "JsonParseException";
        }
    }

    private static int Depth(JsonValue v, int depth) => v.Kind switch
    {
        JsonKind.Array => v.Items.Count == 0 ? depth + 1 : v.Items.Max(i => Depth(i, depth + 1)),
        JsonKind.Object => v.Members.Count == 0 ? depth + 1 : v.Members.Max(m => Depth(m.Value, depth + 1)),
        _ => depth + 1,
    };
}
