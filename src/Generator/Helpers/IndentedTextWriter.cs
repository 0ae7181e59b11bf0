using System;
using System.Globalization;
using System.Text;

namespace MobileOne.Generator.Helpers
{
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

        /// <summary>Writes a line formatted with the invariant culture.</summary>
        public void WriteLine(FormattableString line) => WriteLine(line.ToString(CultureInfo.InvariantCulture));

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
}
