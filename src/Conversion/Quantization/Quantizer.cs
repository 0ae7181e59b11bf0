using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using MobileOne.Model;

namespace MobileOne.Conversion.Quantization;

/// <summary>How <see cref="Quantizer"/> picks activation ranges.</summary>
public sealed record QuantizationOptions
{
    /// <summary>
    /// The default method, chosen by measurement: the Fashion-MNIST sample (FP32 91.33 %), calibrated on 100, 1,000 and
    /// 10,000 training images and run on the 10,000 test images by the contract's scalar INT8 reference. With
    /// equalization every method lands at 91.22–91.31 %; percentile 99.99 agreed best with FP32's top-1 (98.85 % at 1,000
    /// images, 98.84 % at 10,000) with a logit error as low as minmax's, while 99.9 clips too much (twice the logit
    /// error) and one outlier pixel can set a minmax range.
    /// </summary>
    public const CalibrationMethod DefaultMethod = CalibrationMethod.Percentile;

    /// <summary>The default percentile of <see cref="CalibrationMethod.Percentile"/> (see <see cref="DefaultMethod"/>).</summary>
    public const double DefaultPercentile = 99.99;

    /// <summary>MinMax or Percentile; applies to the input and to every activation.</summary>
    public CalibrationMethod Method { get; init; } = DefaultMethod;

    /// <summary>The percentile, in (0, 100], of <see cref="CalibrationMethod.Percentile"/>.</summary>
    public double Percentile { get; init; } = DefaultPercentile;

    /// <summary>
    /// Whether <see cref="Quantizer.Run"/> first zeroes the channels that were never positive and equalizes channel
    /// ranges across consecutive layers (<see cref="CrossLayerEqualization"/>; the FP32 function is unchanged on the
    /// calibration data). On by default: without it the Fashion-MNIST sample drops from 91.33 % to 32–82 % (BatchNorm
    /// folding left dead stem channels read by depthwise weights of ~600 and pointwise weights of ~400).
    /// </summary>
    public bool Equalize { get; init; } = true;

    /// <summary>The method's name as the file's metadata spells it.</summary>
    public string MethodName => Method == CalibrationMethod.MinMax ? "minmax" : "percentile";
}

/// <summary>The int8 weights of one convolution and what it took to make them.</summary>
/// <param name="Weight">Int8 weights in [-127, 127], in the fused weight's order.</param>
/// <param name="Scale">Per-output-channel scales, positive and finite.</param>
/// <param name="Bias">Int32 biases in units of <c>inputScale · Scale[o]</c>.</param>
/// <param name="PairRuleChannels">Pointwise channels whose scale the pair rule raised or whose weights it lowered.</param>
/// <param name="LoweredWeights">Weights lowered by one step after rounding to keep a pair within ±128.</param>
/// <param name="BiasLimitedChannels">Channels with nonzero weights whose scale was raised so that the int32 bias stays within the layer's exact range.</param>
/// <param name="ZeroChannels">Channels whose weights are all zero (scale from the bias, or <see cref="Quantizer.MinWeightScale"/>).</param>
/// <param name="ClampedBiases">Biases clamped to the layer's exact range (should be 0: the scale is raised first).</param>
public sealed record QuantizedWeights(sbyte[] Weight, float[] Scale, int[] Bias, int PairRuleChannels, int LoweredWeights, int BiasLimitedChannels, int ZeroChannels, int ClampedBiases);

/// <summary>What the quantizer did to one convolution.</summary>
/// <param name="Name">Layer name.</param>
/// <param name="Kind">Stem, depthwise or pointwise.</param>
/// <param name="InputScale">Scale of its input (the previous output scale; the network input scale for the stem).</param>
/// <param name="OutputScale">Scale of its uint8 output: <c>Range / 255</c>.</param>
/// <param name="CalibrationMax">Largest output seen in calibration.</param>
/// <param name="Range">The range chosen (the max, or the percentile).</param>
/// <param name="Weights">The quantized weights and their counts.</param>
public sealed record LayerQuantization(string Name, ConvLayerKind Kind, float InputScale, float OutputScale, float CalibrationMax, float Range, QuantizedWeights Weights)
{
    /// <summary>The equalization factor of each output channel (0: a channel never positive in calibration, zeroed); null when not equalized.</summary>
    public float[]? EqualizationFactors { get; init; }

