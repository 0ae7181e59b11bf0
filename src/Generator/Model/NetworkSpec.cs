using MobileOne.Generator.Helpers;

namespace MobileOne.Generator.Model
{
    internal enum LayerKind
    {
        /// <summary>Full 3x3 convolution on the caller's CHW input (MobileOne's stage0).</summary>
        Stem,

        /// <summary>3x3 depthwise convolution, stride 1 or 2 (even indices of stages 1-4).</summary>
        Depthwise,

        /// <summary>1x1 convolution (odd indices of stages 1-4).</summary>
        Pointwise,
    }

    /// <summary>One fused conv layer: conv (+ bias) → optional squeeze-excite → ReLU.</summary>
    internal sealed record LayerSpec(
        string Name,
        LayerKind Kind,
        int InChannels,
        int OutChannels,
        int Stride,
        int InHeight,
        int InWidth,
        int OutHeight,
        int OutWidth,
        int SeReducedChannels)
    {
        public bool HasSqueezeExcite => SeReducedChannels > 0;

        public string WeightName => Name + ".reparam_conv.weight";

        public string BiasName => Name + ".reparam_conv.bias";

        public long Macs
        {
            get
            {
                long perPixel = Kind switch
                {
                    LayerKind.Stem => (long)OutChannels * InChannels * 9,
                    LayerKind.Depthwise => (long)OutChannels * 9,
                    _ => (long)OutChannels * InChannels,
                };
                long se = HasSqueezeExcite ? 2L * SeReducedChannels * OutChannels : 0;
                return (perPixel * OutHeight * OutWidth) + se;
            }
        }
    }

    /// <summary>A tensor the network reads: its canonical (Apple) name, the name in the file, shape, and where it is.</summary>
    /// <remarks><see cref="DType"/> is empty and the offsets are -1 when no weight file was seen at build time.</remarks>
    internal sealed record TensorSpec(string Name, string FileName, EquatableArray<int> Shape, string DType, long Begin, long End)
    {
        public long ElementCount
        {
            get
            {
                long n = 1;
                foreach (int d in Shape)
                {
                    n *= d;
                }

                return n;
            }
        }
    }

    /// <summary>Everything the emitter needs for one generated class. Value-equatable; no Roslyn symbols.</summary>
    internal sealed record NetworkSpec(
        string ClassName,
        string Namespace,
        string Accessibility,
        string SourceFileName,
        string ArchitectureSource,
        string Variant,
        int InputChannels,
        int InputHeight,
        int InputWidth,
        int NumClasses,
        EquatableArray<LayerSpec> Layers,
        EquatableArray<TensorSpec> Tensors,
        EquatableArray<float> Mean,
        EquatableArray<float> Std,
        float CropPct,
        EquatableArray<string> Labels,
        bool HasWeights,
        bool EmbedWeights,
        string ResourceName,
        long FileLength,
        ulong HeaderHash,
        long DataOffset)
    {
        public LayerSpec LastLayer => Layers[Layers.Count - 1];

        public int FeatureChannels => LastLayer.OutChannels;

        public long ParameterCount
        {
            get
            {
                long n = 0;
                foreach (TensorSpec t in Tensors)
                {
                    n += t.ElementCount;
                }

                return n;
            }
        }

        public long Macs
        {
            get
            {
                long n = (long)FeatureChannels * NumClasses;
                foreach (LayerSpec layer in Layers)
                {
                    n += layer.Macs;
                }

                return n;
            }
        }
    }

    /// <summary>The outcome of parsing one model: a spec (null on errors) and its diagnostics.</summary>
    internal sealed record ParseResult(NetworkSpec? Spec, EquatableArray<DiagnosticInfo> Diagnostics, string FilePath);
}
