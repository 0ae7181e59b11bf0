using System;
using System.CommandLine;
using System.Globalization;
using System.IO;
using System.Linq;
using MobileOne.Conversion;
using Spectre.Console;

namespace MobileOne.Tool;

/// <summary>Exit codes of <c>mobileone</c>.</summary>
public static class ExitCodes
{
    /// <summary>Done.</summary>
    public const int Success = 0;

    /// <summary>Bad command line (unknown command or option, missing argument, bad value).</summary>
    public const int Usage = 1;

    /// <summary>The input file does not exist or cannot be read.</summary>
    public const int InputNotFound = 2;

    /// <summary>The input is not a format we read, or is damaged or truncated.</summary>
    public const int InvalidInput = 3;

    /// <summary>The PyTorch pickle references a global outside the allowlist (nothing was executed).</summary>
    public const int UnsafePickle = 4;

    /// <summary>Not a MobileOne, or missing/unknown tensors or wrong shapes.</summary>
    public const int NotMobileOne = 5;

    /// <summary>The checkpoint has the other form than the command needs (<c>convert</c> given a train-time checkpoint).</summary>
    public const int WrongForm = 6;

    /// <summary>The output could not be written (nothing was left behind).</summary>
    public const int OutputFailed = 7;

    internal static int For(ConversionErrorKind kind) => kind switch
    {
        ConversionErrorKind.InvalidFormat or ConversionErrorKind.Truncated => InvalidInput,
        ConversionErrorKind.UnsafePickle => UnsafePickle,
        ConversionErrorKind.NotMobileOne => NotMobileOne,
        ConversionErrorKind.WrongForm => WrongForm,
        _ => OutputFailed,
    };
}

/// <summary>The <c>mobileone</c> command line.</summary>
public static class Program
{
    /// <summary>Process entry point.</summary>
    public static int Main(string[] args) => Run(args, Console.Out, Console.Error);

    /// <summary>Runs the tool with the given arguments and writers; returns the exit code (see <see cref="ExitCodes"/>).</summary>
    public static int Run(string[] args, TextWriter output, TextWriter error)
    {
        ArgumentNullException.ThrowIfNull(args);
        ArgumentNullException.ThrowIfNull(output);
        ArgumentNullException.ThrowIfNull(error);
        RootCommand root = BuildCommands(output, error);
        ParseResult parse = root.Parse(args);
        return parse.Invoke(new InvocationConfiguration { Output = output, Error = error, EnableDefaultExceptionHandler = false });
    }

