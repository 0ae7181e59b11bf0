using System;
using System.Collections.Generic;

namespace MobileOne.Model;

/// <summary>
/// The packed weight layout the kernels read (docs/design.md, "Packed weights"): the one table of packed sizes, in
/// floats. Channel counts are padded to multiples of 16 ("CP", "NP"), so regions laid out back to back each start on
/// a 64-byte boundary. Sizes are 64-bit so that a plan can be checked against int limits before anything is built, and
/// the arithmetic is checked: a size beyond long throws <see cref="OverflowException"/> instead of wrapping to a small one.
/// </summary>
internal static class PackedLayout
{
    /// <summary>Rounds up to a multiple of 16.</summary>
    public static long RoundUp16(long n) => checked(n + 15) & ~15L;

    /// <summary>Stem 3x3 weight <c>[CoutP/16][Cin][3][3][16]</c>.</summary>
    public static long Stem(long cout, long cin) => checked(RoundUp16(cout) * cin * 9);

    /// <summary>Depthwise 3x3 weight <c>[9][CP]</c>.</summary>
    public static long Depthwise(long channels) => checked(9 * RoundUp16(channels));

    /// <summary>Pointwise 1x1 weight <c>[CoutP/16][Cin][16]</c>.</summary>
    public static long Pointwise(long cout, long cin) => checked(RoundUp16(cout) * cin);

    /// <summary>Any bias <c>[RoundUp(n, 16)]</c>.</summary>
    public static long Bias(long n) => RoundUp16(n);

    /// <summary>SE reduce weight <c>[R][CP]</c>.</summary>
    public static long SeReduce(long reduced, long channels) => checked(reduced * RoundUp16(channels));

    /// <summary>SE reduce bias <c>[RoundUp(R, 16)]</c>.</summary>
    public static long SeReduceBias(long reduced) => RoundUp16(reduced);

    /// <summary>SE expand weight, transposed <c>[R][CP]</c>.</summary>
    public static long SeExpand(long channels, long reduced) => checked(reduced * RoundUp16(channels));

    /// <summary>Linear weight in 16-output blocks <c>[NP/16][Cin][16]</c>.</summary>
    public static long Linear(long outFeatures, long inFeatures) => checked(inFeatures * RoundUp16(outFeatures));

    /// <summary>The packed conv weight of a layer.</summary>
    public static long Weight(LayerShape layer) => layer.Type switch
    {
        LayerType.Stem => Stem(layer.OutChannels, layer.InChannels),
        LayerType.Depthwise => Depthwise(layer.OutChannels),
        _ => Pointwise(layer.OutChannels, layer.InChannels),
    };

    /// <summary>
    /// Every packed region of a network in buffer order, with its offset: per layer <c>Weight</c>, <c>Bias</c> (and
    /// <c>SeReduceWeight</c>, <c>SeReduceBias</c>, <c>SeExpandWeight</c>, <c>SeExpandBias</c>), then <c>Linear_Weight</c>,
    /// <c>Linear_Bias</c>. Region names are <c>{LayerShape.Identifier}_{part}</c>.
    /// </summary>
    public static IReadOnlyList<PackedRegion> Regions(NetworkShape network)
    {
        var list = new List<PackedRegion>();
        long offset = 0;
        void Add(string name, string tensor, long size)
        {
            list.Add(new PackedRegion(name, tensor, offset, size));
            offset = checked(offset + size);
        }

        foreach (LayerShape l in network.Layers())
        {
            string id = l.Identifier;
            Add(id + "_Weight", l.Name + ".reparam_conv.weight", Weight(l));
            Add(id + "_Bias", l.Name + ".reparam_conv.bias", Bias(l.OutChannels));
            AddSqueezeExcite(list, l, ref offset);
        }

        AddLinear(list, network, ref offset);
        return list;
    }

    /// <summary>Int8 pointwise weight <c>[CoutP/16][CinP/4][16][4]</c> bytes, in 4-byte units (docs/quantization.md).</summary>
    public static long Int8Pointwise(long cout, long cin) => checked(RoundUp16(cout) * RoundUp16(cin) / 4);

