using System;
using System.Collections.Generic;
using System.Globalization;
using System.Text;
using MobileOne.Formats.Json;

namespace MobileOne.Model;

/// <summary>
/// What an architecture JSON (docs/architecture-json.md) says: every field may be absent (null) until a source sets it;
/// a <c>variant</c> fills the structure from <see cref="Presets"/>. The generator completes it from the tensor shapes.
/// </summary>
internal sealed class ArchitectureDocument
{
    public string? Variant { get; set; }

    public int? InputChannels { get; set; }

    public int? InputHeight { get; set; }

    public int? InputWidth { get; set; }

    public int? StemChannels { get; set; }

    public int[]? StageChannels { get; set; }

    public int[]? StageBlocks { get; set; }

    public int[]? SeBlocks { get; set; }

    public int? NumClasses { get; set; }

    public float[]? Mean { get; set; }

    public float[]? Std { get; set; }

    public float? CropPct { get; set; }

    public string[]? Labels { get; set; }

    /// <summary>
    /// Whether an architecture file without weights describes a quantized network (docs/quantization.md): the class
    /// then binds a quantized file at run time. A quantized weight file says so itself (its <c>mobileone.quantization</c> metadata).
    /// </summary>
    public bool? Int8 { get; set; }

    /// <summary>Whether every structural field is set.</summary>
    public bool IsComplete =>
        InputChannels.HasValue && InputHeight.HasValue && InputWidth.HasValue && StemChannels.HasValue
        && StageChannels != null && StageBlocks != null && SeBlocks != null && NumClasses.HasValue;

    /// <summary>The document of a structure (all structural fields set; <see cref="Variant"/> "s0".."s4" or null).</summary>
    public static ArchitectureDocument FromShape(NetworkShape shape)
    {
        string variant = shape.Variant;
        return new ArchitectureDocument
        {
            Variant = variant == "custom" ? null : variant,
            InputChannels = shape.InputChannels,
            InputHeight = shape.InputHeight,
            InputWidth = shape.InputWidth,
            StemChannels = shape.StemChannels,
            StageChannels = ToArray(shape.StageChannels),
            StageBlocks = ToArray(shape.StageBlocks),
            SeBlocks = ToArray(shape.SeBlocks),
            NumClasses = shape.NumClasses,
        };
    }

    /// <summary>The structure, once <see cref="IsComplete"/>; SE widths are the defaults unless given.</summary>
    public NetworkShape ToShape(IReadOnlyDictionary<string, int>? seReduced = null) =>
        IsComplete
            ? new NetworkShape(InputChannels!.Value, InputHeight!.Value, InputWidth!.Value, StemChannels!.Value, StageChannels!, StageBlocks!, SeBlocks!, NumClasses!.Value, seReduced)
            : throw new InvalidOperationException("The architecture is incomplete.");

    private static int[] ToArray(IReadOnlyList<int> values)
    {
        var a = new int[values.Count];
        for (int i = 0; i < a.Length; i++)
        {
            a[i] = values[i];
        }

        return a;
    }
}

/// <summary>Which kind of mistake an <see cref="ArchitectureJsonError"/> is.</summary>
internal enum ArchitectureJsonErrorKind
{
    /// <summary>Not JSON at all.</summary>
    Syntax,

    /// <summary>JSON, but a value is missing, of the wrong type or out of range, or a property is unknown.</summary>
    Invalid,

    /// <summary>A <c>variant</c> that is not s0..s4 (the message is the name).</summary>
    UnknownVariant,
}

/// <summary>A mistake in an architecture JSON and where it is (1-based line and column of the offending value).</summary>
internal readonly struct ArchitectureJsonError
{
    public ArchitectureJsonError(ArchitectureJsonErrorKind kind, int line, int column, string message)
    {
        Kind = kind;
        Line = line;
        Column = column;
        Message = message;
    }

    public ArchitectureJsonErrorKind Kind { get; }

    public int Line { get; }

    public int Column { get; }

    public string Message { get; }
}