    private static RootCommand BuildCommands(TextWriter output, TextWriter error)
    {
        var root = new RootCommand(
            "MobileOne checkpoints → the fused safetensors MobileOne.Generator compiles.\n" +
            "Reads safetensors and PyTorch torch.save zip files (.pth, .pth.tar, .pt; wrapped in 'state_dict'/'model'; 'module.' prefixes), " +
            "Apple or timm names. Exit codes: 0 ok, 1 usage, 2 input not found, 3 invalid or truncated input, 4 unsafe pickle refused, " +
            "5 not a (complete) MobileOne, 6 wrong form for the command, 7 output not written.");

        // fuse
        var fuseIn = new Argument<string>("input") { Description = "Train-time checkpoint (rbr_conv/rbr_scale/rbr_skip or conv_kxk/conv_scale/identity)." };
        var fuseOut = OutputOption(".safetensors");
        var eps = new Option<double>("--eps") { Description = "BatchNorm eps used in training (PyTorch default 1e-5).", DefaultValueFactory = _ => Reparameterizer.DefaultEps };
        var dtype = new Option<string>("--dtype") { Description = "Element type of the output: f32, f16 or bf16.", DefaultValueFactory = _ => "f32" };
        dtype.AcceptOnlyFromAmong("f32", "f16", "bf16", "F32", "F16", "BF16");
        var size = InputSizeOption();
        var naming = NamingOption();
        var fuse = new Command("fuse", "Fold a train-time checkpoint (k conv-BN branches, scale and skip branches) into one conv per layer; write fused safetensors with the architecture in its metadata.")
        {
            fuseIn, fuseOut, eps, dtype, size, naming,
        };
        fuse.SetAction(p => Guard(error, () =>
        {
            double e = p.GetValue(eps);
            if (!(e >= 0) || double.IsInfinity(e))
            {
                error.WriteLine($"error: --eps must be a finite number ≥ 0, not {e.ToString(CultureInfo.InvariantCulture)}.");
                return ExitCodes.Usage;
            }

            MobileOneCheckpoint cp = Open(p.GetValue(fuseIn)!, p.GetValue(size));
            if (cp.Form == CheckpointForm.Fused)
            {
                output.WriteLine("note: the checkpoint is already fused; writing it without folding.");
            }

            FusedNetwork net = Reparameterizer.Fuse(cp, e);
            string outPath = p.GetValue(fuseOut)!;
            string dt = p.GetValue(dtype)!.ToUpperInvariant();
            net.WriteSafetensors(outPath, dt, ParseNaming(p.GetValue(naming)), $"mobileone fuse (eps={e.ToString("R", CultureInfo.InvariantCulture)}) from {Path.GetFileName(p.GetValue(fuseIn))}");
            output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"Fused {Describe(cp)} → {outPath} ({dt}, {net.Architecture.ParameterCount:N0} parameters, eps {e:R})."));
            return ExitCodes.Success;
        }));

        // convert
        var convIn = new Argument<string>("input") { Description = "Fused checkpoint (reparam_conv) in a PyTorch zip or safetensors file." };
        var convOut = OutputOption(".safetensors");
        var convDtype = new Option<string>("--dtype") { Description = "Element type of the output: f32, f16 or bf16.", DefaultValueFactory = _ => "f32" };
        convDtype.AcceptOnlyFromAmong("f32", "f16", "bf16", "F32", "F16", "BF16");
        var convSize = InputSizeOption();
        var convNaming = NamingOption();
        var convert = new Command("convert", "Rewrite a fused checkpoint (e.g. Apple's mobileone_s1.pth.tar) as safetensors with the architecture in its metadata.")
        {
            convIn, convOut, convDtype, convSize, convNaming,
        };
        convert.SetAction(p => Guard(error, () =>
        {
            MobileOneCheckpoint cp = Open(p.GetValue(convIn)!, p.GetValue(convSize));
            if (cp.Form == CheckpointForm.TrainTime)
            {
                throw new ConversionException(ConversionErrorKind.WrongForm,
                    $"{cp.StateDict.Source} is a train-time checkpoint (its layers have rbr_conv/rbr_scale/rbr_skip branches): run `mobileone fuse {p.GetValue(convIn)} -o OUT.safetensors` instead.");
            }

            FusedNetwork net = FusedNetwork.FromCheckpoint(cp);
            string outPath = p.GetValue(convOut)!;
            string dt = p.GetValue(convDtype)!.ToUpperInvariant();
            net.WriteSafetensors(outPath, dt, ParseNaming(p.GetValue(convNaming)), $"mobileone convert from {Path.GetFileName(p.GetValue(convIn))}");
            output.WriteLine($"Converted {Describe(cp)} → {outPath} ({dt}).");
            return ExitCodes.Success;
        }));

        // inspect
        var inspIn = new Argument<string>("file") { Description = "Any checkpoint: fused or train-time, safetensors or PyTorch zip." };
        var inspSize = InputSizeOption();
        var tensors = new Option<bool>("--tensors") { Description = "Also list every tensor (name, dtype, shape)." };
        var inspect = new Command("inspect", "Show the variant, architecture, tensors, parameters and MACs per layer, input/output shapes, and whether the generator accepts the file.")
        {
            inspIn, inspSize, tensors,
        };
        inspect.SetAction(p => Guard(error, () =>
        {
            string path = p.GetValue(inspIn)!;
            if (MobileOne.Conversion.Quantization.QuantizedNetwork.IsQuantizedFile(path))
            {
                Inspector.PrintQuantized(Ui(output), path, MobileOne.Conversion.Quantization.QuantizedNetwork.Read(path), p.GetValue(tensors));
                return ExitCodes.Success;
            }

            MobileOneCheckpoint cp = Open(path, p.GetValue(inspSize));
            Inspector.Print(Ui(output), path, cp, p.GetValue(tensors));
            return ExitCodes.Success;
        }));

        // export-onnx
        var onnxIn = new Argument<string>("file") { Description = "A checkpoint (train-time ones are fused first), or a quantized file (written as a QDQ graph)." };
        var onnxOut = OutputOption(".onnx");
        var onnxEps = new Option<double>("--eps") { Description = "BatchNorm eps when the input is a train-time checkpoint.", DefaultValueFactory = _ => Reparameterizer.DefaultEps };
        var onnxSize = InputSizeOption();
        var fixedBatch = new Option<bool>("--fixed-batch") { Description = "Batch dimension 1 instead of the symbolic 'N'." };
        var export = new Command("export-onnx", "Write the fused network as ONNX (opset 17; input 'input' [N,C,H,W], output 'logits' [N,classes]) to check it with any runtime; a quantized file as a QDQ graph (QuantizeLinear/DequantizeLinear around each convolution: int8 weights per channel, uint8 activations).")
        {
            onnxIn, onnxOut, onnxEps, onnxSize, fixedBatch,
        };
        export.SetAction(p => Guard(error, () =>
        {
            if (MobileOne.Conversion.Quantization.QuantizedNetwork.IsQuantizedFile(p.GetValue(onnxIn)!))
            {
                var qn = MobileOne.Conversion.Quantization.QuantizedNetwork.Read(p.GetValue(onnxIn)!);
                (int H, int W)? qSize = p.GetValue(onnxSize) is string qs ? ParseSize(qs) : null;
                string qOut = p.GetValue(onnxOut)!;
                MobileOne.Conversion.Quantization.QdqOnnxExport.Save(qOut, qn, symbolicBatch: !p.GetValue(fixedBatch), producer: "mobileone export-onnx",
                    options: new MobileOne.Conversion.Quantization.QdqOptions { InputHeight = qSize?.H, InputWidth = qSize?.W });
                NetworkArchitecture qa = qn.Architecture;
                string qb = p.GetValue(fixedBatch) ? "1" : "N";
                string qVariant = qa.Variant == "custom" ? "custom MobileOne" : "MobileOne-" + qa.Variant.ToUpperInvariant();
                output.WriteLine($"Exported quantized {qVariant} → {qOut} as a QDQ graph (int8 weights per channel, uint8 activations; input 'input' [{qb}, {qa.InputChannels}, {qSize?.H ?? qa.InputHeight}, {qSize?.W ?? qa.InputWidth}], output 'logits' [{qb}, {qa.NumClasses}], opset {MobileOne.Conversion.Quantization.QdqOnnxExport.Opset}).");
                return ExitCodes.Success;
            }

            MobileOneCheckpoint cp = Open(p.GetValue(onnxIn)!, p.GetValue(onnxSize));
            FusedNetwork net = Reparameterizer.Fuse(cp, p.GetValue(onnxEps));
            string outPath = p.GetValue(onnxOut)!;
            OnnxExport.Save(outPath, net, symbolicBatch: !p.GetValue(fixedBatch), producer: "mobileone export-onnx");
            NetworkArchitecture a = net.Architecture;
            string n = p.GetValue(fixedBatch) ? "1" : "N";
            output.WriteLine($"Exported {Describe(cp)} → {outPath} (input 'input' [{n}, {a.InputChannels}, {a.InputHeight}, {a.InputWidth}], output 'logits' [{n}, {a.NumClasses}], opset {OnnxExport.Opset}).");
            return ExitCodes.Success;
        }));

        root.Add(fuse);
        root.Add(convert);
        root.Add(inspect);
        root.Add(export);
        root.Add(QuantizeCommand.Create(output, error));
        return root;
    }

    private static Option<string> OutputOption(string extension) =>
        new("--output", "-o") { Description = $"Output file ({extension}); written to a temporary file first, so it is whole or absent.", Required = true };

    private static Option<string?> InputSizeOption() =>
        new("--input-size") { Description = "Input size the network will run at, 'N' or 'HxW' (weights cannot tell it; default: the file's metadata, else 224)." };

    private static Option<string> NamingOption()
    {
        var o = new Option<string>("--naming") { Description = "Tensor names of the output: apple or timm.", DefaultValueFactory = _ => "apple" };
        o.AcceptOnlyFromAmong("apple", "timm");
        return o;
    }

    private static NamingConvention ParseNaming(string? s) => s == "timm" ? NamingConvention.Timm : NamingConvention.Apple;

    internal static IAnsiConsole Ui(TextWriter output)
    {
        IAnsiConsole console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Out = new AnsiConsoleOutput(output),
            Ansi = ReferenceEquals(output, Console.Out) ? AnsiSupport.Detect : AnsiSupport.No,
            ColorSystem = ReferenceEquals(output, Console.Out) ? ColorSystemSupport.Detect : ColorSystemSupport.NoColors,
        });
        console.Profile.Width = Math.Max(console.Profile.Width, 200);
        return console;
    }

    internal static MobileOneCheckpoint Open(string path, string? inputSize)
    {
        StateDict sd = Checkpoint.Load(path);
        int h = 224, w = 224;
        if (inputSize != null)
        {
            (h, w) = ParseSize(inputSize);
        }
        else if (ArchitectureMetadata.TryReadInputSize(sd.Metadata, out int mh, out int mw))
        {
            (h, w) = (mh, mw);
        }

        return MobileOneCheckpoint.Analyze(sd, h, w);
    }

    private static (int, int) ParseSize(string s)
    {
        string[] parts = s.Split('x', 'X', ',');
        if (parts.Length is 1 or 2 && parts.All(x => int.TryParse(x, NumberStyles.None, CultureInfo.InvariantCulture, out int v) && v is >= 32 and <= 8192))
        {
            int h = int.Parse(parts[0], CultureInfo.InvariantCulture);
            return (h, parts.Length == 2 ? int.Parse(parts[1], CultureInfo.InvariantCulture) : h);
        }

        throw new UsageException($"--input-size must be 'N' or 'HxW' with each side from 32 to 8192, not '{s}'.");
    }

    internal static string Describe(MobileOneCheckpoint cp)
    {
        string variant = cp.Architecture.Variant;
        string form = cp.Form == CheckpointForm.Fused ? "fused" : $"train-time (k = {cp.NumConvBranches})";
        return $"{(variant == "custom" ? "custom MobileOne" : "MobileOne-" + variant.ToUpperInvariant())}, {form}, {cp.Naming} names";
    }

    internal static int Guard(TextWriter error, Func<int> action)
    {
        try
        {
            return action();
        }
        catch (UsageException e)
        {
            error.WriteLine("error: " + e.Message);
            return ExitCodes.Usage;
        }
        catch (FileNotFoundException e)
        {
            error.WriteLine("error: " + e.Message);
            return ExitCodes.InputNotFound;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            error.WriteLine("error: " + e.Message);
            return ExitCodes.InputNotFound;
        }
        catch (ConversionException e)
        {
            error.WriteLine("error: " + e.Message);
            return ExitCodes.For(e.Kind);
        }
    }

    private sealed class UsageException : Exception
    {
        public UsageException(string message)
            : base(message)
        {
        }
    }
}