    /// <summary>
    /// The packed buffer of a quantized network (docs/quantization.md), in 4-byte units (floats, int32 biases, and int8
    /// pointwise weights four to a unit), each region on a 64-byte boundary. Per layer: <c>Weight</c> (the stem and
    /// depthwise weights as float integers in their FP32 layouts, the pointwise weights as packed int8), for the stem
    /// also <c>ZeroBias</c> (the float kernel runs without a bias), <c>Bias</c> (int32), <c>Scale</c> (the float
    /// requantisation or dequantisation multipliers), the squeeze-excite regions as in FP32; then the linear head and
    /// <c>ActivationScales</c> (the input scale, then each layer's output scale).
    /// </summary>
    public static IReadOnlyList<PackedRegion> QuantizedRegions(NetworkShape network)
    {
        var list = new List<PackedRegion>();
        long offset = 0;
        void Add(string name, string tensor, long size)
        {
            list.Add(new PackedRegion(name, tensor, offset, size));
            offset = checked(offset + size);
        }

        int layers = 0;
        foreach (LayerShape l in network.Layers())
        {
            string id = l.Identifier;
            layers++;
            Add(id + "_Weight", l.Name + ".reparam_conv.weight", l.Type == LayerType.Pointwise ? Int8Pointwise(l.OutChannels, l.InChannels) : Weight(l));
            if (l.Type == LayerType.Stem)
            {
                Add(id + "_ZeroBias", string.Empty, Bias(l.OutChannels));
            }

            Add(id + "_Bias", l.Name + ".reparam_conv.bias", Bias(l.OutChannels));
            Add(id + "_Scale", l.Name + QuantizationScheme.WeightScaleSuffix, Bias(l.OutChannels));
            AddSqueezeExcite(list, l, ref offset);
        }

        AddLinear(list, network, ref offset);
        Add("ActivationScales", string.Empty, Bias(layers + 1));
        return list;
    }

    /// <summary>The squeeze-excite regions of a layer that has it (the same in FP32 and int8 networks).</summary>
    private static void AddSqueezeExcite(List<PackedRegion> list, LayerShape l, ref long offset)
    {
        if (!l.HasSe)
        {
            return;
        }

        string id = l.Identifier;
        Add(list, ref offset, id + "_SeReduceWeight", l.Name + ".se.reduce.weight", SeReduce(l.SeReduced, l.OutChannels));
        Add(list, ref offset, id + "_SeReduceBias", l.Name + ".se.reduce.bias", SeReduceBias(l.SeReduced));
        Add(list, ref offset, id + "_SeExpandWeight", l.Name + ".se.expand.weight", SeExpand(l.OutChannels, l.SeReduced));
        Add(list, ref offset, id + "_SeExpandBias", l.Name + ".se.expand.bias", Bias(l.OutChannels));
    }

    /// <summary>The linear head's regions (the same in FP32 and int8 networks).</summary>
    private static void AddLinear(List<PackedRegion> list, NetworkShape network, ref long offset)
    {
        Add(list, ref offset, "Linear_Weight", "linear.weight", Linear(network.NumClasses, network.FeatureChannels));
        Add(list, ref offset, "Linear_Bias", "linear.bias", Bias(network.NumClasses));
    }

    private static void Add(List<PackedRegion> list, ref long offset, string name, string tensor, long size)
    {
        list.Add(new PackedRegion(name, tensor, offset, size));
        offset = checked(offset + size);
    }
}

/// <summary>One packed tensor: its name in the plan, the tensor it packs, and where it lies in the buffer (floats).</summary>
internal readonly struct PackedRegion
{
    public PackedRegion(string name, string tensor, long offset, long length)
    {
        Name = name;
        Tensor = tensor;
        Offset = offset;
        Length = length;
    }

    public string Name { get; }

    public string Tensor { get; }

    public long Offset { get; }

    public long Length { get; }
}
