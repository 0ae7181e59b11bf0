using System;
using System.Collections.Generic;
using MobileOne.Generator.Helpers;

namespace MobileOne.Generator.Model
{
    /// <summary>
    /// Where each packed tensor and each activation buffer goes, in floats (sizes per docs/design.md). Computed in
    /// 64-bit so that the parser can reject networks whose buffers would not fit an int before the emitter runs.
    /// </summary>
    internal sealed class PackPlan
    {
        private readonly Dictionary<string, long> _sizes = new Dictionary<string, long>();

        public PackPlan(EquatableArray<LayerSpec> layers, int numClasses)
            : this((IEnumerable<LayerSpec>)layers, numClasses)
        {
        }

        public PackPlan(IEnumerable<LayerSpec> layers, int numClasses)
        {
            long activation = 0, seScratch = 0;
            int features = 0;
            foreach (LayerSpec l in layers)
            {
                string id = Identifier(l.Name);
                long coutP = RoundUp16(l.OutChannels);
                Add(id + "_Weight", l.Kind switch
                {
                    LayerKind.Stem => coutP * l.InChannels * 9,
                    LayerKind.Depthwise => 9 * coutP,
                    _ => coutP * l.InChannels,
                });
                Add(id + "_Bias", coutP);
                if (l.HasSqueezeExcite)
                {
                    long r = l.SeReducedChannels;
                    Add(id + "_SeReduceWeight", r * coutP);
                    Add(id + "_SeReduceBias", RoundUp16(r));
                    Add(id + "_SeExpandWeight", r * coutP);
                    Add(id + "_SeExpandBias", coutP);
                    seScratch = Math.Max(seScratch, coutP + RoundUp16(r));
                }

                activation = Math.Max(activation, (long)l.OutHeight * l.OutWidth * coutP);
                features = l.OutChannels;
            }

            ClassesPadded = RoundUp16(numClasses);
            Add("Linear_Weight", features * ClassesPadded);
            Add("Linear_Bias", ClassesPadded);

            ActivationLength = RoundUp16(activation);
            AddScratch("A", ActivationLength);
            AddScratch("B", ActivationLength);
            if (seScratch > 0)
            {
                AddScratch("SqueezeExcite", seScratch);
            }

            AddScratch("Pooled", RoundUp16(features));
            AddScratch("Logits", ClassesPadded);
        }

        public List<(string Name, long Offset)> Regions { get; } = new List<(string, long)>();

        public List<(string Name, long Offset)> ScratchRegions { get; } = new List<(string, long)>();

        /// <summary>Floats of packed weights.</summary>
        public long Length { get; private set; }

        /// <summary>Floats of per-thread activation scratch.</summary>
        public long ScratchLength { get; private set; }

        public long ClassesPadded { get; }

        public long ActivationLength { get; }

        /// <summary>Whether every buffer and offset fits the int indices of spans.</summary>
        public bool FitsInt32 => Length <= int.MaxValue && ScratchLength <= int.MaxValue;

        public long Size(string region) => _sizes[region];

        /// <summary><c>stage2.5</c> → <c>Stage2_5</c>.</summary>
        public static string Identifier(string layerName) =>
            char.ToUpperInvariant(layerName[0]) + layerName.Substring(1).Replace('.', '_');

        public static long RoundUp16(long n) => (n + 15) / 16 * 16;

        private void Add(string name, long size)
        {
            Regions.Add((name, Length));
            _sizes[name] = size;
            Length += RoundUp16(size);
        }

        private void AddScratch(string name, long size)
        {
            ScratchRegions.Add((name, ScratchLength));
            ScratchLength += RoundUp16(size);
        }
    }
}
