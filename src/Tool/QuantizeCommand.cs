using System;
using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using System.Linq;
using MobileOne.Conversion;
using MobileOne.Conversion.Quantization;
using MobileOne.Model;
using Spectre.Console;

namespace MobileOne.Tool;

/// <summary><c>mobileone quantize</c>: post-training INT8 quantization of a fused MobileOne (docs/quantization.md).</summary>
internal static class QuantizeCommand
{
    public static Command Create(TextWriter output, TextWriter error)
    {
        var input = new Argument<string>("input") { Description = "A fused FP32 MobileOne (safetensors or PyTorch zip); its architecture metadata gives the input size, mean, std and labels." };
        var calibration = new Option<string>("--calibration")
        {
            Description = "Calibration images: a folder of JPEG/PNG/BMP images (resized, centre-cropped and normalised as the architecture says), " +
                "an IDX3 file of grey images, optionally .gz (centred on the input when smaller, else resized; normalised), " +
                "or a raw little-endian float32 file of normalised CHW images at the model's input size.",
            Required = true,
        };
        var outputPath = new Option<string>("--output", "-o") { Description = "Output file (.safetensors); written to a temporary file first, so it is whole or absent.", Required = true };
        var method = new Option<string>("--method") { Description = "How activation ranges are chosen: minmax (largest value seen) or percentile (histogram percentile).", DefaultValueFactory = _ => QuantizationOptions.DefaultMethod == CalibrationMethod.MinMax ? "minmax" : "percentile" };
        method.AcceptOnlyFromAmong("minmax", "percentile");
        var percentile = new Option<double>("--percentile") { Description = "The percentile of --method percentile, in (0, 100].", DefaultValueFactory = _ => QuantizationOptions.DefaultPercentile };
        var maxImages = new Option<int>("--max-images") { Description = "Calibration images used at most (evenly spaced over the source).", DefaultValueFactory = _ => CalibrationSet.DefaultMaxImages };
        var noEqualize = new Option<bool>("--no-equalize") { Description = "Skip dead-channel zeroing and cross-layer equalization (the quantized network is then far less accurate; for comparison)." };
        var command = new Command("quantize", "Quantize a fused MobileOne to INT8 (int8 weights per output channel, int32 biases, uint8 activations) with activation ranges from calibration images; write a quantized safetensors file the generator compiles.")
        {
            input, calibration, outputPath, method, percentile, maxImages, noEqualize,
        };
        command.SetAction(p => Program.Guard(error, () =>
        {
            double pct = p.GetValue(percentile);
            if (!(pct > 0 && pct <= 100))
            {
                error.WriteLine(string.Create(CultureInfo.InvariantCulture, $"error: --percentile must be in (0, 100], not {pct}."));
                return ExitCodes.Usage;
            }

            int max = p.GetValue(maxImages);
            if (max < 1)
            {
                error.WriteLine(string.Create(CultureInfo.InvariantCulture, $"error: --max-images must be at least 1, not {max}."));
                return ExitCodes.Usage;
            }

            var options = new QuantizationOptions
            {
                Method = p.GetValue(method) == "minmax" ? CalibrationMethod.MinMax : CalibrationMethod.Percentile,
                Percentile = pct,
                Equalize = !p.GetValue(noEqualize),
            };
            return Run(output, p.GetValue(input)!, p.GetValue(calibration)!, p.GetValue(outputPath)!, options, max);
        }));
        return command;
    }