/// <summary>
/// The architecture JSON's one reader and one writer (docs/architecture-json.md). The reader checks every value
/// against the limits of <see cref="NetworkShape"/> and reports each mistake with its position; the writer emits
/// the form <c>mobileone fuse</c> stores under <c>__metadata__["mobileone.architecture"]</c>.
/// </summary>
internal static class ArchitectureJson
{
    /// <summary>The safetensors <c>__metadata__</c> key that may hold the architecture JSON.</summary>
    public const string MetadataKey = "mobileone.architecture";

    /// <summary>The properties the schema knows.</summary>
    public static readonly string[] KnownProperties =
    {
        "$schema", "description", "variant", "inputChannels", "inputSize", "inputHeight", "inputWidth",
        "stemChannels", "stageChannels", "stageBlocks", "seBlocks", "numClasses", "mean", "std", "cropPct", "labels", "int8",
    };

    /// <summary>Reads <paramref name="text"/>; returns null after adding at least one error to <paramref name="errors"/>.</summary>
    public static ArchitectureDocument? Read(string text, List<ArchitectureJsonError> errors)
    {
        JsonValue root;
        try
        {
            root = JsonReader.Parse(text);
        }
        catch (JsonParseException e)
        {
            errors.Add(new ArchitectureJsonError(ArchitectureJsonErrorKind.Syntax, e.Line, e.Column, e.Message));
            return null;
        }

        return new Reader(errors).Read(root);
    }

    /// <summary>
    /// The JSON of <paramref name="shape"/>: every structural field, the input size and, for a published variant, its
    /// name; optionally the normalisation (<paramref name="mean"/> and <paramref name="std"/> together) and the labels.
    /// </summary>
    public static string Write(NetworkShape shape, IReadOnlyList<float>? mean = null, IReadOnlyList<float>? std = null, IReadOnlyList<string>? labels = null)
    {
        var sb = new StringBuilder("{");
        string variant = shape.Variant;
        if (variant != "custom")
        {
            sb.Append("\"variant\": \"").Append(variant).Append("\", ");
        }

        sb.Append("\"inputChannels\": ").Append(Text(shape.InputChannels))
          .Append(", \"inputSize\": [").Append(Text(shape.InputHeight)).Append(", ").Append(Text(shape.InputWidth)).Append("], ")
          .Append("\"stemChannels\": ").Append(Text(shape.StemChannels))
          .Append(", \"stageChannels\": [").Append(Join(shape.StageChannels))
          .Append("], \"stageBlocks\": [").Append(Join(shape.StageBlocks))
          .Append("], \"seBlocks\": [").Append(Join(shape.SeBlocks))
          .Append("], \"numClasses\": ").Append(Text(shape.NumClasses));
        if (mean != null && std != null)
        {
            sb.Append(", \"mean\": [").Append(Join(mean)).Append("], \"std\": [").Append(Join(std)).Append(']');
        }

        if (labels != null)
        {
            sb.Append(", \"labels\": [");
            for (int i = 0; i < labels.Count; i++)
            {
                sb.Append(i == 0 ? string.Empty : ", ");
                AppendString(sb, labels[i]);
            }

            sb.Append(']');
        }

        return sb.Append('}').ToString();
    }

    /// <summary>A JSON string literal, escaped as System.Text.Json's default encoder does (non-ASCII and HTML-sensitive characters as \uXXXX).</summary>
    public static void AppendString(StringBuilder sb, string value)
    {
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
                case '\b': sb.Append("\\b"); break;
                case '\f': sb.Append("\\f"); break;
                default:
                    if (c < 0x20 || c > 0x7E || c == '<' || c == '>' || c == '&' || c == '\'' || c == '+' || c == '`')
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

        sb.Append('"');
    }

    private static string Text(int value) => value.ToString(CultureInfo.InvariantCulture);

    private static string Join(IReadOnlyList<int> values)
    {
        var sb = new StringBuilder();
        for (int i = 0; i < values.Count; i++)
        {
            sb.Append(i == 0 ? string.Empty : ", ").Append(Text(values[i]));
        }

        return sb.ToString();
    }

