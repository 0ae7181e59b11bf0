using System.Globalization;
using System.Text;

namespace MobileOne.Generator.Helpers;

/// <summary>Culture-proof C# literals.</summary>
internal static class Literals
{
    public static string Float(float value)
    {
        if (float.IsNaN(value))
        {
            return "float.NaN";
        }

        if (float.IsPositiveInfinity(value))
        {
            return "float.PositiveInfinity";
        }

        if (float.IsNegativeInfinity(value))
        {
            return "float.NegativeInfinity";
        }

        if (value == 0 && System.BitConverter.DoubleToInt64Bits(value) < 0)
        {
            return "-0f";
        }

        return value.ToString("R", CultureInfo.InvariantCulture) + "f";
    }

    public static string Int(long value) => value.ToString(CultureInfo.InvariantCulture);

    public static string String(string value)
    {
        var sb = new StringBuilder(value.Length + 2);
        sb.Append('"');
        foreach (char c in value)
        {
            switch (c)
            {
                case '"': sb.Append("\\\""); break;
                case '\\': sb.Append("\\\\"); break;
                case '\n': sb.Append("\\n"); break;
                case '\r': sb.Append("\\r"); break;
                case '\t': sb.Append("\\t"); break;
                case '\0': sb.Append("\\0"); break;
                default:
                    if (c < ' ' || c == '\u2028' || c == '\u2029' || c == '\u0085')
                    {
                        sb.Append("\\u").Append(((int)c).ToString("X4", CultureInfo.InvariantCulture));
                    }
                    else
                    {
                        sb.Append(c);
                    }

                    break;
            }
        }

        return sb.Append('"').ToString();
    }

    /// <summary>Text safe inside a // comment or an XML doc comment line.</summary>
    public static string CommentText(string value)
    {
        var sb = new StringBuilder(value.Length);
        foreach (char c in value)
        {
            switch (c)
            {
                case '<': sb.Append("&lt;"); break;
                case '>': sb.Append("&gt;"); break;
                case '&': sb.Append("&amp;"); break;
                default: sb.Append(c < ' ' || c == '\u2028' || c == '\u2029' || c == '\u0085' ? ' ' : c); break;
            }
        }

        return sb.ToString();
    }
}
