using System.Collections.Generic;
using System.Globalization;
using MobileOne.Formats.Json;
using MobileOne.Generator.Model;

namespace MobileOne.Generator
{
    /// <summary>
    /// Reads the architecture JSON (docs/architecture-json.md) from a <c>.mobileone.json</c> file or from the
    /// safetensors metadata key <c>mobileone.architecture</c>. Every error points at the offending value.
    /// </summary>
    internal sealed class ArchitectureJsonReader
    {
        /// <summary>The safetensors <c>__metadata__</c> key that may hold the architecture JSON.</summary>
        public const string MetadataKey = "mobileone.architecture";

        private static readonly string[] KnownProperties =
        {
            "$schema", "description", "variant", "inputChannels", "inputSize", "inputHeight", "inputWidth",
            "stemChannels", "stageChannels", "stageBlocks", "seBlocks", "numClasses", "mean", "std", "cropPct", "labels",
        };

        private readonly string _path;
        private readonly string _displayName;
        private readonly bool _inFile;
        private readonly List<DiagnosticInfo> _diagnostics;

        /// <param name="path">File the diagnostics point at.</param>
        /// <param name="displayName">How messages name the source.</param>
        /// <param name="inFile">True when the JSON is the file's text, so line and column locate the diagnostic;
        /// false when it is embedded (safetensors metadata), so they go into the message instead.</param>
        public ArchitectureJsonReader(string path, string displayName, bool inFile, List<DiagnosticInfo> diagnostics)
        {
            _path = path;
            _displayName = displayName;
            _inFile = inFile;
            _diagnostics = diagnostics;
        }

        /// <summary>Returns the architecture, or null after reporting at least one error.</summary>
        public Architecture? Read(string text)
        {
            JsonValue root;
            try
            {
                root = JsonReader.Parse(text);
            }
            catch (JsonParseException e)
            {
                Report(DiagnosticDescriptors.InvalidArchitectureJson, e.Line, e.Column, e.Message);
                return null;
            }

            if (root.Kind != JsonKind.Object)
            {
                Report(DiagnosticDescriptors.InvalidArchitecture, root.Line, root.Column, "the architecture must be a JSON object, not " + root.KindName);
                return null;
            }

            int errors = _diagnostics.Count;
            Architecture arch = new Architecture();
            JsonValue? variant = root["variant"];
            if (variant != null)
            {
                if (variant.Kind != JsonKind.String)
                {
                    Report(DiagnosticDescriptors.InvalidArchitecture, variant.Line, variant.Column, "'variant' must be a string such as \"s1\"");
                }
                else
                {
                    Architecture? preset = Architecture.Preset(variant.Text);
                    if (preset == null)
                    {
                        Report(DiagnosticDescriptors.UnknownVariant, variant.Line, variant.Column, variant.Text);
                    }
                    else
                    {
                        arch = preset;
                    }
                }
            }

            foreach (var member in root.Members)
            {
                JsonValue v = member.Value;
                switch (member.Key)
                {
                    case "$schema":
                    case "description":
                    case "variant":
                        break;
                    case "inputChannels":
                        arch.InputChannels = Int(v, member.Key, 1, Architecture.MaxChannels) ?? arch.InputChannels;
                        break;
                    case "inputHeight":
                        arch.InputHeight = Int(v, member.Key, Architecture.MinInputSize, Architecture.MaxInputSize) ?? arch.InputHeight;
                        break;
                    case "inputWidth":
                        arch.InputWidth = Int(v, member.Key, Architecture.MinInputSize, Architecture.MaxInputSize) ?? arch.InputWidth;
                        break;
                    case "inputSize":
                        if (v.Kind == JsonKind.Number)
                        {
                            int? size = Int(v, member.Key, Architecture.MinInputSize, Architecture.MaxInputSize);
                            arch.InputHeight = size ?? arch.InputHeight;
                            arch.InputWidth = size ?? arch.InputWidth;
                        }
                        else
                        {
                            int[]? hw = Ints(v, member.Key, 2, Architecture.MinInputSize, Architecture.MaxInputSize, "[height, width]");
                            if (hw != null)
                            {
                                arch.InputHeight = hw[0];
                                arch.InputWidth = hw[1];
                            }
                        }

                        break;
                    case "stemChannels":
                        arch.StemChannels = Int(v, member.Key, 1, Architecture.MaxChannels) ?? arch.StemChannels;
                        break;
                    case "stageChannels":
                        arch.StageChannels = Ints(v, member.Key, Architecture.Stages, 1, Architecture.MaxChannels, "four stage widths") ?? arch.StageChannels;
                        break;
                    case "stageBlocks":
                        arch.StageBlocks = Ints(v, member.Key, Architecture.Stages, 1, Architecture.MaxBlocks, "four block counts") ?? arch.StageBlocks;
                        break;
                    case "seBlocks":
                        arch.SeBlocks = Ints(v, member.Key, Architecture.Stages, 0, Architecture.MaxBlocks, "four counts of squeeze-excite blocks") ?? arch.SeBlocks;
                        break;
                    case "numClasses":
                        arch.NumClasses = Int(v, member.Key, 1, Architecture.MaxClasses) ?? arch.NumClasses;
                        break;
                    case "mean":
                        arch.Mean = Floats(v, member.Key) ?? arch.Mean;
                        break;
                    case "std":
                        arch.Std = Floats(v, member.Key, positive: true) ?? arch.Std;
                        break;
                    case "cropPct":
                        if (v.TryGetDouble(out double crop) && crop > 0 && crop <= 1)
                        {
                            arch.CropPct = (float)crop;
                        }
                        else
                        {
                            Report(DiagnosticDescriptors.InvalidArchitecture, v.Line, v.Column, "'cropPct' must be a number in (0, 1], such as 0.875");
                        }

                        break;
                    case "labels":
                        arch.Labels = Strings(v, member.Key) ?? arch.Labels;
                        break;
                    default:
                        Report(DiagnosticDescriptors.InvalidArchitecture, v.Line, v.Column, $"unknown property '{member.Key}' (known: {string.Join(", ", KnownProperties)})");
                        break;
                }
            }

            if (arch.SeBlocks != null && arch.StageBlocks != null)
            {
                for (int s = 0; s < Architecture.Stages; s++)
                {
                    if (arch.SeBlocks[s] > arch.StageBlocks[s])
                    {
                        JsonValue at = root["seBlocks"] ?? root;
                        Report(DiagnosticDescriptors.InvalidArchitecture, at.Line, at.Column, $"stage {s + 1} has {arch.StageBlocks[s]} blocks but 'seBlocks' asks for {arch.SeBlocks[s]} with squeeze-excite");
                    }
                }
            }

            return _diagnostics.Count == errors ? arch : null;
        }

