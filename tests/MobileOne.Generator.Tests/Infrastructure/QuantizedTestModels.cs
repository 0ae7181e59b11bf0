using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Runtime.InteropServices;
using MobileOne.Conversion;
using MobileOne.Conversion.Quantization;
using MobileOne.TestSupport;

namespace MobileOne.Generator.Tests.Infrastructure;

/// <summary>
/// Quantized model files for generator tests (docs/quantization.md, "File format"), made from seeded numbers rather than
/// by calibration: int8 weights in [-60, 60] (so every pair sums within ±120 and the pair rule holds), positive weight
/// scales, small int32 biases, and activation scales that keep the uint8 activations of a random input off both ends.
/// What the generator and the runtime do with the numbers is checked against the scalar reference elsewhere; these
/// files only need to be valid, or broken in one chosen way.
/// </summary>
public static class QuantizedTestModels
{
    /// <summary>A valid quantized network of <paramref name="arch"/>.</summary>
    public static QuantizedNetwork Create(MobileOneArchitecture arch, int seed)
    {
        var random = new Random(seed);
        NetworkArchitecture net = arch.ToConversion();
        var layers = new List<QuantizedLayer>();
        foreach (ConvLayer l in net.Layers())
        {
            int outChannels = l.WeightShape[0];
            long count = l.WeightShape.Aggregate(1L, (a, d) => a * d);
            sbyte[] weights = Enumerable.Range(0, (int)count).Select(_ => (sbyte)random.Next(-60, 61)).ToArray();
            float[] weightScales = Enumerable.Range(0, outChannels).Select(_ => (float)(0.002 + (0.004 * random.NextDouble()))).ToArray();
            int[] bias = Enumerable.Range(0, outChannels).Select(_ => random.Next(-2000, 2000)).ToArray();

            // A dot product of k int8 weights in [-60, 60] with activations around 60: a standard deviation near
            // 60 * 35 * sqrt(k); the output scale maps about two of those to 255.
            int k = (int)(count / outChannels);
            float outputScale = (float)(2 * 60 * 35 * Math.Sqrt(k) * 0.004 * 0.05 / 255);
            layers.Add(new QuantizedLayer(l.Name, l.Kind, l.WeightShape, weights, weightScales, bias, outputScale));
        }

        var floats = new Dictionary<string, float[]>(StringComparer.Ordinal);
        FusedWeights fused = FusedWeights.Uniform(arch, seed);
        foreach (var (name, _, values) in fused.Tensors())
        {
            if (!name.Contains(".reparam_conv.", StringComparison.Ordinal))
            {
                floats[name] = values;
            }
        }

        return new QuantizedNetwork(net, net.ToJson(), inputScale: 0.02f, layers, floats, "minmax", percentile: null, calibrationImages: 0);
    }

    /// <summary>The file's tensors as (name, dtype, shape, bytes) and its metadata, for writing a broken variant with <see cref="TestNets.WriteRaw"/>.</summary>
    public static (List<(string name, string dtype, long[] shape, byte[] data)> Entries, Dictionary<string, string> Metadata) Parts(QuantizedNetwork network)
    {
        using var stream = new System.IO.MemoryStream();
        network.WriteTo(stream, "MobileOne.Generator.Tests");
        byte[] file = stream.ToArray();
        var header = System.Text.Json.JsonDocument.Parse(file.AsSpan(8, (int)BitConverter.ToUInt64(file, 0)).ToArray());
        long data = 8 + (long)BitConverter.ToUInt64(file, 0);
        var entries = new List<(string, string, long[], byte[])>();
        var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var p in header.RootElement.EnumerateObject())
        {
            if (p.Name == "__metadata__")
            {
                foreach (var m in p.Value.EnumerateObject())
                {
                    metadata[m.Name] = m.Value.GetString()!;
                }

                continue;
            }

            long[] shape = p.Value.GetProperty("shape").EnumerateArray().Select(e => e.GetInt64()).ToArray();
            long[] offsets = p.Value.GetProperty("data_offsets").EnumerateArray().Select(e => e.GetInt64()).ToArray();
            entries.Add((p.Name, p.Value.GetProperty("dtype").GetString()!, shape, file.AsSpan((int)(data + offsets[0]), (int)(offsets[1] - offsets[0])).ToArray()));
        }

        return (entries, metadata);
    }

    /// <summary>Float32 values as little-endian bytes.</summary>
    public static byte[] Bytes(params float[] values) => MemoryMarshal.AsBytes(values.AsSpan()).ToArray();

    /// <summary>Formats a float for JSON.</summary>
    public static string Json(float value) => value.ToString("R", CultureInfo.InvariantCulture);
}