    /// <summary>Output channels zeroed because calibration never saw them positive.</summary>
    public int DeadChannels => EqualizationFactors?.Count(f => f == 0) ?? 0;

    /// <summary>Smallest weight scale of the channels with a nonzero int8 weight (0 when there are none).</summary>
    public float MinWeightScale => ScalesOfNonzeroChannels().DefaultIfEmpty(0f).Min();

    /// <summary>Largest weight scale of the channels with a nonzero int8 weight (0 when there are none).</summary>
    public float MaxWeightScale => ScalesOfNonzeroChannels().DefaultIfEmpty(0f).Max();

    private IEnumerable<float> ScalesOfNonzeroChannels()
    {
        int per = Weights.Weight.Length / Weights.Scale.Length;
        for (int o = 0; o < Weights.Scale.Length; o++)
        {
            if (Weights.Weight.AsSpan(o * per, per).ContainsAnyExcept((sbyte)0))
            {
                yield return Weights.Scale[o];
            }
        }
    }
}

/// <summary>A quantized network and the per-layer record of how it was made.</summary>
/// <param name="Network">The quantized network.</param>
/// <param name="InputMax">Largest |input| seen in calibration.</param>
/// <param name="InputRange">The input range chosen.</param>
/// <param name="Layers">Per convolution, in network order.</param>
/// <param name="ArchitectureNote">Null when the source's architecture JSON was kept verbatim; otherwise why it was rewritten.</param>
public sealed record QuantizationResult(QuantizedNetwork Network, float InputMax, float InputRange, IReadOnlyList<LayerQuantization> Layers, string? ArchitectureNote);

/// <summary>
/// Post-training INT8 quantization of a fused MobileOne (docs/quantization.md): symmetric int8 weights per output
/// channel, int32 biases, uint8 activations and an int8 input with scales from calibration.
/// </summary>
/// <remarks>
/// <para>Weight scale of output channel o: <c>max|w[o]| / 127</c>, raised where needed to</para>
/// <list type="bullet">
/// <item>pointwise layers (the pair rule): the largest same-sign sum of an input-channel pair (2j, 2j+1), / 128; after
/// rounding, a pair still over ±128 has its larger weight lowered by one step (with round-half-even and the scale
/// rounded up to a float this does not happen in practice; it is the rule's guarantee);</item>
/// <item>every layer: <c>|b[o]| / (s_in · B)</c>, so the int32 bias stays within B = 2^30 for pointwise layers (int32
/// accumulation has room) and 2^24 minus the largest product sum for the stem and depthwise layers, which the
/// kernels sum in float (exact only below 2^24). A bias this large is a channel whose weights hardly matter.</item>
/// <item>at least <see cref="MinWeightScale"/> (an all-zero channel with zero bias).</item>
/// </list>
/// <para>Bias: <c>round_even(b / (s_in · s_w[o]))</c> in double. Activation scale: range / 255 (uint8, zero point 0);
/// input scale: range / 127 (int8). A tensor that was never nonzero in calibration gets range
/// <see cref="UnseenRange"/>.</para>
/// </remarks>
public static class Quantizer
{
    /// <summary>The smallest weight scale given (an all-zero channel with zero bias: its scale only sets its bias's units).</summary>
    public const float MinWeightScale = 1e-12f;

    /// <summary>The range of a tensor that calibration never saw nonzero (any positive value would do; 1 keeps the next layer's bias units sane).</summary>
    public const float UnseenRange = 1f;

    /// <summary>Bias bound of pointwise layers: int32 accumulation leaves room for the products of up to 33,000 input channels.</summary>
    public const int PointwiseBiasBound = 1 << 30;

