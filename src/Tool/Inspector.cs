using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using MobileOne.Conversion;
using MobileOne.Conversion.Quantization;
using MobileOne.Model;
using Spectre.Console;

namespace MobileOne.Tool;

/// <summary>The report of <c>mobileone inspect</c>.</summary>
internal static class Inspector
{
    public static void Print(IAnsiConsole ui, string path, MobileOneCheckpoint cp, bool listTensors)
    {
        StateDict sd = cp.StateDict;
        NetworkArchitecture a = cp.Architecture;
        string variant = a.Variant;
        var container = new List<string> { sd.Container };
        if (sd.WrapperKey != null)
        {
            container.Add($"state dict under '{sd.WrapperKey}'");
        }

        if (sd.RemovedModulePrefix)
        {
            container.Add("'module.' prefix removed");
        }

        if (sd.SkippedNonTensors > 0)
        {
            container.Add($"{sd.SkippedNonTensors} non-tensor entries skipped");
        }

        var dtypes = sd.Tensors.GroupBy(t => t.DType).Select(g => $"{g.Count()} {g.Key}");
        var facts = new Grid().AddColumn().AddColumn();
        facts.AddRow("file", Markup.Escape($"{path} ({string.Join(", ", container)})"));
        facts.AddRow("variant", variant == "custom" ? "custom" : "MobileOne-" + variant.ToUpperInvariant());
        facts.AddRow("form", cp.Form == CheckpointForm.Fused
            ? "fused (reparam_conv): what the generator compiles"
            : Markup.Escape($"train-time: {cp.NumConvBranches} conv branch(es) per stage layer, 1 in the stem, + scale (3x3 layers) + skip (Cin = Cout, stride 1)"));
        facts.AddRow("names", cp.Naming == NamingConvention.Apple ? "Apple (stage0., stageN.i., linear.)" : "timm (stem., stages.N.i., head.fc.)");
        facts.AddRow("architecture", Markup.Escape(a.ToJson()));
        facts.AddRow("input", Markup.Escape($"[1, {a.InputChannels}, {a.InputHeight}, {a.InputWidth}] float, NCHW (the size is not stored in weights: --input-size)"));
        facts.AddRow("output", Markup.Escape($"[1, {a.NumClasses}] logits"));
        facts.AddRow("tensors", Markup.Escape($"{sd.Count} ({string.Join(", ", dtypes)}), {cp.LearnableParameters:N0} learnable parameters in the file"));
        facts.AddRow("fused", Markup.Escape($"{a.ParameterCount:N0} parameters, {a.Macs:N0} MACs per image (convs, SE, linear)"));
        ui.Write(facts);
        ui.WriteLine();

        var table = new Table().Border(TableBorder.Simple);
        table.AddColumn("layer");
        table.AddColumn(cp.Naming == NamingConvention.Timm ? "timm name" : "timm name");
        table.AddColumn("op");
        table.AddColumn(new TableColumn("Cin→Cout").RightAligned());
        table.AddColumn(new TableColumn("H×W in→out").RightAligned());
        if (cp.Form == CheckpointForm.TrainTime)
        {
            table.AddColumn("branches");
        }

        table.AddColumn(new TableColumn("params").RightAligned());
        table.AddColumn(new TableColumn("MACs").RightAligned());
        foreach (ConvLayer l in a.Layers())
        {
            var cells = new List<string>
            {
                l.Name,
                MobileOneCheckpoint.Rename(l.Name + ".", NamingConvention.Timm).TrimEnd('.'),
                l.Operation,
                $"{l.InChannels}→{l.OutChannels}",
                $"{l.InHeight}×{l.InWidth}→{l.OutHeight}×{l.OutWidth}",
            };
            if (cp.Form == CheckpointForm.TrainTime)
            {
                var b = new List<string> { $"{cp.ConvBranches[l.Name]} conv" };
                if (l.HasScaleBranch)
                {
                    b.Add("scale");
                }

                if (l.HasSkipBranch)
                {
                    b.Add("skip");
                }

                cells.Add(string.Join(" + ", b));
            }

            cells.Add(l.ParameterCount.ToString("N0", CultureInfo.InvariantCulture));
            cells.Add(l.Macs.ToString("N0", CultureInfo.InvariantCulture));
            table.AddRow(cells.Select(Markup.Escape).ToArray());
        }

        long linearParams = (long)a.NumClasses * a.FeatureChannels + a.NumClasses;
        var head = new List<string> { "linear", "head.fc", "avgpool + fc", $"{a.FeatureChannels}→{a.NumClasses}", string.Empty };
        if (cp.Form == CheckpointForm.TrainTime)
        {
            head.Add(string.Empty);
        }

        head.Add(linearParams.ToString("N0", CultureInfo.InvariantCulture));
        head.Add(((long)a.NumClasses * a.FeatureChannels).ToString("N0", CultureInfo.InvariantCulture));
        table.AddRow(head.Select(Markup.Escape).ToArray());
        ui.Write(table);

        if (listTensors)
        {
            var t = new Table().Border(TableBorder.Simple).AddColumn("tensor").AddColumn("dtype").AddColumn("shape");
            foreach (Tensor x in sd.Tensors)
            {
                t.AddRow(Markup.Escape(x.Name), x.DType, Markup.Escape(x.ShapeText));
            }

            ui.Write(t);
        }

        ui.WriteLine();
        ui.Write(new Markup("[bold]generator:[/] "));
        if (cp.Form == CheckpointForm.TrainTime)
        {
            ui.MarkupLineInterpolated($"not as is (a train-time checkpoint is rejected with MO0011). Run: mobileone fuse {path} -o {Suggest(path)}");
        }
        else if (sd.Container != "safetensors")
        {
            ui.MarkupLineInterpolated($"not as is (it reads safetensors only). Run: mobileone convert {path} -o {Suggest(path)}");
        }
        else
        {
            GeneratorVerdict v = GeneratorCheck.Run(path);
            if (v.Accepted)
            {
                ui.MarkupLineInterpolated($"[green]accepted[/]: generates class {string.Join(", ", v.Classes)}");
            }
            else
            {
                ui.MarkupLine("[red]rejected[/]:");
            }

            foreach (string d in v.Diagnostics)
            {
                ui.MarkupLineInterpolated($"  {d}");
            }
        }
    }