    private static int Run(TextWriter output, string inputPath, string calibrationPath, string outputPath, QuantizationOptions options, int maxImages)
    {
        StateDict sd = Checkpoint.Load(inputPath);
        if (QuantizationScheme.IsQuantized(sd.Metadata))
        {
            throw new ConversionException(ConversionErrorKind.WrongForm,
                $"{sd.Source} is already quantized (INT8, '{QuantizationDocument.MetadataKey}' metadata); quantize the FP32 file it came from.");
        }

        int h = 224, w = 224;
        if (ArchitectureMetadata.TryReadInputSize(sd.Metadata, out int mh, out int mw))
        {
            (h, w) = (mh, mw);
        }

        MobileOneCheckpoint cp = MobileOneCheckpoint.Analyze(sd, h, w);
        if (cp.Form == CheckpointForm.TrainTime)
        {
            throw new ConversionException(ConversionErrorKind.WrongForm,
                $"{sd.Source} is a train-time checkpoint (its layers have rbr_conv/rbr_scale/rbr_skip branches): fuse it first with `mobileone fuse {inputPath} -o FUSED.safetensors`, then quantize FUSED.safetensors.");
        }

        FusedNetwork network = FusedNetwork.FromCheckpoint(cp);
        NetworkArchitecture a = network.Architecture;
        string? architectureJson = sd.Metadata.TryGetValue(FusedNetwork.ArchitectureMetadataKey, out string? json) ? json : null;
        CalibrationSet data = CalibrationSet.Open(calibrationPath, a, InputNormalization.FromArchitectureJson(architectureJson), maxImages);
        output.WriteLine($"Calibration: {data.Description}.");
        long start = Stopwatch.GetTimestamp();
        QuantizationResult result = Quantizer.Run(network, data, options, architectureJson);
        double seconds = Stopwatch.GetElapsedTime(start).TotalSeconds;
        result.Network.Write(outputPath, $"mobileone quantize ({Method(options)}, {data.Count} images) from {Path.GetFileName(inputPath)}");

        IAnsiConsole ui = Program.Ui(output);
        ui.Write(Table(result, options));
        output.WriteLine(Invariant($"input: max |x| {result.InputMax:G5}, range {result.InputRange:G5}, int8 scale {result.Network.InputScale:G5}"));
        int pairChannels = result.Layers.Sum(l => l.Weights.PairRuleChannels), pointwise = result.Layers.Where(l => l.Kind == ConvLayerKind.Pointwise).Sum(l => l.Weights.Scale.Length);
        output.WriteLine(Invariant($"pair rule: {pairChannels:N0} of {pointwise:N0} pointwise output channels needed a larger scale, {result.Layers.Sum(l => l.Weights.LoweredWeights):N0} weights lowered one step"));
        if (options.Equalize)
        {
            output.WriteLine(Invariant($"equalization: {result.Layers.Sum(l => l.DeadChannels):N0} channels never positive in calibration zeroed; channel ranges equalized across consecutive layers"));
        }

        int biasLimited = result.Layers.Sum(l => l.Weights.BiasLimitedChannels), clamped = result.Layers.Sum(l => l.Weights.ClampedBiases);
        if (biasLimited > 0 || clamped > 0)
        {
            output.WriteLine(Invariant($"note: {biasLimited:N0} channels got a larger weight scale to keep their int32 bias exact; {clamped:N0} biases clamped"));
        }

        if (result.ArchitectureNote != null)
        {
            output.WriteLine($"note: {result.ArchitectureNote}.");
        }

        long bytes = new FileInfo(outputPath).Length;
        output.WriteLine(Invariant($"Quantized {Program.Describe(cp)} → {outputPath} (INT8, {Method(options)}, {data.Count:N0} calibration images, {bytes:N0} bytes, {seconds:F1} s)."));
        return ExitCodes.Success;
    }

    private static Table Table(QuantizationResult result, QuantizationOptions options)
    {
        var table = new Table().Border(TableBorder.Simple);
        table.AddColumn("layer");
        table.AddColumn("op");
        table.AddColumn(new TableColumn("out scale").RightAligned());
        table.AddColumn(new TableColumn("weight scales").RightAligned());
        table.AddColumn(new TableColumn("pair rule").RightAligned());
        if (options.Equalize)
        {
            table.AddColumn(new TableColumn("zeroed").RightAligned());
        }

        table.AddColumn(new TableColumn("calib max").RightAligned());
        table.AddColumn(new TableColumn("range").RightAligned());
        foreach (LayerQuantization l in result.Layers)
        {
            var cells = new System.Collections.Generic.List<string>
            {
                l.Name,
                l.Kind switch { ConvLayerKind.Stem => "stem 3x3", ConvLayerKind.Depthwise => "dw 3x3", _ => "pw 1x1" },
                Invariant($"{l.OutputScale:G4}"),
                l.MaxWeightScale == 0 ? "–" : Invariant($"{l.MinWeightScale:G3} – {l.MaxWeightScale:G3}"),
                l.Kind == ConvLayerKind.Pointwise ? Invariant($"{l.Weights.PairRuleChannels}/{l.Weights.Scale.Length}") : "–",
            };
            if (options.Equalize)
            {
                cells.Add(Invariant($"{l.DeadChannels}"));
            }

            cells.Add(Invariant($"{l.CalibrationMax:G4}"));
            cells.Add(Invariant($"{l.Range:G4}") + (l.CalibrationMax > 0 && l.Range < l.CalibrationMax ? Invariant($" ({100.0 * l.Range / l.CalibrationMax:F0} %)") : string.Empty));
            table.AddRow(cells.Select(Markup.Escape).ToArray());
        }

        return table;
    }

    private static string Method(QuantizationOptions o) =>
        (o.Method == CalibrationMethod.MinMax ? "minmax" : Invariant($"percentile {o.Percentile:R}")) + (o.Equalize ? ", equalized" : string.Empty);

    private static string Invariant(FormattableString s) => FormattableString.Invariant(s);
}