    /// <summary>
    /// The whole post-training quantization: calibration statistics of <paramref name="network"/> on
    /// <paramref name="data"/>; with <see cref="QuantizationOptions.Equalize"/>, dead-channel zeroing and cross-layer
    /// equalization from those statistics and a second calibration pass on the equalized network; then
    /// <see cref="Quantize"/>.
    /// </summary>
    /// <param name="network">The fused FP32 network.</param>
    /// <param name="data">Calibration images.</param>
    /// <param name="options">Method, percentile and equalization.</param>
    /// <param name="architectureJson">The source's architecture JSON (see <see cref="Quantize"/>).</param>
    /// <param name="progress">Receives the number of images done in the current pass.</param>
    public static QuantizationResult Run(FusedNetwork network, CalibrationSet data, QuantizationOptions? options = null, string? architectureJson = null, IProgress<int>? progress = null)
    {
        ArgumentNullException.ThrowIfNull(network);
        ArgumentNullException.ThrowIfNull(data);
        options ??= new QuantizationOptions();
        CalibrationStatistics statistics = CalibrationStatistics.Collect(new FusedForward(network), data, progress);
        if (!options.Equalize)
        {
            return Quantize(network, statistics, options, architectureJson);
        }

        float[][] factors = CrossLayerEqualization.Factors(network, statistics);
        FusedNetwork equalized = CrossLayerEqualization.Apply(network, factors);
        statistics = CalibrationStatistics.Collect(new FusedForward(equalized), data, progress);
        QuantizationResult result = Quantize(equalized, statistics, options, architectureJson);
        return result with { Layers = result.Layers.Select((l, i) => l with { EqualizationFactors = factors[i] }).ToList() };
    }

    /// <summary>Quantizes <paramref name="network"/> with the ranges of <paramref name="statistics"/>.</summary>
    /// <param name="network">The fused FP32 network.</param>
    /// <param name="statistics">Calibration statistics of that network.</param>
    /// <param name="options">Method and percentile (default: <see cref="QuantizationOptions"/>'s).</param>
    /// <param name="architectureJson">
    /// The source file's <c>mobileone.architecture</c> JSON, kept verbatim (mean, std, crop and labels survive) when it
    /// describes this network completely; null, or a JSON that does not, gives <see cref="NetworkArchitecture.ToJson"/>
    /// (with the JSON's mean, std and labels when it has them).
    /// </param>
    /// <exception cref="ConversionException">The network cannot be quantized (more than 115 input channels).</exception>
    public static QuantizationResult Quantize(FusedNetwork network, CalibrationStatistics statistics, QuantizationOptions? options = null, string? architectureJson = null)
    {
        ArgumentNullException.ThrowIfNull(network);
        ArgumentNullException.ThrowIfNull(statistics);
        options ??= new QuantizationOptions();
        if (options.Method == CalibrationMethod.Percentile && !(options.Percentile > 0 && options.Percentile <= 100))
        {
            throw new ArgumentOutOfRangeException(nameof(options), options.Percentile, "The percentile must be in (0, 100].");
        }

        NetworkArchitecture arch = network.Architecture;
        if (arch.InputChannels > QuantizationScheme.MaxStemInputChannels)
        {
            throw new ConversionException(ConversionErrorKind.NotMobileOne,
                $"The network takes {arch.InputChannels} input channels; an int8 stem supports at most {QuantizationScheme.MaxStemInputChannels} (docs/quantization.md).");
        }

        IReadOnlyList<ConvLayer> layers = arch.Layers();
        if (statistics.Layers.Count != layers.Count || statistics.Layers.Select(l => l.Layer).Where((n, i) => n != layers[i].Name).Any())
        {
            throw new ArgumentException("The statistics are not those of this network's layers.", nameof(statistics));
        }

        float inputMax = statistics.Input.Max;
        float inputRange = statistics.Input.Range(options.Method, options.Percentile);
        float inputScale = InputScale(inputRange);
        float scaleIn = inputScale;
        var quantized = new List<QuantizedLayer>();
        var report = new List<LayerQuantization>();
        for (int i = 0; i < layers.Count; i++)
        {
            ConvLayer l = layers[i];
            ActivationHistogram h = statistics.Layers[i].Histogram;
            float range = h.Range(options.Method, options.Percentile);
            float scaleOut = ActivationScale(range);
            QuantizedWeights w = QuantizeWeights(l.Kind, network[l.Name + ".reparam_conv.weight"], network[l.Name + ".reparam_conv.bias"], l.OutChannels, l.InChannels, scaleIn);
            quantized.Add(new QuantizedLayer(l.Name, l.Kind, l.WeightShape, w.Weight, w.Scale, w.Bias, scaleOut));
            report.Add(new LayerQuantization(l.Name, l.Kind, scaleIn, scaleOut, h.Max, range, w));
            scaleIn = scaleOut;
        }

        var floats = network.Shapes.Where(t => !t.Name.Contains(".reparam_conv.", StringComparison.Ordinal))
            .ToDictionary(t => t.Name, t => network[t.Name], StringComparer.Ordinal);
        string json = ChooseArchitectureJson(architectureJson, arch, out string? note);
        var result = new QuantizedNetwork(arch, json, inputScale, quantized, floats, options.MethodName,
            options.Method == CalibrationMethod.Percentile ? options.Percentile : null, statistics.Images);
        return new QuantizationResult(result, inputMax, inputRange, report, note);
    }

