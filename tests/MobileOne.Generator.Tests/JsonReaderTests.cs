using System;
using System.Linq;
using MobileOne.Generator.Tests.Infrastructure;
using Xunit;

namespace MobileOne.Generator.Tests;

/// <summary>The shared JSON reader (src/Shared/Json), as compiled into the generator.</summary>
public class JsonReaderTests
{
    [Fact]
    public void ValuesKeepTheirOneBasedLineAndColumn()
    {
        JsonNode root = SharedJson.Parse("{\n  \"a\": [1, true],\n\t\"b\": {\"c\": null},\n  \"d\": \"x\"\n}");
        Assert.Equal("Object", root.Kind);
        Assert.Equal((1, 1), (root.Line, root.Column));
        Assert.Equal(new[] { "a", "b", "d" }, root.Members.Select(m => m.Key));

        JsonNode a = root["a"]!;
        Assert.Equal(("Array", 2, 8), (a.Kind, a.Line, a.Column));
        Assert.Equal(("Number", 2, 9), (a.Items[0].Kind, a.Items[0].Line, a.Items[0].Column));
        Assert.Equal(("Boolean", 2, 12), (a.Items[1].Kind, a.Items[1].Line, a.Items[1].Column));
        Assert.True(a.Items[1].Boolean);

        // A tab counts as one column.
        JsonNode b = root["b"]!;
        Assert.Equal((3, 7), (b.Line, b.Column));
        Assert.Equal(("Null", 3, 13), (b["c"]!.Kind, b["c"]!.Line, b["c"]!.Column));
        Assert.Equal(("String", 4, 8, "x"), (root["d"]!.Kind, root["d"]!.Line, root["d"]!.Column, root["d"]!.Text));
        Assert.Null(root["missing"]);
    }

    [Fact]
    public void CarriageReturnsDoNotStartLines()
    {
        JsonNode root = SharedJson.Parse("{\r\n\"a\":\r\n  1}");
        Assert.Equal((3, 3), (root["a"]!.Line, root["a"]!.Column));
    }

    [Fact]
    public void ByteOrderMarkIsSkippedAndNotCounted()
    {
        JsonNode root = SharedJson.Parse("\uFEFF{\"a\": 1}");
        Assert.Equal((1, 1), (root.Line, root.Column));
        Assert.Equal((1, 7), (root["a"]!.Line, root["a"]!.Column));
    }

    [Theory]
    [InlineData("\"plain\"", "plain")]
    [InlineData("\"q\\\"b\\\\s\\/\"", "q\"b\\s/")]
    [InlineData("\"\\b\\f\\n\\r\\t\"", "\b\f\n\r\t")]
    [InlineData("\"\\u00e9\\u00C9\\u2212\"", "éÉ\u2212")]
    [InlineData("\"\\ud83d\\ude00\"", "\U0001F600")]
    [InlineData("\"caf\u00e9 \u2603\"", "café \u2603")]
    public void StringEscapes(string json, string expected)
    {
        JsonNode value = SharedJson.Parse(json);
        Assert.Equal("String", value.Kind);
        Assert.Equal(expected, value.Text);
    }

    [Theory]
    [InlineData("0", 0L)]
    [InlineData("-12", -12L)]
    [InlineData("9223372036854775807", long.MaxValue)]
    public void Integers(string json, long expected)
    {
        JsonNode value = SharedJson.Parse(json);
        Assert.True(value.TryGetInt64(out long n));
        Assert.Equal(expected, n);
        Assert.Equal(json, value.Text);
    }

    [Theory]
    [InlineData("1.5", 1.5)]
    [InlineData("-0.485", -0.485)]
    [InlineData("1e-3", 0.001)]
    [InlineData("2.5E+2", 250.0)]
    public void FractionalNumbersAreDoublesNotIntegers(string json, double expected)
    {
        JsonNode value = SharedJson.Parse(json);
        Assert.False(value.TryGetInt64(out _));
        Assert.True(value.TryGetDouble(out double d));
        Assert.Equal(expected, d);
    }

