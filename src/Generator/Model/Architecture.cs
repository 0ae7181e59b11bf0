using System;
using System.Collections.Generic;

namespace MobileOne.Generator.Model
{
    /// <summary>
    /// A MobileOne's shape as read from an architecture file, safetensors metadata or tensor shapes.
    /// Parser-internal and mutable: fields are null until a source sets them.
    /// </summary>
    internal sealed class Architecture
    {
        public const int Stages = 4;
        public const int MinInputSize = 32;
        public const int MaxInputSize = 8192;
        public const int MaxChannels = 65536;
        public const int MaxBlocks = 1024;
        public const int MaxClasses = 1_000_000;

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

        /// <summary>The five published variants (MOBILEONE-SPEC.md §1.2, §1.3): 224x224, 1000 classes.</summary>
        public static Architecture? Preset(string name)
        {
            int[] blocks = { 2, 8, 10, 1 };
            switch (name.Trim().ToLowerInvariant().Replace("mobileone_", string.Empty).Replace("mobileone-", string.Empty))
            {
                case "s0": return Make("S0", 48, new[] { 48, 128, 256, 1024 }, blocks, new[] { 0, 0, 0, 0 });
                case "s1": return Make("S1", 64, new[] { 96, 192, 512, 1280 }, blocks, new[] { 0, 0, 0, 0 });
                case "s2": return Make("S2", 64, new[] { 96, 256, 640, 2048 }, blocks, new[] { 0, 0, 0, 0 });
                case "s3": return Make("S3", 64, new[] { 128, 320, 768, 2048 }, blocks, new[] { 0, 0, 0, 0 });
                case "s4": return Make("S4", 64, new[] { 192, 448, 896, 2048 }, blocks, new[] { 0, 0, 5, 1 });
                default: return null;
            }

            static Architecture Make(string variant, int stem, int[] channels, int[] stageBlocks, int[] se) => new Architecture
            {
                Variant = variant,
                InputChannels = 3,
                InputHeight = 224,
                InputWidth = 224,
                StemChannels = stem,
                StageChannels = channels,
                StageBlocks = stageBlocks,
                SeBlocks = se,
                NumClasses = 1000,
            };
        }

        /// <summary>The preset whose widths, depths and SE placement equal this one's, or "custom".</summary>
        public string DetectVariant()
        {
            foreach (string name in new[] { "s0", "s1", "s2", "s3", "s4" })
            {
                Architecture p = Preset(name)!;
                if (p.StemChannels == StemChannels && Same(p.StageChannels, StageChannels) && Same(p.StageBlocks, StageBlocks) && Same(p.SeBlocks, SeBlocks) && InputChannels == 3)
                {
                    return p.Variant!;
                }
            }

            return "custom";
        }

        /// <summary>Default squeeze-excite width for C channels: Apple's int(C * 0.0625), at least 1.</summary>
        public static int DefaultSeReduced(int channels) => Math.Max(1, channels / 16);

        /// <summary>The fused conv layers in order (stage0, stage1.0, stage1.1, …), with spatial sizes.</summary>
        public List<LayerSpec> BuildLayers(Func<string, int, int> seReduced)
        {
            var layers = new List<LayerSpec>();
            int h = InputHeight!.Value, w = InputWidth!.Value;
            int ho = OutSize(h, 2), wo = OutSize(w, 2);
            int channels = StemChannels!.Value;
            layers.Add(new LayerSpec("stage0", LayerKind.Stem, InputChannels!.Value, channels, 2, h, w, ho, wo, 0));
            h = ho;
            w = wo;
            for (int s = 0; s < Stages; s++)
            {
                int blocks = StageBlocks![s];
                int planes = StageChannels![s];
                for (int b = 0; b < blocks; b++)
                {
                    int stride = b == 0 ? 2 : 1;
                    bool se = b >= blocks - SeBlocks![s];
                    ho = OutSize(h, stride);
                    wo = OutSize(w, stride);
                    string dw = "stage" + (s + 1) + "." + (2 * b);
                    string pw = "stage" + (s + 1) + "." + ((2 * b) + 1);
                    layers.Add(new LayerSpec(dw, LayerKind.Depthwise, channels, channels, stride, h, w, ho, wo, se ? seReduced(dw, channels) : 0));
                    layers.Add(new LayerSpec(pw, LayerKind.Pointwise, channels, planes, 1, ho, wo, ho, wo, se ? seReduced(pw, planes) : 0));
                    channels = planes;
                    h = ho;
                    w = wo;
                }
            }

            return layers;
        }

        /// <summary>Output size of a 3x3, padding 1 convolution.</summary>
        public static int OutSize(int size, int stride) => ((size + 2 - 3) / stride) + 1;

        private static bool Same(int[]? a, int[]? b)
        {
            if (a == null || b == null || a.Length != b.Length)
            {
                return false;
            }

            for (int i = 0; i < a.Length; i++)
            {
                if (a[i] != b[i])
                {
                    return false;
                }
            }

            return true;
        }
    }
}
