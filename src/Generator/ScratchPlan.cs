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

    public ScratchPlan(IEnumerable<LayerSpec> layers, int numClasses)
    {
        long activation = 0, seScratch = 0;
        int features = 0;
        foreach (LayerSpec l in layers)
        {
            long coutP = PackedLayout.RoundUp16(l.OutChannels);
            if (l.HasSqueezeExcite)
            {
                seScratch = Math.Max(seScratch, coutP + PackedLayout.RoundUp16(l.SeReducedChannels));
            }

            activation = Math.Max(activation, (long)l.OutHeight * l.OutWidth * coutP);
            features = l.OutChannels;
        }

        ClassesPadded = PackedLayout.RoundUp16(numClasses);
        ActivationLength = PackedLayout.RoundUp16(activation);
        Add("A", ActivationLength);
        Add("B", ActivationLength);
        if (seScratch > 0)
        {
            Add("SqueezeExcite", seScratch);
        }

        Add("Pooled", PackedLayout.RoundUp16(features));
        Add("Logits", ClassesPadded);
    }

    /// <summary>Each buffer's name and offset, in order.</summary>
    public IReadOnlyList<(string Name, long Offset)> Regions => _regions;

    /// <summary>Floats of per-thread activation scratch.</summary>
    public long Length { get; private set; }

    /// <summary>The class count rounded up to 16: the linear kernel's output width.</summary>
    public long ClassesPadded { get; }

    /// <summary>Floats of one activation buffer (the largest padded feature map).</summary>
    public long ActivationLength { get; }

    private void Add(string name, long size)
    {
        _regions.Add((name, Length));
        Length += PackedLayout.RoundUp16(size);
    }
}
