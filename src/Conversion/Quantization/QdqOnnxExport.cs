using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Runtime.InteropServices;
using Google.Protobuf;
using MobileOne.Formats.Safetensors;
using MobileOne.Model;
using Onnx;

namespace MobileOne.Conversion.Quantization;

/// <summary>
/// Writes a <see cref="QuantizedNetwork"/> as an ONNX QDQ model (IR 8, opset 17) that computes what docs/quantization.md
/// specifies, for ONNX Runtime and any other QDQ runtime. Input <c>input</c> [N, C, H, W] float, output <c>logits</c>
/// [N, classes] float. ONNX Runtime 1.31 (ORT_ENABLE_EXTENDED and above) runs every convolution without squeeze-excite as
/// one QLinearConv (int8 weights, uint8 activations, int32 bias; the stem too: it rewrites the int8 input as uint8 with
/// zero point 128), NHWC at ORT_ENABLE_ALL; only the input Clip/QuantizeLinear, the convolutions before squeeze-excite,
/// the squeeze-excite blocks and the head run in float.
/// <list type="bullet">
/// <item>input: Clip(±127·s_input) → QuantizeLinear(int8, s_input, 0) → DequantizeLinear (the Clip makes the range the
/// contract's symmetric [-127, 127] instead of QuantizeLinear's [-128, 127]);</item>
/// <item>per convolution: Conv(x, DequantizeLinear(int8 weight, s_w, axis 0), DequantizeLinear(int32 bias,
/// s_in·s_w, axis 0)) → [Relu] → QuantizeLinear(uint8, s_out, 0) → DequantizeLinear; the uint8 QuantizeLinear with
/// zero point 0 clamps at 0, so the Relu is redundant (<see cref="QdqOptions.ReluBeforeQuantize"/>);</item>
/// <item>convolution with squeeze-excite: the float Conv → SE (GlobalAveragePool → Conv 1x1 → Relu → Conv 1x1 → Sigmoid →
/// Mul, as <see cref="OnnxExport"/> writes it) → Relu → QuantizeLinear(uint8) → DequantizeLinear;</item>
/// <item>head: GlobalAveragePool → Flatten → Gemm(transB = 1), FP32.</item>
/// </list>
/// Node and tensor names: see <see cref="QuantizedOutput"/>, <see cref="DequantizedOutput"/> and the initializer names
/// (<c>{layer}.reparam_conv.weight</c> int8, <c>.weight_scale</c>, <c>.bias</c> int32, <c>.bias_scale</c>,
/// <c>{layer}.output_scale</c>).
/// </summary>
public static class QdqOnnxExport
{
    /// <summary>Opset of the default domain (per-axis QuantizeLinear/DequantizeLinear need 13 or later).</summary>
    public const int Opset = OnnxExport.Opset;

    /// <summary>Name of the graph input.</summary>
    public const string InputName = OnnxExport.InputName;

    /// <summary>Name of the graph output.</summary>
    public const string OutputName = OnnxExport.OutputName;

    /// <summary>The int8 quantized network input.</summary>
    public const string QuantizedInputName = "input.q";

    /// <summary>The head's global average pool (float).</summary>
    public const string PooledName = OnnxExport.PooledName;

    /// <summary>The uint8 output of a layer's QuantizeLinear: <c>{layer}.q</c>.</summary>
    public static string QuantizedOutput(string layer) => layer + ".q";

    /// <summary>The float output of the DequantizeLinear after a layer: <c>{layer}.dq</c>.</summary>
    public static string DequantizedOutput(string layer) => layer + ".dq";

    /// <summary>Serialized ModelProto. With <paramref name="symbolicBatch"/> the batch dimension is the parameter "N", else 1.</summary>
    public static byte[] Build(QuantizedNetwork network, bool symbolicBatch = true, string producer = "MobileOne.Conversion", QdqOptions? options = null)
        => BuildModel(network, symbolicBatch, producer, options).ToByteArray();