    [Fact]
    public void StringsAreNotNumbers()
    {
        JsonNode value = SharedJson.Parse("\"12\"");
        Assert.False(value.TryGetInt64(out _));
        Assert.False(value.TryGetDouble(out _));
    }

    [Theory]
    [InlineData("", "Unexpected end of JSON", 1, 1)]
    [InlineData("   ", "Unexpected end of JSON", 1, 4)]
    [InlineData("{\"a\": 1} x", "Unexpected text after the end of the JSON value", 1, 10)]
    [InlineData("[1, 2]\n\n  ]", "Unexpected text after the end of the JSON value", 3, 3)]
    [InlineData("{\"a\": 1, \"a\": 2}", "Duplicate property 'a'", 1, 10)]
    [InlineData("{\n  \"k\": 1,\n  \"k\": 2\n}", "Duplicate property 'k'", 3, 3)]
    [InlineData("{\"a\": 1,}", "Expected a property name in double quotes", 1, 9)]
    [InlineData("{a: 1}", "Expected a property name in double quotes", 1, 2)]
    [InlineData("{\"a\" 1}", "Expected ':' but found '1'", 1, 6)]
    [InlineData("{\"a\": 1", "Unexpected end of JSON inside an object", 1, 8)]
    [InlineData("[1 2]", "Expected ',' or ']' but found '2'", 1, 4)]
    [InlineData("[1,]", "Unexpected character ']'", 1, 4)]
    [InlineData("\"abc", "Unterminated string", 1, 5)]
    [InlineData("\"a\\x\"", "Invalid escape '\\x'", 1, 4)]
    [InlineData("\"\\u12G4\"", "Invalid \\u escape", 1, 4)]
    [InlineData("\"\\u12", "Truncated \\u escape", 1, 4)]
    [InlineData("\"a\tb\"", "Control character in string", 1, 3)]
    [InlineData("01", "Unexpected text after the end of the JSON value", 1, 2)]
    [InlineData("-", "Invalid number", 1, 2)]
    [InlineData("1.", "Invalid number: digits expected after '.'", 1, 3)]
    [InlineData("1e+", "Invalid number: digits expected in the exponent", 1, 4)]
    [InlineData("tru", "Unexpected character 't'", 1, 1)]
    [InlineData("NaN", "Unexpected character 'N'", 1, 1)]
    [InlineData("\u00e9", "Unexpected character '\\u00E9'", 1, 1)]
    public void SyntaxErrorsCarryLineAndColumn(string json, string message, int line, int column)
    {
        JsonError e = Assert.Throws<JsonError>(() => SharedJson.Parse(json));
        Assert.Equal(message, e.Message);
        Assert.Equal((line, column), (e.Line, e.Column));
    }

    [Fact]
    public void NestingUpToTheLimitIsAccepted()
    {
        int depth = SharedJson.MaxDepth;
        Assert.Equal(64, depth);
        JsonNode value = SharedJson.Parse(new string('[', depth + 1) + new string(']', depth + 1));
        for (int i = 0; i < depth; i++)
        {
            value = Assert.Single(value.Items);
        }

        Assert.Empty(value.Items);
    }

    [Theory]
    [InlineData(66)]
    [InlineData(100_000)]
    public void DeeperNestingIsAnErrorNotAStackOverflow(int depth)
    {
        string json = string.Concat(Enumerable.Repeat("{\"a\":[", depth)) + "1";
        JsonError e = Assert.Throws<JsonError>(() => SharedJson.Parse(json));
        Assert.Equal("JSON nested deeper than 64 levels", e.Message);
        Assert.Equal(1, e.Line);
        Assert.Equal((6 * 32) + 6, e.Column); // the 66th value (depth 65) is the 33rd '['
    }
}
