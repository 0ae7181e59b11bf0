using System;
using System.Collections.Generic;
using MobileOne.Generator.Model;
using MobileOne.Model;

namespace MobileOne.Generator;

/// <summary>
/// The per-thread activation buffers of a generated class, in floats (docs/design.md): two ping-pong activation
/// buffers, the squeeze-excite scratch, the pooled features and the padded logits, each rounded up to 16 floats.
/// Computed in 64-bit so that the parser can reject networks whose buffers would not fit an int before the emitter
/// runs. The packed weight layout is the shared <see cref="PackedLayout"/>; only this plan is the generator's own.
/// </summary>
internal sealed class ScratchPlan
{
    private readonly List<(string Name, long Offset)> _regions = new List<(string, long)>();

    public ScratchPlan(IEnumerable<LayerSpec> layers, int numClasses, bool quantized = false)
    {
        long activation = 0, seScratch = 0, seActivation = 0, stemActivation = 0, input = 0;
        int features = 0;
        foreach (LayerSpec l in layers)
        {
            long coutP = PackedLayout.RoundUp16(l.OutChannels);
            long size = (long)l.OutHeight * l.OutWidth * coutP;
            if (l.HasSqueezeExcite)
            {
                seScratch = Math.Max(seScratch, coutP + PackedLayout.RoundUp16(l.SeReducedChannels));
                seActivation = Math.Max(seActivation, size);
            }

            if (l.Kind == LayerType.Stem)
            {
                stemActivation = size;
                input = (long)l.InChannels * l.InHeight * l.InWidth;
            }

            activation = Math.Max(activation, size);
            features = l.OutChannels;
        }

        ClassesPadded = PackedLayout.RoundUp16(numClasses);
        IsQuantized = quantized;
        if (quantized)
        {
            // Int8 activations are bytes, four to a float of scratch; the stem's float accumulators and the float
            // output of a convolution followed by squeeze-excite have buffers of their own (docs/quantization.md).
            ActivationLength = PackedLayout.RoundUp16((activation + 3) / 4);
            Add("A", ActivationLength);
            Add("B", ActivationLength);
            Add("QuantizedInput", input);
            Add("StemAccumulators", stemActivation);
            if (seActivation > 0)
            {
                Add("SqueezeExciteInput", seActivation);
            }
        }
        else
        {
            ActivationLength = PackedLayout.RoundUp16(activation);
            Add("A", ActivationLength);
            Add("B", ActivationLength);
        }

        if (seScratch > 0)
        {
            Add("SqueezeExcite", seScratch);
        }

        Add("Pooled", PackedLayout.RoundUp16(features));
        Add("Logits", ClassesPadded);
    }

    /// <summary>Whether the plan is a quantized network's (byte activations, docs/quantization.md).</summary>
    public bool IsQuantized { get; }

    /// <summary>Each buffer's name and offset, in order.</summary>
    public IReadOnlyList<(string Name, long Offset)> Regions => _regions;

    /// <summary>Floats of per-thread activation scratch.</summary>
    public long Length { get; private set; }

    /// <summary>The class count rounded up to 16: the linear kernel's output width.</summary>
    public long ClassesPadded { get; }

    /// <summary>Floats of one activation buffer (the largest padded feature map; a quarter of it, in bytes, when quantized).</summary>
    public long ActivationLength { get; }

    private void Add(string name, long size)
    {
        _regions.Add((name, Length));
        Length += PackedLayout.RoundUp16(size);
    }
}
