using System;
using System.Globalization;
using System.Text;

namespace MobileOne.Generator.Helpers;

/// <summary>Writes indented C#; <see cref="WriteBlock"/> opens a brace block closed on dispose.</summary>
internal sealed class IndentedTextWriter
{
    private const string IndentUnit = "    ";
    private readonly StringBuilder _builder = new StringBuilder();
    private int _indent;

    public void WriteLine(string line = "")
    {
        if (line.Length > 0)
        {
            for (int i = 0; i < _indent; i++)
            {
                _builder.Append(IndentUnit);
            }

            _builder.Append(line);
        }

        _builder.Append('\n');
    }

    /// <summary>
    /// Writes an interpolated line with every value formatted in the invariant culture. C# picks this overload
    /// over <see cref="WriteLine(string)"/> for any non-constant interpolated string.
    /// </summary>
    public void WriteLine([System.Runtime.CompilerServices.InterpolatedStringHandlerArgument("")] ref InvariantHandler line) => WriteLine(line.ToStringAndClear());

    public Block WriteBlock(string? header = null)
    {
        if (header != null)
        {
            WriteLine(header);
        }

        WriteLine("{");
        _indent++;
        return new Block(this);
    }

    public void Indent() => _indent++;

    public void Unindent() => _indent--;

    public override string ToString() => _builder.ToString();

    /// <summary>Formats interpolation holes with <see cref="CultureInfo.InvariantCulture"/>.</summary>
    [System.Runtime.CompilerServices.InterpolatedStringHandler]
    internal ref struct InvariantHandler
    {
        private readonly StringBuilder _sb;

        public InvariantHandler(int literalLength, int formattedCount, IndentedTextWriter writer)
        {
            _ = writer;
            _sb = new StringBuilder(literalLength + (formattedCount * 8));
        }

        public void AppendLiteral(string value) => _sb.Append(value);

        public void AppendFormatted<T>(T value) => AppendFormatted(value, 0, null);

        public void AppendFormatted<T>(T value, string? format) => AppendFormatted(value, 0, format);

        public void AppendFormatted<T>(T value, int alignment) => AppendFormatted(value, alignment, null);

        public void AppendFormatted<T>(T value, int alignment, string? format)
        {
            string text = value is IFormattable f ? f.ToString(format, CultureInfo.InvariantCulture) : value?.ToString() ?? string.Empty;
            if (alignment > 0)
            {
                _sb.Append(' ', Math.Max(0, alignment - text.Length)).Append(text);
            }
            else
            {
                _sb.Append(text).Append(' ', Math.Max(0, -alignment - text.Length));
            }
        }

        public string ToStringAndClear() => _sb.ToString();
    }

    internal readonly struct Block : IDisposable
    {
        private readonly IndentedTextWriter _writer;

        public Block(IndentedTextWriter writer)
        {
            _writer = writer;
        }

        public void Dispose()
        {
            _writer._indent--;
            _writer.WriteLine("}");
        }
    }
}