    private static string Join(IReadOnlyList<float> values)
    {
        var sb = new StringBuilder();
        for (int i = 0; i < values.Count; i++)
        {
            sb.Append(i == 0 ? string.Empty : ", ").Append(values[i].ToString("R", CultureInfo.InvariantCulture));
        }

        return sb.ToString();
    }

    private sealed class Reader
    {
        private readonly List<ArchitectureJsonError> _errors;

        public Reader(List<ArchitectureJsonError> errors) => _errors = errors;

        public ArchitectureDocument? Read(JsonValue root)
        {
            if (root.Kind != JsonKind.Object)
            {
                Report(root, "the architecture must be a JSON object, not " + root.KindName);
                return null;
            }

            int before = _errors.Count;
            var doc = new ArchitectureDocument();
            JsonValue? variant = root["variant"];
            if (variant != null)
            {
                if (variant.Kind != JsonKind.String)
                {
                    Report(variant, "'variant' must be a string such as \"s1\"");
                }
                else if (Presets.Get(variant.Text) is NetworkShape preset)
                {
                    doc = ArchitectureDocument.FromShape(preset);
                }
                else
                {
                    _errors.Add(new ArchitectureJsonError(ArchitectureJsonErrorKind.UnknownVariant, variant.Line, variant.Column, variant.Text));
                }
            }

            foreach (KeyValuePair<string, JsonValue> member in root.Members)
            {
                JsonValue v = member.Value;
                switch (member.Key)
                {
                    case "$schema":
                    case "description":
                    case "variant":
                        break;
                    case "inputChannels":
                        doc.InputChannels = Int(v, member.Key, 1, NetworkShape.MaxChannels) ?? doc.InputChannels;
                        break;
                    case "inputHeight":
                        doc.InputHeight = Int(v, member.Key, NetworkShape.MinInputSize, NetworkShape.MaxInputSize) ?? doc.InputHeight;
                        break;
                    case "inputWidth":
                        doc.InputWidth = Int(v, member.Key, NetworkShape.MinInputSize, NetworkShape.MaxInputSize) ?? doc.InputWidth;
                        break;
                    case "inputSize":
                        if (v.Kind == JsonKind.Number)
                        {
                            int? size = Int(v, member.Key, NetworkShape.MinInputSize, NetworkShape.MaxInputSize);
                            doc.InputHeight = size ?? doc.InputHeight;
                            doc.InputWidth = size ?? doc.InputWidth;
                        }
                        else if (Ints(v, member.Key, 2, NetworkShape.MinInputSize, NetworkShape.MaxInputSize, "[height, width]") is int[] hw)
                        {
                            doc.InputHeight = hw[0];
                            doc.InputWidth = hw[1];
                        }

                        break;
                    case "stemChannels":
                        doc.StemChannels = Int(v, member.Key, 1, NetworkShape.MaxChannels) ?? doc.StemChannels;
                        break;
                    case "stageChannels":
                        doc.StageChannels = Ints(v, member.Key, NetworkShape.Stages, 1, NetworkShape.MaxChannels, "four stage widths") ?? doc.StageChannels;
                        break;
                    case "stageBlocks":
                        doc.StageBlocks = Ints(v, member.Key, NetworkShape.Stages, 1, NetworkShape.MaxBlocks, "four block counts") ?? doc.StageBlocks;
                        break;
                    case "seBlocks":
                        doc.SeBlocks = Ints(v, member.Key, NetworkShape.Stages, 0, NetworkShape.MaxBlocks, "four counts of squeeze-excite blocks") ?? doc.SeBlocks;
                        break;
                    case "numClasses":
                        doc.NumClasses = Int(v, member.Key, 1, NetworkShape.MaxClasses) ?? doc.NumClasses;
                        break;
                    case "mean":
                        doc.Mean = Floats(v, member.Key, positive: false) ?? doc.Mean;
                        break;
                    case "std":
                        doc.Std = Floats(v, member.Key, positive: true) ?? doc.Std;
                        break;
                    case "int8":
                        if (v.Kind == JsonKind.Boolean)
                        {
                            doc.Int8 = v.Boolean;
                        }
                        else
                        {
                            Report(v, "'int8' must be true or false");
                        }

                        break;
                    case "cropPct":
                        if (v.TryGetDouble(out double crop) && crop > 0 && crop <= 1)
                        {
                            doc.CropPct = (float)crop;
                        }
                        else
                        {
                            Report(v, "'cropPct' must be a number in (0, 1], such as 0.875");
                        }

                        break;
                    case "labels":
                        doc.Labels = Strings(v, member.Key) ?? doc.Labels;
                        break;
                    default:
                        Report(v, "unknown property '" + member.Key + "' (known: " + string.Join(", ", KnownProperties) + ")");
                        break;
                }
            }

            if (doc.SeBlocks != null && doc.StageBlocks != null)
            {
                for (int s = 0; s < NetworkShape.Stages; s++)
                {
                    if (doc.SeBlocks[s] > doc.StageBlocks[s])
                    {
                        Report(root["seBlocks"] ?? root, string.Format(CultureInfo.InvariantCulture, "stage {0} has {1} blocks but 'seBlocks' asks for {2} with squeeze-excite", s + 1, doc.StageBlocks[s], doc.SeBlocks[s]));
                    }
                }
            }

            return _errors.Count == before ? doc : null;
        }

