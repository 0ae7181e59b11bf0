// A small JSON reader shared by the generator (netstandard2.0) and the runtime (net8.0).
// It keeps the line and column of every value so that errors in a model file can point at them,
// bounds nesting depth, and never allocates more than the text it is given.
using System;
using System.Collections.Generic;
using System.Globalization;
using System.Text;

namespace MobileOne.Formats.Json;

/// <summary>A JSON syntax error with its 1-based line and column.</summary>
internal sealed class JsonParseException : Exception
{
    public JsonParseException(string message, int line, int column)
        : base(message)
    {
        Line = line;
        Column = column;
    }

    public int Line { get; }

    public int Column { get; }
}

internal enum JsonKind
{
    Null,
    Boolean,
    Number,
    String,
    Array,
    Object,
}

/// <summary>A parsed JSON value and where it started (1-based line and column).</summary>
internal sealed class JsonValue
{
    private static readonly List<KeyValuePair<string, JsonValue>> NoMembers = new List<KeyValuePair<string, JsonValue>>();
    private static readonly List<JsonValue> NoItems = new List<JsonValue>();

    private JsonValue(JsonKind kind, int line, int column)
    {
        Kind = kind;
        Line = line;
        Column = column;
        Members = NoMembers;
        Items = NoItems;
        Text = string.Empty;
    }

    public JsonKind Kind { get; }

    public int Line { get; }

    public int Column { get; }

    /// <summary>The string's value, or a number's source text.</summary>
    public string Text { get; private set; }

    public bool Boolean { get; private set; }

    /// <summary>Object members in source order (duplicates are rejected by the parser).</summary>
    public List<KeyValuePair<string, JsonValue>> Members { get; private set; }

    public List<JsonValue> Items { get; private set; }

    public JsonValue? this[string name]
    {
        get
        {
            foreach (var member in Members)
            {
                if (member.Key == name)
                {
                    return member.Value;
                }
            }

            return null;
        }
    }

    public bool TryGetInt64(out long value) =>
        long.TryParse(Text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out value) && Kind == JsonKind.Number;

    public bool TryGetDouble(out double value) =>
        double.TryParse(Text, NumberStyles.Float, CultureInfo.InvariantCulture, out value) && Kind == JsonKind.Number;

    public string KindName => Kind switch
    {
        JsonKind.Null => "null",
        JsonKind.Boolean => "a boolean",
        JsonKind.Number => "a number",
        JsonKind.String => "a string",
        JsonKind.Array => "an array",
        _ => "an object",
    };

    internal static JsonValue Null(int line, int column) => new JsonValue(JsonKind.Null, line, column);

    internal static JsonValue Bool(bool value, int line, int column) => new JsonValue(JsonKind.Boolean, line, column) { Boolean = value };

    internal static JsonValue Number(string text, int line, int column) => new JsonValue(JsonKind.Number, line, column) { Text = text };

    internal static JsonValue String(string text, int line, int column) => new JsonValue(JsonKind.String, line, column) { Text = text };

    internal static JsonValue Array(List<JsonValue> items, int line, int column) => new JsonValue(JsonKind.Array, line, column) { Items = items };

    internal static JsonValue Object(List<KeyValuePair<string, JsonValue>> members, int line, int column) => new JsonValue(JsonKind.Object, line, column) { Members = members };
}

/// <summary>Parses RFC 8259 JSON text into <see cref="JsonValue"/> trees.</summary>
internal static class JsonReader
{
    /// <summary>Deepest nesting accepted; deeper input is an error, never a stack overflow.</summary>
    public const int MaxDepth = 64;

    public static JsonValue Parse(string text)
    {
        var parser = new Parser(text);
        parser.SkipWhitespace();
        JsonValue value = parser.ParseValue(0);
        parser.SkipWhitespace();
        if (!parser.AtEnd)
        {
            throw parser.Error("Unexpected text after the end of the JSON value");
        }

        return value;
    }

    private sealed class Parser
    {
        private readonly string _text;
        private int _pos;
        private int _line = 1;
        private int _lineStart;