    /// <summary>Writes <see cref="Build"/> to <paramref name="path"/> (through a temporary file: whole or absent).</summary>
    public static void Save(string path, QuantizedNetwork network, bool symbolicBatch = true, string producer = "MobileOne.Conversion", QdqOptions? options = null)
    {
        byte[] bytes = Build(network, symbolicBatch, producer, options);
        AtomicFile.Write(path, s => s.Write(bytes));
    }

    /// <summary>The model as an <c>Onnx.ModelProto</c> (OnnxSharp's generated protobuf classes).</summary>
    public static ModelProto BuildModel(QuantizedNetwork network, bool symbolicBatch = true, string producer = "MobileOne.Conversion", QdqOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(network);
        options ??= new QdqOptions();
        NetworkArchitecture arch = network.Architecture;
        int height = options.InputHeight ?? arch.InputHeight, width = options.InputWidth ?? arch.InputWidth;
        var g = new GraphProto { Name = "mobileone-qdq" };
        g.Input.Add(OnnxExport.TensorValue(InputName, symbolicBatch, arch.InputChannels, height, width));
        g.Output.Add(OnnxExport.TensorValue(OutputName, symbolicBatch, arch.NumClasses));

        // Input: clip to the symmetric range, quantize to int8, dequantize.
        float s0 = network.InputScale;
        g.Initializer.Add(FloatScalar("input.clip_min", -127f * s0));
        g.Initializer.Add(FloatScalar("input.clip_max", 127f * s0));
        g.Initializer.Add(FloatScalar("input.scale", s0));
        g.Initializer.Add(Scalar("input.zero_point", TensorProto.Types.DataType.Int8));
        g.Node.Add(OnnxExport.Node("Clip", "input.clip", new[] { InputName, "input.clip_min", "input.clip_max" }, "input.clip"));
        g.Node.Add(OnnxExport.Node("QuantizeLinear", "input.quantize", new[] { "input.clip", "input.scale", "input.zero_point" }, QuantizedInputName));
        g.Node.Add(OnnxExport.Node("DequantizeLinear", "input.dequantize", new[] { QuantizedInputName, "input.scale", "input.zero_point" }, "input.dq"));

        IReadOnlyList<ConvLayer> shapes = arch.Layers();
        string x = "input.dq";
        float sIn = s0;
        for (int i = 0; i < shapes.Count; i++)
        {
            ConvLayer l = shapes[i];
            QuantizedLayer q = network.Layers[i];
            string p = l.Name, w = p + ".reparam_conv.weight", b = p + ".reparam_conv.bias";
            int cout = l.OutChannels;
            var biasScale = new float[cout];
            for (int o = 0; o < cout; o++)
            {
                biasScale[o] = (float)((double)sIn * q.WeightScale[o]);
            }

            g.Initializer.Add(Int8s(w, q.WeightShape, q.Weight));
            g.Initializer.Add(Floats(w + "_scale", new[] { cout }, q.WeightScale));
            g.Initializer.Add(Zeros(w + "_zero_point", cout, TensorProto.Types.DataType.Int8));
            g.Initializer.Add(Int32s(b, new[] { cout }, q.Bias));
            g.Initializer.Add(Floats(b + "_scale", new[] { cout }, biasScale));
            g.Initializer.Add(Zeros(b + "_zero_point", cout, TensorProto.Types.DataType.Int32));
            g.Initializer.Add(FloatScalar(p + ".output_scale", q.OutputScale));
            g.Initializer.Add(Scalar(p + ".output_zero_point", TensorProto.Types.DataType.Uint8));

            g.Node.Add(OnnxExport.Node("DequantizeLinear", p + ".weight.dequantize", new[] { w, w + "_scale", w + "_zero_point" }, p + ".weight.dq", OnnxExport.Int("axis", 0)));
            g.Node.Add(OnnxExport.Node("DequantizeLinear", p + ".bias.dequantize", new[] { b, b + "_scale", b + "_zero_point" }, p + ".bias.dq", OnnxExport.Int("axis", 0)));
            string conv = p + ".conv";
            g.Node.Add(OnnxExport.ConvNode(l, conv, x, p + ".weight.dq", p + ".bias.dq"));
            string pre = conv;
            if (l.HasSe)
            {
                string se = p + ".se";
                foreach (string t in new[] { ".reduce.weight", ".reduce.bias", ".expand.weight", ".expand.bias" })
                {
                    float[] v = network.FloatTensors[se + t];
                    int[] shape = t switch
                    {
                        ".reduce.weight" => new[] { l.SeReducedChannels, cout, 1, 1 },
                        ".reduce.bias" => new[] { l.SeReducedChannels },
                        ".expand.weight" => new[] { cout, l.SeReducedChannels, 1, 1 },
                        _ => new[] { cout },
                    };
                    g.Initializer.Add(Floats(se + t, shape, v));
                }

                pre = OnnxExport.AddSqueezeExcite(g, p, conv);
            }

            if (l.HasSe || options.ReluBeforeQuantize)
            {
                g.Node.Add(OnnxExport.Node("Relu", p + ".relu", new[] { pre }, p + ".relu"));
                pre = p + ".relu";
            }

            g.Node.Add(OnnxExport.Node("QuantizeLinear", p + ".quantize", new[] { pre, p + ".output_scale", p + ".output_zero_point" }, QuantizedOutput(p)));
            g.Node.Add(OnnxExport.Node("DequantizeLinear", p + ".dequantize", new[] { QuantizedOutput(p), p + ".output_scale", p + ".output_zero_point" }, DequantizedOutput(p)));
            x = DequantizedOutput(p);
            sIn = q.OutputScale;
        }

        g.Initializer.Add(Floats("linear.weight", new[] { arch.NumClasses, arch.FeatureChannels }, network.FloatTensors["linear.weight"]));
        g.Initializer.Add(Floats("linear.bias", new[] { arch.NumClasses }, network.FloatTensors["linear.bias"]));
        OnnxExport.AddHead(g, x);
        return OnnxExport.Model(g, producer, arch.ToString() + " INT8 QDQ (docs/quantization.md)");
    }