    /// <summary>The uint8 scale of an activation range: range / 255 (<see cref="UnseenRange"/> for a range that is not positive and finite).</summary>
    public static float ActivationScale(float range) => (range > 0 && float.IsFinite(range) ? range : UnseenRange) / 255f;

    /// <summary>The int8 scale of the input range: range / 127 (<see cref="UnseenRange"/> for a range that is not positive and finite).</summary>
    public static float InputScale(float range) => (range > 0 && float.IsFinite(range) ? range : UnseenRange) / 127f;

    /// <summary>The bound the int32 bias of a layer is kept within (see the class remarks).</summary>
    public static int BiasBound(ConvLayerKind kind, int inChannels) => kind switch
    {
        ConvLayerKind.Pointwise => PointwiseBiasBound,
        ConvLayerKind.Depthwise => (1 << 24) - (9 * 255 * 127),
        _ => (1 << 24) - (9 * inChannels * 127 * 127),
    };

    /// <summary>
    /// Quantizes one convolution's weights per output channel and its bias (see the class remarks). The weight is
    /// <c>[out, in/groups, k, k]</c> in row-major order; <paramref name="inputScale"/> is the scale of the layer's input.
    /// </summary>
    public static QuantizedWeights QuantizeWeights(ConvLayerKind kind, ReadOnlySpan<float> weight, ReadOnlySpan<float> bias, int outChannels, int inChannels, float inputScale)
    {
        if (outChannels < 1 || weight.Length % outChannels != 0 || bias.Length != outChannels)
        {
            throw new ArgumentException($"Expected a weight of {outChannels} output channels and {outChannels} biases, got {weight.Length} weights and {bias.Length} biases.", nameof(weight));
        }

        if (!(inputScale > 0 && float.IsFinite(inputScale)))
        {
            throw new ArgumentOutOfRangeException(nameof(inputScale), inputScale, "The input scale must be positive and finite.");
        }

        int perChannel = weight.Length / outChannels;
        bool pointwise = kind == ConvLayerKind.Pointwise;
        if (pointwise && perChannel != inChannels)
        {
            throw new ArgumentException($"A pointwise weight has {inChannels} values per output channel, not {perChannel}.", nameof(weight));
        }

        int bound = BiasBound(kind, inChannels);
        if (bound < 2)
        {
            throw new ArgumentException($"An int8 stem takes at most {QuantizationScheme.MaxStemInputChannels} input channels, not {inChannels}.", nameof(inChannels));
        }
        var q = new sbyte[weight.Length];
        var scales = new float[outChannels];
        var biases = new int[outChannels];
        int pairChannels = 0, lowered = 0, biasLimited = 0, zero = 0, clamped = 0;
        for (int o = 0; o < outChannels; o++)
        {
            ReadOnlySpan<float> w = weight.Slice(o * perChannel, perChannel);
            double amax = 0;
            foreach (float v in w)
            {
                if (!float.IsFinite(v))
                {
                    throw new ArgumentException($"Weight of output channel {o} is {v.ToString(CultureInfo.InvariantCulture)}; weights must be finite.", nameof(weight));
                }

                amax = Math.Max(amax, Math.Abs(v));
            }

            double s = amax / QuantizationScheme.MaxWeight;
            bool pairRaised = false;
            if (pointwise)
            {
                double pair = LargestPairSum(w) / QuantizationScheme.MaxPairSum;
                if (pair > s)
                {
                    s = pair;
                    pairRaised = true;
                }
            }

            double forBias = Math.Abs((double)bias[o]) / ((double)inputScale * (bound - 1));
            if (forBias > s)
            {
                s = forBias;
                biasLimited += amax > 0 ? 1 : 0;
            }

            zero += amax == 0 ? 1 : 0;
            float scale = Math.Max((float)s, MinWeightScale);
            if (scale < s)
            {
                scale = MathF.BitIncrement(scale); // never below the exact value: |w / scale| <= 127, pair sums <= 128
            }

            if (!float.IsFinite(scale))
            {
                throw new ArgumentException($"Output channel {o}'s weights or bias are too large for a float scale.", nameof(weight));
            }

            scales[o] = scale;
            Span<sbyte> row = q.AsSpan(o * perChannel, perChannel);
            for (int k = 0; k < perChannel; k++)
            {
                row[k] = (sbyte)Math.Clamp(Math.Round(w[k] / (double)scale, MidpointRounding.ToEven), -QuantizationScheme.MaxWeight, QuantizationScheme.MaxWeight);
            }

            int loweredHere = pointwise ? LowerPairs(row) : 0;
            lowered += loweredHere;
            pairChannels += pairRaised || loweredHere > 0 ? 1 : 0;
            double b = Math.Round(bias[o] / ((double)inputScale * scale), MidpointRounding.ToEven);
            if (!(Math.Abs(b) <= bound))
            {
                clamped++;
                b = double.IsNaN(b) ? 0 : Math.Clamp(b, -bound, bound);
            }

            biases[o] = (int)b;
        }

        return new QuantizedWeights(q, scales, biases, pairChannels, lowered, biasLimited, zero, clamped);
    }