        public Parser(string text)
        {
            _text = text;
            // A UTF-8 byte order mark decoded into the string is not part of the JSON.
            if (_text.Length > 0 && _text[0] == '\uFEFF')
            {
                _pos = 1;
                _lineStart = 1;
            }
        }

        public bool AtEnd => _pos >= _text.Length;

        private int Column => _pos - _lineStart + 1;

        public JsonParseException Error(string message) => new JsonParseException(message, _line, Column);

        public void SkipWhitespace()
        {
            while (_pos < _text.Length)
            {
                char c = _text[_pos];
                if (c == '\n')
                {
                    _pos++;
                    _line++;
                    _lineStart = _pos;
                }
                else if (c == ' ' || c == '\t' || c == '\r')
                {
                    _pos++;
                }
                else
                {
                    break;
                }
            }
        }

        public JsonValue ParseValue(int depth)
        {
            if (depth > MaxDepth)
            {
                throw Error($"JSON nested deeper than {MaxDepth} levels");
            }

            if (AtEnd)
            {
                throw Error("Unexpected end of JSON");
            }

            int line = _line, column = Column;
            char c = _text[_pos];
            switch (c)
            {
                case '{':
                    return ParseObject(depth, line, column);
                case '[':
                    return ParseArray(depth, line, column);
                case '"':
                    return JsonValue.String(ParseString(), line, column);
                case 't':
                    ExpectWord("true");
                    return JsonValue.Bool(true, line, column);
                case 'f':
                    ExpectWord("false");
                    return JsonValue.Bool(false, line, column);
                case 'n':
                    ExpectWord("null");
                    return JsonValue.Null(line, column);
                default:
                    if (c == '-' || (c >= '0' && c <= '9'))
                    {
                        return JsonValue.Number(ParseNumber(), line, column);
                    }

                    throw Error($"Unexpected character '{Printable(c)}'");
            }
        }

        private JsonValue ParseObject(int depth, int line, int column)
        {
            _pos++; // {
            var members = new List<KeyValuePair<string, JsonValue>>();
            HashSet<string>? seen = null;
            SkipWhitespace();
            if (!AtEnd && _text[_pos] == '}')
            {
                _pos++;
                return JsonValue.Object(members, line, column);
            }

            while (true)
            {
                SkipWhitespace();
                if (AtEnd || _text[_pos] != '"')
                {
                    throw Error(AtEnd ? "Unexpected end of JSON inside an object" : "Expected a property name in double quotes");
                }

                int keyLine = _line, keyColumn = Column;
                string key = ParseString();
                seen ??= new HashSet<string>(StringComparer.Ordinal);
                if (!seen.Add(key))
                {
                    throw new JsonParseException($"Duplicate property '{key}'", keyLine, keyColumn);
                }

                SkipWhitespace();
                Expect(':');
                SkipWhitespace();
                members.Add(new KeyValuePair<string, JsonValue>(key, ParseValue(depth + 1)));
                SkipWhitespace();
                if (AtEnd)
                {
                    throw Error("Unexpected end of JSON inside an object");
                }

                char c = _text[_pos++];
                if (c == '}')
                {
                    return JsonValue.Object(members, line, column);
                }

                if (c != ',')
                {
                    _pos--;
                    throw Error($"Expected ',' or '}}' but found '{Printable(c)}'");
                }
            }
        }

        private JsonValue ParseArray(int depth, int line, int column)
        {
            _pos++; // [
            var items = new List<JsonValue>();
            SkipWhitespace();
            if (!AtEnd && _text[_pos] == ']')
            {
                _pos++;
                return JsonValue.Array(items, line, column);
            }

            while (true)
            {
                SkipWhitespace();
                items.Add(ParseValue(depth + 1));
                SkipWhitespace();
                if (AtEnd)
                {
                    throw Error("Unexpected end of JSON inside an array");
                }

                char c = _text[_pos++];
                if (c == ']')
                {
                    return JsonValue.Array(items, line, column);
                }

                if (c != ',')
                {
                    _pos--;
                    throw Error($"Expected ',' or ']' but found '{Printable(c)}'");
                }
            }
        }

