using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using Google.Protobuf;
using Onnx;

namespace MobileOne.Conversion;

/// <summary>
/// Writes a fused MobileOne as an ONNX model (IR 8, opset 17): input <c>input</c> [N, C, H, W] float, output <c>logits</c>
/// [N, classes] float, weights as initializers under their Apple names. Per layer: Conv(pads 1/0, strides, group) →
/// [SE: GlobalAveragePool → Conv 1x1 → Relu → Conv 1x1 → Sigmoid → Mul] → Relu; head: GlobalAveragePool → Flatten →
/// Gemm(transB = 1). The one ONNX writer of the repository: <c>mobileone export-onnx</c>, the tests and the benchmarks use it.
/// </summary>
public static class OnnxExport
{
    /// <summary>Opset of the default domain.</summary>
    public const int Opset = 17;

    /// <summary>Name of the graph input.</summary>
    public const string InputName = "input";

    /// <summary>Name of the graph output.</summary>
    public const string OutputName = "logits";

    /// <summary>Serialized ModelProto. With <paramref name="symbolicBatch"/> the batch dimension is the parameter "N", else 1.</summary>
    public static byte[] Build(FusedNetwork network, bool symbolicBatch = true, string producer = "MobileOne.Conversion")
        => BuildModel(network, symbolicBatch, producer).ToByteArray();

    /// <summary>Writes <see cref="Build"/> to <paramref name="path"/> (through a temporary file: whole or absent).</summary>
    public static void Save(string path, FusedNetwork network, bool symbolicBatch = true, string producer = "MobileOne.Conversion")
    {
        byte[] bytes = Build(network, symbolicBatch, producer);
        AtomicFile.Write(path, s => s.Write(bytes));
    }

    /// <summary>The model as an <c>Onnx.ModelProto</c> (OnnxSharp's generated protobuf classes).</summary>
    public static ModelProto BuildModel(FusedNetwork network, bool symbolicBatch = true, string producer = "MobileOne.Conversion")
    {
        ArgumentNullException.ThrowIfNull(network);
        NetworkArchitecture arch = network.Architecture;
        var g = new GraphProto { Name = "mobileone" };
        g.Input.Add(TensorValue(InputName, symbolicBatch, arch.InputChannels, arch.InputHeight, arch.InputWidth));
        g.Output.Add(TensorValue(OutputName, symbolicBatch, arch.NumClasses));
        foreach ((string name, int[] shape, float[] values) in network.Tensors())
        {
            g.Initializer.Add(Initializer(name, shape, values));
        }

        string x = InputName;
        foreach (ConvLayer l in arch.Layers())
        {
            string p = l.Name;
            string conv = p + ".conv";
            g.Node.Add(ConvNode(l, conv, x, p + ".reparam_conv.weight", p + ".reparam_conv.bias"));
            string pre = l.HasSe ? AddSqueezeExcite(g, p, conv) : conv;

            g.Node.Add(Node("Relu", p + ".relu", new[] { pre }, p + ".relu"));
            x = p + ".relu";
        }

        AddHead(g, x);
        return Model(g, producer, arch.ToString());
    }

    /// <summary>The name of the global-average-pool output (the pooled embedding) in both exporters' graphs.</summary>
    internal const string PooledName = "gap";

    /// <summary>A fused convolution node: kernel, pads, strides and groups of <paramref name="l"/>.</summary>
    internal static NodeProto ConvNode(ConvLayer l, string name, string input, string weight, string bias) =>
        Node("Conv", name, new[] { input, weight, bias }, name,
            Ints("kernel_shape", l.KernelSize, l.KernelSize),
            Ints("pads", l.Padding, l.Padding, l.Padding, l.Padding),
            Ints("strides", l.Stride, l.Stride),
            Ints("dilations", 1, 1),
            Int("group", l.Groups));

