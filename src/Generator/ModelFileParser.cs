using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Text;
using System.Threading;
using Microsoft.CodeAnalysis.CSharp;
using MobileOne.Model;
using MobileOne.Formats.Safetensors;
using MobileOne.Generator.Helpers;
using MobileOne.Generator.Model;

namespace MobileOne.Generator
{
    /// <summary>
    /// Turns one model's files (a safetensors header and/or an architecture JSON) into a <see cref="NetworkSpec"/>,
    /// or into diagnostics. The architecture comes from, in order: the paired <c>.mobileone.json</c>, the
    /// safetensors metadata key <c>mobileone.architecture</c>, the tensor names and shapes.
    /// </summary>
    internal static class ModelFileParser
    {
        public static ParseResult Parse(ModelInput input, CancellationToken cancellationToken)
        {
            var diagnostics = new List<DiagnosticInfo>(input.PairingDiagnostics);
            NetworkSpec? spec = null;
            try
            {
                spec = ParseCore(input, diagnostics, cancellationToken);
            }
            catch (OperationCanceledException)
            {
                throw;
            }
            catch (Exception e)
            {
                // A bug of ours must surface as a diagnostic, never as an exception thrown into the compiler.
                diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.InternalError, input.Primary.Path, System.IO.Path.GetFileName(input.Primary.Path), e.GetType().Name + ": " + e.Message));
            }

            // Warnings about the data (MO0017) do not stop the class from being generated; any error does.
            if (input.Weights?.DataWarning != null)
            {
                diagnostics.Add(input.Weights.DataWarning);
            }

