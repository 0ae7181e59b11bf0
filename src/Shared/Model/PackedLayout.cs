using System;
using System.Collections.Generic;
using System.Linq;

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

    /// <summary>
    /// The packing plan of a network: every tensor it reads, in file order (<see cref="NetworkShape.FusedTensors"/>, or
    /// <see cref="QuantizationScheme.Tensors"/> for an int8 network), with how it is packed (a name of the runtime's
    /// <c>TensorPacking</c>), the region it is packed into and, for a requantisation multiplier, the activation scales it
    /// is made of. The generator emits this table into each class; the build-time packer and <c>Load</c> derive it from
    /// the same call, so both always agree on where every tensor lies.
    /// </summary>
    public static IReadOnlyList<PackedTensor> Tensors(NetworkShape network, bool quantized)
    {
        var regions = new Dictionary<string, PackedRegion>(StringComparer.Ordinal);
        foreach (PackedRegion r in quantized ? QuantizedRegions(network) : Regions(network))
        {
            regions[r.Name] = r;
        }

        var plan = new Dictionary<string, (string Packing, string Region, int InputScale, int OutputScale)>(StringComparer.Ordinal);
        int index = 0;
        foreach (LayerShape l in network.Layers())
        {
            string id = l.Identifier;
            string kind = l.Type == LayerType.Stem ? "Stem" : l.Type == LayerType.Depthwise ? "Depthwise" : "Pointwise";
            if (quantized)
            {
                // Scale indexes: 0 is the network input, i + 1 the output of layer i (docs/quantization.md).
                plan[l.Name + ".reparam_conv.weight"] = ("Int8" + kind, id + "_Weight", -1, -1);
                plan[l.Name + ".reparam_conv.bias"] = ("Int32Bias", id + "_Bias", -1, -1);
                plan[l.Name + QuantizationScheme.WeightScaleSuffix] = l.HasSe
                    ? ("Dequantize", id + "_Scale", index, -1)
                    : ("Requantize", id + "_Scale", index, index + 1);
            }
            else
            {
                plan[l.Name + ".reparam_conv.weight"] = (kind, id + "_Weight", -1, -1);
                plan[l.Name + ".reparam_conv.bias"] = ("Bias", id + "_Bias", -1, -1);
            }

            if (l.HasSe)
            {
                plan[l.Name + ".se.reduce.weight"] = ("SeReduce", id + "_SeReduceWeight", -1, -1);
                plan[l.Name + ".se.reduce.bias"] = ("Bias", id + "_SeReduceBias", -1, -1);
                plan[l.Name + ".se.expand.weight"] = ("SeExpand", id + "_SeExpandWeight", -1, -1);
                plan[l.Name + ".se.expand.bias"] = ("Bias", id + "_SeExpandBias", -1, -1);
            }

            index++;
        }

        plan["linear.weight"] = ("Linear", "Linear_Weight", -1, -1);
        plan["linear.bias"] = ("Bias", "Linear_Bias", -1, -1);

        var list = new List<PackedTensor>();
        IEnumerable<(string Name, int[] Shape, string DType)> tensors = quantized
            ? QuantizationScheme.Tensors(network).Select(t => (t.Name, t.Shape, t.DType))
            : network.FusedTensors().Select(t => (t.Name, t.Shape, "F32"));
        foreach ((string name, int[] shape, string dtype) in tensors)
        {
            var p = plan[name];
            PackedRegion r = regions[p.Region];
            list.Add(new PackedTensor(name, shape, dtype, p.Packing, r.Name, r.Offset, r.Length, p.InputScale, p.OutputScale));
        }

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

/// <summary>
/// One row of a network's packing plan (<see cref="PackedLayout.Tensors"/>): a tensor (Apple's name, shape, the dtype a
/// file of this kind stores it in), how it is packed, and the packed region it fills (floats).
/// </summary>
internal sealed class PackedTensor
{
    public PackedTensor(string name, int[] shape, string dtype, string packing, string region, long offset, long length, int inputScaleIndex, int outputScaleIndex)
    {
        Name = name;
        Shape = shape;
        DType = dtype;
        Packing = packing;
        Region = region;
        Offset = offset;
        Length = length;
        InputScaleIndex = inputScaleIndex;
        OutputScaleIndex = outputScaleIndex;
    }

    public string Name { get; }

    public int[] Shape { get; }

    /// <summary>F32 for an FP32 network; I8, I32 or F32 in a quantized one (F16/BF16 files are widened on load).</summary>
    public string DType { get; }

    /// <summary>The name of a runtime <c>TensorPacking</c> member.</summary>
    public string Packing { get; }

    public string Region { get; }

    public long Offset { get; }

    public long Length { get; }

    /// <summary>For a requantisation or dequantisation multiplier: the index of the layer's input scale (0 = the network input, i + 1 = layer i's output), else -1.</summary>
    public int InputScaleIndex { get; }

    /// <summary>For a requantisation multiplier: the index of the layer's output scale, else -1.</summary>
    public int OutputScaleIndex { get; }
}