    /// <summary>
    /// Squeeze-excite on <paramref name="conv"/> (GlobalAveragePool → Conv 1x1 → Relu → Conv 1x1 → Sigmoid → Mul), reading
    /// the initializers <c>{layer}.se.reduce/expand.weight/bias</c>; returns the name of its output.
    /// </summary>
    internal static string AddSqueezeExcite(GraphProto g, string layer, string conv)
    {
        string se = layer + ".se";
        g.Node.Add(Node("GlobalAveragePool", se + ".pool", new[] { conv }, se + ".pool"));
        g.Node.Add(Node("Conv", se + ".reduce", new[] { se + ".pool", se + ".reduce.weight", se + ".reduce.bias" }, se + ".reduce",
            Ints("kernel_shape", 1, 1)));
        g.Node.Add(Node("Relu", se + ".reduce_relu", new[] { se + ".reduce" }, se + ".reduce_relu"));
        g.Node.Add(Node("Conv", se + ".expand", new[] { se + ".reduce_relu", se + ".expand.weight", se + ".expand.bias" }, se + ".expand",
            Ints("kernel_shape", 1, 1)));
        g.Node.Add(Node("Sigmoid", se + ".gate", new[] { se + ".expand" }, se + ".gate"));
        g.Node.Add(Node("Mul", se + ".scale", new[] { conv, se + ".gate" }, se + ".scale"));
        return se + ".scale";
    }

    /// <summary>The FP32 head on <paramref name="x"/>: GlobalAveragePool → Flatten → Gemm(transB = 1) into <see cref="OutputName"/>.</summary>
    internal static void AddHead(GraphProto g, string x)
    {
        g.Node.Add(Node("GlobalAveragePool", PooledName, new[] { x }, PooledName));
        g.Node.Add(Node("Flatten", "flatten", new[] { PooledName }, "flatten", Int("axis", 1)));
        g.Node.Add(Node("Gemm", "linear", new[] { "flatten", "linear.weight", "linear.bias" }, OutputName, Int("transB", 1)));
    }

    /// <summary>The model around a graph: IR version 8, opset <see cref="Opset"/>.</summary>
    internal static ModelProto Model(GraphProto g, string producer, string description)
    {
        var model = new ModelProto
        {
            IrVersion = 8,
            ProducerName = producer,
            ProducerVersion = "1",
            Graph = g,
            DocString = description,
        };
        model.OpsetImport.Add(new OperatorSetIdProto { Domain = string.Empty, Version = Opset });
        return model;
    }

    internal static ValueInfoProto TensorValue(string name, bool symbolicBatch, params int[] dims)
    {
        var shape = new TensorShapeProto();
        shape.Dim.Add(symbolicBatch
            ? new TensorShapeProto.Types.Dimension { DimParam = "N" }
            : new TensorShapeProto.Types.Dimension { DimValue = 1 });
        foreach (int d in dims)
        {
            shape.Dim.Add(new TensorShapeProto.Types.Dimension { DimValue = d });
        }

        return new ValueInfoProto
        {
            Name = name,
            Type = new TypeProto
            {
                TensorType = new TypeProto.Types.Tensor { ElemType = (int)TensorProto.Types.DataType.Float, Shape = shape },
            },
        };
    }

    private static TensorProto Initializer(string name, int[] shape, float[] values)
    {
        var t = new TensorProto { Name = name, DataType = (int)TensorProto.Types.DataType.Float };
        t.Dims.AddRange(shape.Select(d => (long)d));
        t.RawData = ByteString.CopyFrom(DTypes.Encode(values, "F32")); // raw_data is little-endian
        return t;
    }

    internal static NodeProto Node(string op, string name, IEnumerable<string> inputs, string output, params AttributeProto[] attributes)
    {
        var n = new NodeProto { OpType = op, Name = name };
        n.Input.AddRange(inputs);
        n.Output.Add(output);
        n.Attribute.AddRange(attributes);
        return n;
    }

    internal static AttributeProto Ints(string name, params long[] values)
    {
        var a = new AttributeProto { Name = name, Type = AttributeProto.Types.AttributeType.Ints };
        a.Ints.AddRange(values);
        return a;
    }

    internal static AttributeProto Int(string name, long value)
        => new() { Name = name, Type = AttributeProto.Types.AttributeType.Int, I = value };
}