    private static TensorProto Tensor(string name, TensorProto.Types.DataType type, int[] shape, ReadOnlySpan<byte> littleEndian)
    {
        var t = new TensorProto { Name = name, DataType = (int)type };
        t.Dims.AddRange(shape.Select(d => (long)d));
        t.RawData = ByteString.CopyFrom(littleEndian); // raw_data is little-endian, as is every platform .NET runs on here
        return t;
    }

    private static TensorProto Floats(string name, int[] shape, float[] values) =>
        Tensor(name, TensorProto.Types.DataType.Float, shape, MemoryMarshal.AsBytes(values.AsSpan()));

    private static TensorProto FloatScalar(string name, float value) => Floats(name, Array.Empty<int>(), new[] { value });

    private static TensorProto Int8s(string name, int[] shape, sbyte[] values) =>
        Tensor(name, TensorProto.Types.DataType.Int8, shape, MemoryMarshal.AsBytes(values.AsSpan()));

    private static TensorProto Int32s(string name, int[] shape, int[] values) =>
        Tensor(name, TensorProto.Types.DataType.Int32, shape, MemoryMarshal.AsBytes(values.AsSpan()));

    private static TensorProto Zeros(string name, int count, TensorProto.Types.DataType type) =>
        Tensor(name, type, new[] { count }, new byte[count * (type == TensorProto.Types.DataType.Int32 ? 4 : 1)]);

    private static TensorProto Scalar(string name, TensorProto.Types.DataType type) => Tensor(name, type, Array.Empty<int>(), new byte[1]);
}

/// <summary>Choices of <see cref="QdqOnnxExport"/>.</summary>
public sealed class QdqOptions
{
    /// <summary>
    /// A Relu before every QuantizeLinear (not only after squeeze-excite, where it is needed). The uint8 QuantizeLinear
    /// with zero point 0 already clamps at 0, and ONNX Runtime drops such a Relu when it fuses the group into a
    /// QLinearConv, so the results are the same either way; some other QDQ consumers look for Conv → Relu → Q.
    /// </summary>
    public bool ReluBeforeQuantize { get; init; }

    /// <summary>Input height to declare (default: the architecture's; the graph has no size-dependent parameter).</summary>
    public int? InputHeight { get; init; }

    /// <summary>Input width to declare (default: the architecture's).</summary>
    public int? InputWidth { get; init; }
}