        private static string Describe(JsonValue v) => v.Kind == JsonKind.Number ? v.Text : v.Kind == JsonKind.String ? "\"" + v.Text + "\"" : v.KindName;

        private void Report(JsonValue at, string message) =>
            _errors.Add(new ArchitectureJsonError(ArchitectureJsonErrorKind.Invalid, at.Line, at.Column, message));

        private int? Int(JsonValue v, string name, int min, int max)
        {
            if (v.TryGetInt64(out long value) && value >= min && value <= max)
            {
                return (int)value;
            }

            Report(v, string.Format(CultureInfo.InvariantCulture, "'{0}' must be a whole number from {1} to {2}, not {3}", name, min, max, Describe(v)));
            return null;
        }

        private int[]? Ints(JsonValue v, string name, int count, int min, int max, string what)
        {
            if (v.Kind != JsonKind.Array || v.Items.Count != count)
            {
                Report(v, "'" + name + "' must be an array of " + what);
                return null;
            }

            var result = new int[count];
            for (int i = 0; i < count; i++)
            {
                int? item = Int(v.Items[i], name + "[" + i.ToString(CultureInfo.InvariantCulture) + "]", min, max);
                if (item == null)
                {
                    return null;
                }

                result[i] = item.Value;
            }

            return result;
        }

        private float[]? Floats(JsonValue v, string name, bool positive)
        {
            if (v.Kind != JsonKind.Array || v.Items.Count == 0)
            {
                Report(v, "'" + name + "' must be an array of numbers, one per input channel");
                return null;
            }

            var result = new float[v.Items.Count];
            for (int i = 0; i < result.Length; i++)
            {
                JsonValue item = v.Items[i];
                if (!item.TryGetDouble(out double d) || double.IsInfinity((float)d) || (positive && !(d > 0)))
                {
                    Report(item, string.Format(CultureInfo.InvariantCulture, "'{0}[{1}]' must be a finite{2} number, not {3}", name, i, positive ? " positive" : string.Empty, Describe(item)));
                    return null;
                }

                result[i] = (float)d;
            }

            return result;
        }

        private string[]? Strings(JsonValue v, string name)
        {
            if (v.Kind != JsonKind.Array)
            {
                Report(v, "'" + name + "' must be an array of strings, one per class");
                return null;
            }

            var result = new string[v.Items.Count];
            for (int i = 0; i < result.Length; i++)
            {
                if (v.Items[i].Kind != JsonKind.String)
                {
                    Report(v.Items[i], string.Format(CultureInfo.InvariantCulture, "'{0}[{1}]' must be a string", name, i));
                    return null;
                }

                result[i] = v.Items[i].Text;
            }

            return result;
        }
    }
}