            bool failed = diagnostics.Exists(d => DiagnosticDescriptors.IsError(d.Id));
            return new ParseResult(failed ? null : spec, diagnostics.ToEquatableArray(), input.Primary.Path);
        }

        private static NetworkSpec? ParseCore(ModelInput input, List<DiagnosticInfo> diagnostics, CancellationToken cancellationToken)
        {
            ModelFile primary = input.Primary;
            foreach (ModelFile? file in new[] { input.Weights, input.Architecture })
            {
                if (file?.ReadError != null)
                {
                    diagnostics.Add(file.ReadError);
                }
            }

            if (diagnostics.Count > 0)
            {
                return null;
            }

            ModelFile? weights = input.Weights;
            string weightsName = weights == null ? string.Empty : System.IO.Path.GetFileName(weights.Path);
            SafetensorsHeader? header = null;
            if (weights != null)
            {
                try
                {
                    header = SafetensorsHeader.Parse(weights.Content, weights.HeaderLength, weights.Length - 8 - weights.HeaderLength);
                }
                catch (SafetensorsFormatException e)
                {
                    string where = e.Line > 0 ? $" (header JSON line {e.Line}, column {e.Column})" : string.Empty;
                    diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.InvalidSafetensors, weights.Path, weightsName, e.Message + where));
                    return null;
                }
            }

            cancellationToken.ThrowIfCancellationRequested();

            // 1. The declared architecture, if any.
            Architecture? declared = null;
            string declaredFrom = string.Empty;
            string declaredPath = primary.Path;
            if (input.Architecture != null)
            {
                declaredFrom = System.IO.Path.GetFileName(input.Architecture.Path);
                declaredPath = input.Architecture.Path;
                declared = new ArchitectureJsonReader(input.Architecture.Path, declaredFrom, inFile: true, diagnostics).Read(input.Architecture.Content);
                if (declared == null)
                {
                    return null;
                }
            }
            else if (header != null && header.Metadata.TryGetValue(ArchitectureJsonReader.MetadataKey, out string? metadataJson))
            {
                declaredFrom = weightsName;
                declared = new ArchitectureJsonReader(weights!.Path, weightsName, inFile: false, diagnostics).Read(metadataJson);
                if (declared == null)
                {
                    return null;
                }
            }

            // 2. What the tensors say.
            Dictionary<string, SafetensorsTensor>? tensors = null;
            TensorNaming naming = TensorNaming.Apple;
            Architecture? inferred = null;
            if (header != null)
            {
                tensors = Canonicalize(header, weights!.Path, weightsName, diagnostics, out naming);
                if (tensors == null)
                {
                    return null;
                }

                inferred = Infer(tensors, weights.Path, weightsName, diagnostics);
                if (inferred == null)
                {
                    return null;
                }
            }

            // 3. Merge: the declared architecture must agree with the tensors on every structural field.
            Architecture arch = inferred ?? declared!;
            string architectureSource = inferred == null ? declaredFrom : "inferred from the tensor shapes of " + weightsName;
            if (declared != null && inferred != null)
            {
                architectureSource = declaredFrom == weightsName ? "safetensors metadata of " + weightsName : declaredFrom;
                var mismatches = new List<string>();
                Compare("inputChannels", declared.InputChannels, inferred.InputChannels, mismatches);
                Compare("stemChannels", declared.StemChannels, inferred.StemChannels, mismatches);
                Compare("stageChannels", declared.StageChannels, inferred.StageChannels, mismatches);
                Compare("stageBlocks", declared.StageBlocks, inferred.StageBlocks, mismatches);
                Compare("seBlocks", declared.SeBlocks, inferred.SeBlocks, mismatches);
                Compare("numClasses", declared.NumClasses, inferred.NumClasses, mismatches);
                if (mismatches.Count > 0)
                {
                    diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.ArchitectureMismatch, declaredPath, declaredFrom, string.Join("; ", mismatches)));
                    return null;
                }

                arch.InputHeight = declared.InputHeight ?? arch.InputHeight;
                arch.InputWidth = declared.InputWidth ?? arch.InputWidth;
                arch.Mean = declared.Mean;
                arch.Std = declared.Std;
                arch.CropPct = declared.CropPct;
                arch.Labels = declared.Labels;
            }

            arch.InputHeight ??= 224;
            arch.InputWidth ??= 224;
            if (!CheckComplete(arch, declaredPath, declaredFrom.Length > 0 ? declaredFrom : weightsName, diagnostics))
            {
                return null;
            }

            // 4. Layers and the exact tensor list they read; compare with the file.
            List<LayerSpec> layers = arch.BuildLayers((name, channels) =>
                tensors != null && tensors.TryGetValue(name + ".se.reduce.weight", out SafetensorsTensor? reduce) && reduce.Shape.Length == 4 && reduce.Shape[0] > 0
                    ? (int)reduce.Shape[0]
                    : Architecture.DefaultSeReduced(channels));
            long inputLength = (long)arch.InputChannels!.Value * arch.InputHeight!.Value * arch.InputWidth!.Value;
            var plan = new PackPlan(layers, arch.NumClasses!.Value);
            if (inputLength > int.MaxValue || !plan.FitsInt32)
            {
                diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.InvalidArchitecture, declaredPath, declaredFrom.Length > 0 ? declaredFrom : weightsName,
                    $"the network is too large for one process: {inputLength} input floats, {plan.Length} packed weight floats and {plan.ScratchLength} activation floats per thread, each limited to {int.MaxValue}"));
                return null;
            }

            List<(string Name, int[] Shape)> expected = ExpectedTensors(layers, arch.NumClasses!.Value);
            var tensorSpecs = new List<TensorSpec>(expected.Count);
            if (tensors != null)
            {
                if (!CheckTensors(expected, tensors, weights!.Path, weightsName, diagnostics))
                {
                    return null;
                }

                foreach (var (name, shape) in expected)
                {
                    SafetensorsTensor t = tensors[name];
                    tensorSpecs.Add(new TensorSpec(name, t.Name, shape.ToEquatableArray(), t.DType, t.Begin, t.End));
                }
            }
            else
            {
                foreach (var (name, shape) in expected)
                {
                    tensorSpecs.Add(new TensorSpec(name, name, shape.ToEquatableArray(), string.Empty, -1, -1));
                }
            }

            if (!CheckNormalization(arch, declaredPath, declaredFrom, diagnostics))
            {
                return null;
            }

            // 5. Names and options.
            ModelOptions options = primary.Options;
            string className = options.ClassName ?? ClassNameFromFileName(primary.BaseName);
            if (!IsValidTypeName(className))
            {
                diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.InvalidClassName, primary.Path, primary.BaseName, className, options.ClassName != null ? "the MobileOneClassName metadata" : "the file name"));
            }

            string ns = options.Namespace ?? (options.RootNamespace.Length > 0 ? options.RootNamespace : "MobileOne.Models");
            if (ns != "global" && !ns.Split('.').All(IsValidTypeName))
            {
                diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.InvalidOption, primary.Path, primary.BaseName, $"'{ns}' is not a valid namespace (MobileOneNamespace)"));
            }

            string accessibility = (options.Accessibility ?? "public").ToLowerInvariant();
            if (accessibility != "public" && accessibility != "internal")
            {
                diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.InvalidOption, primary.Path, primary.BaseName, $"MobileOneAccessibility must be 'public' or 'internal', not '{options.Accessibility}'"));
            }

            bool embed = true;
            if (options.Embed != null && !bool.TryParse(options.Embed, out embed))
            {
                diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.InvalidOption, primary.Path, primary.BaseName, $"MobileOneEmbed must be 'true' or 'false', not '{options.Embed}'"));
            }

            if (diagnostics.Count > 0)
            {
                return null;
            }

            return new NetworkSpec(
                className,
                ns == "global" ? string.Empty : ns,
                accessibility,
                System.IO.Path.GetFileName(primary.Path),
                architectureSource,
                arch.DetectVariant(),
                arch.InputChannels!.Value,
                arch.InputHeight!.Value,
                arch.InputWidth!.Value,
                arch.NumClasses.Value,
                layers.ToEquatableArray(),
                tensorSpecs.ToEquatableArray(),
                (arch.Mean ?? Array.Empty<float>()).ToEquatableArray(),
                (arch.Std ?? Array.Empty<float>()).ToEquatableArray(),
                arch.CropPct ?? 0f,
                (arch.Labels ?? Array.Empty<string>()).ToEquatableArray(),
                HasWeights: weights != null,
                EmbedWeights: weights != null && embed,
                ResourceName: weights == null ? string.Empty : (options.ResourceName ?? DefaultResourceName(weights.Path)),
                FileLength: weights?.Length ?? 0,
                HeaderHash: weights?.HeaderHash ?? 0,
                DataOffset: header?.DataOffset ?? 0);
        }

        /// <summary>The manifest resource name the build targets give a weight file unless MobileOneResourceName is set.</summary>
        public static string DefaultResourceName(string path) => "MobileOne.Weights." + System.IO.Path.GetFileName(path);

        /// <summary><c>mobileone_s1</c> → <c>MobileOneS1</c>: words split at non-alphanumerics, each capitalised.</summary>
        public static string ClassNameFromFileName(string baseName)
        {
            var sb = new StringBuilder();
            foreach (string part in baseName.Split(new[] { '_', '-', '.', ' ' }, StringSplitOptions.RemoveEmptyEntries))
            {
                string word = string.Equals(part, "mobileone", StringComparison.OrdinalIgnoreCase) ? "MobileOne" : part;
                sb.Append(char.ToUpperInvariant(word[0])).Append(word, 1, word.Length - 1);
            }

            return sb.ToString();
        }

        private static bool IsValidTypeName(string name) =>
            SyntaxFacts.IsValidIdentifier(name) && SyntaxFacts.GetKeywordKind(name) == SyntaxKind.None && SyntaxFacts.GetContextualKeywordKind(name) != SyntaxKind.VarKeyword;

        private static Dictionary<string, SafetensorsTensor>? Canonicalize(SafetensorsHeader header, string path, string fileName, List<DiagnosticInfo> diagnostics, out TensorNaming naming)
        {
            var result = new Dictionary<string, SafetensorsTensor>(StringComparer.Ordinal);
            bool apple = false, timm = false;
            foreach (SafetensorsTensor t in header.Tensors)
            {
                string canonical = TensorNames.ToCanonical(t.Name, out TensorNaming n);
                apple |= n == TensorNaming.Apple;
                timm |= n == TensorNaming.Timm;
                if (canonical.Contains(".rbr_conv.") || canonical.Contains(".rbr_scale.") || canonical.Contains(".rbr_skip."))
                {
                    diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.NotAMobileOne, path, fileName, $"tensor '{t.Name}' belongs to a train-time (unfused) checkpoint; fold its branches first (mobileone fuse)"));
                    naming = TensorNaming.Unknown;
                    return null;
                }

                if (result.ContainsKey(canonical))
                {
                    diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.UnexpectedTensor, path, fileName, t.Name, t.ShapeText + " (a second name for '" + canonical + "')"));
                    naming = TensorNaming.Unknown;
                    return null;
                }

                result[canonical] = t;
            }

            if (apple && timm)
            {
                diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.NotAMobileOne, path, fileName, "it mixes Apple's tensor names (stage0., linear.) with timm's (stem., stages., head.fc.)"));
                naming = TensorNaming.Unknown;
                return null;
            }

            naming = timm ? TensorNaming.Timm : TensorNaming.Apple;
            return result;
        }

        private static Architecture? Infer(Dictionary<string, SafetensorsTensor> tensors, string path, string fileName, List<DiagnosticInfo> diagnostics)
        {
            if (!tensors.TryGetValue("stage0.reparam_conv.weight", out SafetensorsTensor? stem))
            {
                string found = tensors.Count == 0 ? "it holds no tensors" : "it has no stem tensor 'stage0.reparam_conv.weight' (timm: 'stem.reparam_conv.weight'); its first tensor is '" + tensors.Values.First().Name + "'";
                diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.NotAMobileOne, path, fileName, found));
                return null;
            }

            if (stem.Shape.Length != 4 || stem.Shape[2] != 3 || stem.Shape[3] != 3 || stem.Shape[0] < 1 || stem.Shape[1] < 1
                || stem.Shape[0] > Architecture.MaxChannels || stem.Shape[1] > Architecture.MaxChannels)
            {
                diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.WrongShape, path, fileName, stem.Name, stem.ShapeText, "[C, Cin, 3, 3]"));
                return null;
            }

            var arch = new Architecture
            {
                InputChannels = (int)stem.Shape[1],
                StemChannels = (int)stem.Shape[0],
                StageChannels = new int[Architecture.Stages],
                StageBlocks = new int[Architecture.Stages],
                SeBlocks = new int[Architecture.Stages],
            };
            for (int s = 1; s <= Architecture.Stages; s++)
            {
                int layers = 0;
                while (layers < 2 * Architecture.MaxBlocks && tensors.ContainsKey(Name(s, layers, "reparam_conv.weight")))
                {
                    layers++;
                }

                if (layers == 0 || layers % 2 != 0)
                {
                    string why = layers == 0
                        ? $"it has no tensor '{Name(s, 0, "reparam_conv.weight")}': stage {s} is missing"
                        : $"stage {s} has {layers} conv layers; a MobileOne stage holds depthwise/pointwise pairs (stage{s}.0 … stage{s}.{layers - 1}), so '{Name(s, layers, "reparam_conv.weight")}' is missing";
                    diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.NotAMobileOne, path, fileName, why));
                    return null;
                }

                SafetensorsTensor last = tensors[Name(s, layers - 1, "reparam_conv.weight")];
                if (last.Shape.Length != 4 || last.Shape[0] < 1 || last.Shape[0] > Architecture.MaxChannels)
                {
                    diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.WrongShape, path, fileName, last.Name, last.ShapeText, "[Cout, Cin, 1, 1]"));
                    return null;
                }

                int blocks = layers / 2;
                int se = 0;
                while (se < blocks && tensors.ContainsKey(Name(s, 2 * (blocks - 1 - se), "se.reduce.weight")))
                {
                    se++;
                }

                arch.StageChannels[s - 1] = (int)last.Shape[0];
                arch.StageBlocks[s - 1] = blocks;
                arch.SeBlocks[s - 1] = se;
            }

            if (!tensors.TryGetValue("linear.weight", out SafetensorsTensor? linear))
            {
                diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.NotAMobileOne, path, fileName, "it has no classifier tensor 'linear.weight' (timm: 'head.fc.weight')"));
                return null;
            }

            if (linear.Shape.Length != 2 || linear.Shape[0] < 1 || linear.Shape[0] > Architecture.MaxClasses)
            {
                diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.WrongShape, path, fileName, linear.Name, linear.ShapeText, "[numClasses, " + arch.StageChannels[3].ToString(CultureInfo.InvariantCulture) + "]"));
                return null;
            }

            arch.NumClasses = (int)linear.Shape[0];
            return arch;

            static string Name(int stage, int index, string suffix) =>
                "stage" + stage.ToString(CultureInfo.InvariantCulture) + "." + index.ToString(CultureInfo.InvariantCulture) + "." + suffix;
        }

        private static List<(string Name, int[] Shape)> ExpectedTensors(List<LayerSpec> layers, int numClasses)
        {
            var list = new List<(string, int[])>();
            foreach (LayerSpec layer in layers)
            {
                int[] weight = layer.Kind switch
                {
                    LayerKind.Stem => new[] { layer.OutChannels, layer.InChannels, 3, 3 },
                    LayerKind.Depthwise => new[] { layer.OutChannels, 1, 3, 3 },
                    _ => new[] { layer.OutChannels, layer.InChannels, 1, 1 },
                };
                list.Add((layer.WeightName, weight));
                list.Add((layer.BiasName, new[] { layer.OutChannels }));
                if (layer.HasSqueezeExcite)
                {
                    int c = layer.OutChannels, r = layer.SeReducedChannels;
                    list.Add((layer.Name + ".se.reduce.weight", new[] { r, c, 1, 1 }));
                    list.Add((layer.Name + ".se.reduce.bias", new[] { r }));
                    list.Add((layer.Name + ".se.expand.weight", new[] { c, r, 1, 1 }));
                    list.Add((layer.Name + ".se.expand.bias", new[] { c }));
                }
            }

            int features = layers[layers.Count - 1].OutChannels;
            list.Add(("linear.weight", new[] { numClasses, features }));
            list.Add(("linear.bias", new[] { numClasses }));
            return list;
        }

        private static bool CheckTensors(List<(string Name, int[] Shape)> expected, Dictionary<string, SafetensorsTensor> tensors, string path, string fileName, List<DiagnosticInfo> diagnostics)
        {
            int before = diagnostics.Count;
            var names = new HashSet<string>(StringComparer.Ordinal);
            foreach (var (name, shape) in expected)
            {
                names.Add(name);
                string shapeText = SafetensorsHeader.FormatShape(shape.Select(d => (long)d).ToArray());
                if (!tensors.TryGetValue(name, out SafetensorsTensor? t))
                {
                    diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.MissingTensor, path, fileName, name, shapeText));
                    continue;
                }

                if (t.DType != "F32" && t.DType != "F16" && t.DType != "BF16")
                {
                    diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.UnsupportedDType, path, fileName, t.Name, t.DType));
                }

                if (!t.Shape.SequenceEqual(shape.Select(d => (long)d)))
                {
                    diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.WrongShape, path, fileName, t.Name, t.ShapeText, shapeText));
                }
            }

            foreach (var pair in tensors)
            {
                if (!names.Contains(pair.Key))
                {
                    diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.UnexpectedTensor, path, fileName, pair.Value.Name, pair.Value.DType + " " + pair.Value.ShapeText));
                }
            }

            return diagnostics.Count == before;
        }

        private static bool CheckComplete(Architecture arch, string path, string source, List<DiagnosticInfo> diagnostics)
        {
            var missing = new List<string>();
            if (arch.InputChannels == null)
            {
                missing.Add("inputChannels");
            }

            if (arch.StemChannels == null)
            {
                missing.Add("stemChannels");
            }

            if (arch.StageChannels == null)
            {
                missing.Add("stageChannels");
            }

            if (arch.StageBlocks == null)
            {
                missing.Add("stageBlocks");
            }

            if (arch.NumClasses == null)
            {
                missing.Add("numClasses");
            }

            if (missing.Count > 0)
            {
                diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.InvalidArchitecture, path, source, "without a weight file the architecture must name a 'variant' or give " + string.Join(", ", missing)));
                return false;
            }

            arch.SeBlocks ??= new int[Architecture.Stages];
            return true;
        }

        private static bool CheckNormalization(Architecture arch, string path, string source, List<DiagnosticInfo> diagnostics)
        {
            int c = arch.InputChannels!.Value;
            string? problem =
                (arch.Mean == null) != (arch.Std == null) ? "'mean' and 'std' must be given together" :
                arch.Mean != null && arch.Mean.Length != c ? $"'mean' has {arch.Mean.Length} values but the input has {c} channels" :
                arch.Std != null && arch.Std.Length != c ? $"'std' has {arch.Std.Length} values but the input has {c} channels" :
                arch.Labels != null && arch.Labels.Length != arch.NumClasses ? $"'labels' has {arch.Labels.Length} entries but the network has {arch.NumClasses} classes" :
                null;
            if (problem != null)
            {
                diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.InvalidArchitecture, path, source, problem));
                return false;
            }

            return true;
        }

        private static void Compare(string field, int? declared, int? actual, List<string> mismatches)
        {
            if (declared != null && declared != actual)
            {
                mismatches.Add($"{field} is {declared} in the architecture but {actual} in the weights");
            }
        }

        private static void Compare(string field, int[]? declared, int[]? actual, List<string> mismatches)
        {
            if (declared != null && actual != null && !declared.SequenceEqual(actual))
            {
                mismatches.Add($"{field} is [{string.Join(", ", declared)}] in the architecture but [{string.Join(", ", actual)}] in the weights");
            }
        }
    }
}