    /// <summary>The report of a quantized file (docs/quantization.md): the scheme, the calibration, the input scale and every layer's scales.</summary>
    public static void PrintQuantized(IAnsiConsole ui, string path, QuantizedNetwork q, bool listTensors)
    {
        NetworkArchitecture a = q.Architecture;
        string variant = a.Variant;
        IReadOnlyList<QuantizedTensorShape> tensors = QuantizationScheme.Tensors(a.ToShape());
        var dtypes = tensors.GroupBy(t => t.DType).Select(g => $"{g.Count()} {g.Key}");
        long bytes = tensors.Sum(t => t.ElementCount * (t.DType == "I8" ? 1 : 4));
        string method = q.Method == "percentile" && q.Percentile is double pct
            ? string.Create(CultureInfo.InvariantCulture, $"percentile {pct:R}")
            : q.Method;
        var facts = new Grid().AddColumn().AddColumn();
        facts.AddRow("file", Markup.Escape($"{path} (safetensors)"));
        facts.AddRow("variant", variant == "custom" ? "custom" : "MobileOne-" + variant.ToUpperInvariant());
        facts.AddRow("form", "[bold]INT8[/] quantized: int8 weights per output channel, int32 biases, uint8 activations, int8 input (docs/quantization.md)");
        facts.AddRow("calibration", Markup.Escape(string.Create(CultureInfo.InvariantCulture, $"{method}, {q.CalibrationImages:N0} images")));
        facts.AddRow("input scale", Markup.Escape(string.Create(CultureInfo.InvariantCulture, $"{q.InputScale:G6} (int8: x ≈ q · {q.InputScale:G6}, |x| ≤ {q.InputScale * 127:G5})")));
        facts.AddRow("architecture", Markup.Escape(q.ArchitectureJson));
        facts.AddRow("input", Markup.Escape($"[1, {a.InputChannels}, {a.InputHeight}, {a.InputWidth}] float, NCHW (quantized inside)"));
        facts.AddRow("output", Markup.Escape($"[1, {a.NumClasses}] logits (float)"));
        facts.AddRow("tensors", Markup.Escape(string.Create(CultureInfo.InvariantCulture, $"{tensors.Count} ({string.Join(", ", dtypes)}), {bytes:N0} bytes of weights")));
        facts.AddRow("fused", Markup.Escape(string.Create(CultureInfo.InvariantCulture, $"{a.ParameterCount:N0} parameters, {a.Macs:N0} MACs per image (convs, SE, linear)")));
        ui.Write(facts);
        ui.WriteLine();

        var table = new Table().Border(TableBorder.Simple);
        table.AddColumn("layer");
        table.AddColumn("op");
        table.AddColumn(new TableColumn("Cin→Cout").RightAligned());
        table.AddColumn(new TableColumn("H×W in→out").RightAligned());
        table.AddColumn(new TableColumn("in scale").RightAligned());
        table.AddColumn(new TableColumn("out scale").RightAligned());
        table.AddColumn(new TableColumn("out range").RightAligned());
        table.AddColumn(new TableColumn("weight scales").RightAligned());
        table.AddColumn(new TableColumn("MACs").RightAligned());
        foreach (ConvLayer l in a.Layers())
        {
            QuantizedLayer ql = q[l.Name];
            table.AddRow(new[]
            {
                l.Name,
                l.Operation,
                $"{l.InChannels}→{l.OutChannels}",
                $"{l.InHeight}×{l.InWidth}→{l.OutHeight}×{l.OutWidth}",
                q.InputScaleOf(l.Name).ToString("G4", CultureInfo.InvariantCulture),
                ql.OutputScale.ToString("G4", CultureInfo.InvariantCulture),
                (ql.OutputScale * 255).ToString("G4", CultureInfo.InvariantCulture),
                WeightScales(ql),
                l.Macs.ToString("N0", CultureInfo.InvariantCulture),
            }.Select(Markup.Escape).ToArray());
        }

        table.AddRow(new[] { "linear", "avgpool + fc (float)", $"{a.FeatureChannels}→{a.NumClasses}", string.Empty, string.Empty, string.Empty, string.Empty, string.Empty, ((long)a.NumClasses * a.FeatureChannels).ToString("N0", CultureInfo.InvariantCulture) }.Select(Markup.Escape).ToArray());
        ui.Write(table);

        if (listTensors)
        {
            var t = new Table().Border(TableBorder.Simple).AddColumn("tensor").AddColumn("dtype").AddColumn("shape");
            foreach (QuantizedTensorShape x in tensors)
            {
                t.AddRow(Markup.Escape(x.Name), x.DType, Markup.Escape(TensorShape.Format(x.Shape)));
            }

            ui.Write(t);
        }

        ui.WriteLine();
        ui.Write(new Markup("[bold]generator:[/] "));
        GeneratorVerdict v = GeneratorCheck.Run(path);
        if (v.Accepted)
        {
            ui.MarkupLineInterpolated($"[green]accepted[/]: generates class {string.Join(", ", v.Classes)}");
        }
        else
        {
            ui.MarkupLine("[red]rejected[/]:");
        }

        foreach (string d in v.Diagnostics)
        {
            ui.MarkupLineInterpolated($"  {d}");
        }
    }

    // The range of the weight scales of the channels with a nonzero weight (an all-zero channel's scale only sets its bias's units).
    private static string WeightScales(QuantizedLayer l)
    {
        int per = l.Weight.Length / l.WeightScale.Length;
        float[] scales = l.WeightScale.Where((_, o) => l.Weight.AsSpan(o * per, per).ContainsAnyExcept((sbyte)0)).ToArray();
        return scales.Length == 0 ? "–" : string.Create(CultureInfo.InvariantCulture, $"{scales.Min():G3} – {scales.Max():G3}");
    }

    private static string Suggest(string path)
    {
        string name = System.IO.Path.GetFileName(path);
        foreach (string ext in new[] { ".pth.tar", ".safetensors", ".pth", ".pt", ".tar", ".bin" })
        {
            if (name.EndsWith(ext, StringComparison.OrdinalIgnoreCase))
            {
                name = name[..^ext.Length];
                break;
            }
        }

        return name.Replace("_unfused", string.Empty, StringComparison.Ordinal) + (name.EndsWith("_fused", StringComparison.Ordinal) ? string.Empty : "_fused") + ".safetensors";
    }
}