        private int? Int(JsonValue v, string name, int min, int max)
        {
            if (v.TryGetInt64(out long value) && value >= min && value <= max)
            {
                return (int)value;
            }

            Report(DiagnosticDescriptors.InvalidArchitecture, v.Line, v.Column, $"'{name}' must be a whole number from {min} to {max}, not {Describe(v)}");
            return null;
        }

        private int[]? Ints(JsonValue v, string name, int count, int min, int max, string what)
        {
            if (v.Kind != JsonKind.Array || v.Items.Count != count)
            {
                Report(DiagnosticDescriptors.InvalidArchitecture, v.Line, v.Column, $"'{name}' must be an array of {what}");
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

        private float[]? Floats(JsonValue v, string name, bool positive = false)
        {
            if (v.Kind != JsonKind.Array || v.Items.Count == 0)
            {
                Report(DiagnosticDescriptors.InvalidArchitecture, v.Line, v.Column, $"'{name}' must be an array of numbers, one per input channel");
                return null;
            }

            var result = new float[v.Items.Count];
            for (int i = 0; i < result.Length; i++)
            {
                JsonValue item = v.Items[i];
                if (!item.TryGetDouble(out double d) || double.IsInfinity((float)d) || (positive && !(d > 0)))
                {
                    Report(DiagnosticDescriptors.InvalidArchitecture, item.Line, item.Column, $"'{name}[{i}]' must be a finite{(positive ? " positive" : string.Empty)} number, not {Describe(item)}");
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
                Report(DiagnosticDescriptors.InvalidArchitecture, v.Line, v.Column, $"'{name}' must be an array of strings, one per class");
                return null;
            }

            var result = new string[v.Items.Count];
            for (int i = 0; i < result.Length; i++)
            {
                if (v.Items[i].Kind != JsonKind.String)
                {
                    Report(DiagnosticDescriptors.InvalidArchitecture, v.Items[i].Line, v.Items[i].Column, $"'{name}[{i}]' must be a string");
                    return null;
                }

                result[i] = v.Items[i].Text;
            }

            return result;
        }

        private static string Describe(JsonValue v) => v.Kind == JsonKind.Number ? v.Text : v.Kind == JsonKind.String ? "\"" + v.Text + "\"" : v.KindName;

        private void Report(Microsoft.CodeAnalysis.DiagnosticDescriptor descriptor, int line, int column, string message)
        {
            if (_inFile)
            {
                _diagnostics.Add(DiagnosticInfo.At(descriptor, _path, line, column, _displayName, message));
            }
            else
            {
                string where = $" (in __metadata__ '{MetadataKey}', line {line}, column {column})";
                _diagnostics.Add(DiagnosticInfo.Create(descriptor, _path, _displayName, descriptor == DiagnosticDescriptors.UnknownVariant ? message : message + where));
            }
        }
    }
}