        private string ParseString()
        {
            _pos++; // opening quote
            StringBuilder? sb = null;
            int runStart = _pos;
            while (true)
            {
                if (AtEnd)
                {
                    throw Error("Unterminated string");
                }

                char c = _text[_pos];
                if (c == '"')
                {
                    string result = sb == null
                        ? _text.Substring(runStart, _pos - runStart)
                        : sb.Append(_text, runStart, _pos - runStart).ToString();
                    _pos++;
                    return result;
                }

                if (c < ' ')
                {
                    throw Error("Control character in string");
                }

                if (c != '\\')
                {
                    _pos++;
                    continue;
                }

                sb ??= new StringBuilder();
                sb.Append(_text, runStart, _pos - runStart);
                _pos++;
                if (AtEnd)
                {
                    throw Error("Unterminated string");
                }

                char e = _text[_pos++];
                switch (e)
                {
                    case '"': sb.Append('"'); break;
                    case '\\': sb.Append('\\'); break;
                    case '/': sb.Append('/'); break;
                    case 'b': sb.Append('\b'); break;
                    case 'f': sb.Append('\f'); break;
                    case 'n': sb.Append('\n'); break;
                    case 'r': sb.Append('\r'); break;
                    case 't': sb.Append('\t'); break;
                    case 'u':
                        if (_pos + 4 > _text.Length)
                        {
                            throw Error("Truncated \\u escape");
                        }

                        int code = 0;
                        for (int i = 0; i < 4; i++)
                        {
                            int digit = HexValue(_text[_pos + i]);
                            if (digit < 0)
                            {
                                throw Error("Invalid \\u escape");
                            }

                            code = (code << 4) | digit;
                        }

                        _pos += 4;
                        sb.Append((char)code);
                        break;
                    default:
                        _pos--;
                        throw Error($"Invalid escape '\\{Printable(e)}'");
                }

                runStart = _pos;
            }
        }

        private string ParseNumber()
        {
            int start = _pos;
            if (_text[_pos] == '-')
            {
                _pos++;
            }

            if (AtEnd || !IsDigit(_text[_pos]))
            {
                throw Error("Invalid number");
            }

            if (_text[_pos] == '0')
            {
                _pos++;
            }
            else
            {
                SkipDigits();
            }

            if (!AtEnd && _text[_pos] == '.')
            {
                _pos++;
                if (AtEnd || !IsDigit(_text[_pos]))
                {
                    throw Error("Invalid number: digits expected after '.'");
                }

                SkipDigits();
            }

            if (!AtEnd && (_text[_pos] == 'e' || _text[_pos] == 'E'))
            {
                _pos++;
                if (!AtEnd && (_text[_pos] == '+' || _text[_pos] == '-'))
                {
                    _pos++;
                }

                if (AtEnd || !IsDigit(_text[_pos]))
                {
                    throw Error("Invalid number: digits expected in the exponent");
                }

                SkipDigits();
            }

            return _text.Substring(start, _pos - start);
        }

        private void SkipDigits()
        {
            while (!AtEnd && IsDigit(_text[_pos]))
            {
                _pos++;
            }
        }

        private void ExpectWord(string word)
        {
            if (string.CompareOrdinal(_text, _pos, word, 0, word.Length) != 0)
            {
                throw Error($"Unexpected character '{Printable(_text[_pos])}'");
            }

            _pos += word.Length;
        }

        private void Expect(char c)
        {
            if (AtEnd)
            {
                throw Error($"Expected '{c}' but the JSON ended");
            }

            if (_text[_pos] != c)
            {
                throw Error($"Expected '{c}' but found '{Printable(_text[_pos])}'");
            }

            _pos++;
        }

        private static bool IsDigit(char c) => c >= '0' && c <= '9';

        private static int HexValue(char c) =>
            c >= '0' && c <= '9' ? c - '0' :
            c >= 'a' && c <= 'f' ? c - 'a' + 10 :
            c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;

        private static string Printable(char c) =>
            c < ' ' || c > '~' ? "\\u" + ((int)c).ToString("X4", CultureInfo.InvariantCulture) : c.ToString();
    }
}