    /// <summary>
    /// Lowers, in each input-channel pair (2j, 2j+1) of a pointwise row, the larger same-sign weight by one step (toward
    /// zero) while the pair's positive parts sum beyond 128 or its negative parts below -128 (docs/quantization.md,
    /// "Pairs"). Returns how many steps were taken.
    /// </summary>
    public static int LowerPairs(Span<sbyte> row)
    {
        int steps = 0;
        for (int i = 0; i + 1 < row.Length; i += 2)
        {
            while (Math.Max((int)row[i], 0) + Math.Max((int)row[i + 1], 0) > QuantizationScheme.MaxPairSum)
            {
                int at = row[i + 1] > row[i] ? i + 1 : i;
                row[at]--;
                steps++;
            }

            while (Math.Min((int)row[i], 0) + Math.Min((int)row[i + 1], 0) < -QuantizationScheme.MaxPairSum)
            {
                int at = row[i + 1] < row[i] ? i + 1 : i;
                row[at]++;
                steps++;
            }
        }

        return steps;
    }

    // The largest same-sign sum of a pair (2j, 2j+1) of a pointwise row, as a magnitude (an odd last channel pairs with 0).
    private static double LargestPairSum(ReadOnlySpan<float> w)
    {
        double largest = 0;
        for (int i = 0; i < w.Length; i += 2)
        {
            double a = w[i], b = i + 1 < w.Length ? w[i + 1] : 0;
            double positive = Math.Max(a, 0) + Math.Max(b, 0), negative = Math.Min(a, 0) + Math.Min(b, 0);
            largest = Math.Max(largest, Math.Max(positive, -negative));
        }

        return largest;
    }

    // The source's JSON when it reads as a complete architecture equal to this network's; otherwise ToJson() with its mean,
    // std and labels.
    private static string ChooseArchitectureJson(string? source, NetworkArchitecture arch, out string? note)
    {
        note = null;
        if (source == null)
        {
            note = "the source has no architecture metadata; written from the network's structure";
            return arch.ToJson();
        }

        var errors = new List<ArchitectureJsonError>();
        ArchitectureDocument? doc = ArchitectureJson.Read(source, errors);
        if (doc != null && errors.Count == 0 && doc.IsComplete && Same(doc, arch))
        {
            return source;
        }

        note = doc == null || errors.Count > 0
            ? "the source's architecture metadata does not read (" + (errors.Count > 0 ? errors[0].Message : "invalid") + "); written from the network's structure"
            : "the source's architecture metadata does not describe this network completely; written from the network's structure";
        bool keepLabels = doc?.Labels != null && doc.Labels.Length == arch.NumClasses;
        bool keepNorm = doc?.Mean != null && doc.Std != null && doc.Mean.Length == arch.InputChannels && doc.Std.Length == arch.InputChannels;
        return arch.ToJson(keepNorm ? doc!.Mean : null, keepNorm ? doc!.Std : null, keepLabels ? doc!.Labels : null);
    }

    private static bool Same(ArchitectureDocument doc, NetworkArchitecture arch) =>
        doc.InputChannels == arch.InputChannels && doc.InputHeight == arch.InputHeight && doc.InputWidth == arch.InputWidth
        && doc.StemChannels == arch.StemChannels && doc.NumClasses == arch.NumClasses
        && doc.StageChannels!.SequenceEqual(arch.StageChannels) && doc.StageBlocks!.SequenceEqual(arch.StageBlocks) && doc.SeBlocks!.SequenceEqual(arch.SeBlocks);
}
