using System;
using System.Buffers.Binary;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using Microsoft.ML.OnnxRuntime;
using MobileOne.Conversion.Quantization;
using MobileOne.TestSupport;
using MobileOne.Tool;
using Onnx;
using Xunit;
using Xunit.Abstractions;

namespace MobileOne.Conversion.Tests.QuantizedOracle;

/// <summary>
/// The QDQ graph <see cref="QdqOnnxExport"/> writes, node by node and initializer by initializer, against the layer walk
/// of TestSupport's <see cref="MobileOneArchitecture"/>; what ONNX Runtime makes of it; and <c>mobileone export-onnx</c>
/// on a quantized file.
/// </summary>
public class QdqGraphTests
{
    private const int Float = (int)TensorProto.Types.DataType.Float;
    private const int Int8 = (int)TensorProto.Types.DataType.Int8;
    private const int Uint8 = (int)TensorProto.Types.DataType.Uint8;
    private const int Int32 = (int)TensorProto.Types.DataType.Int32;

    private readonly ITestOutputHelper _out;

    public QdqGraphTests(ITestOutputHelper output) => _out = output;

    /// <summary>
    /// Input: Clip(±127·s_input) → QuantizeLinear(int8 zero point) → DequantizeLinear; per convolution: DequantizeLinear of
    /// the int8 weight (per-channel scale, axis 0) and of the int32 bias (scale s_in·s_w[o], axis 0) → Conv → [SE → Relu]
    /// → QuantizeLinear(uint8 zero point 0, s_out) → DequantizeLinear; head in float. Every initializer's dtype, shape and
    /// exact bytes.
    /// </summary>
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void GraphHasOneQdqGroupPerConvolution(bool reluBeforeQuantize)
    {
        OracleCase c = OracleCases.Get("custom");
        ModelProto model = ModelProto.Parser.ParseFrom(QdqOnnxExport.Build(c.Network, options: new QdqOptions { ReluBeforeQuantize = reluBeforeQuantize }));
        Assert.Equal(8, model.IrVersion);
        OperatorSetIdProto opset = Assert.Single(model.OpsetImport);
        Assert.Equal(string.Empty, opset.Domain);
        Assert.InRange(opset.Version, 13, 23);
        GraphProto g = model.Graph;
        MobileOneArchitecture arch = c.Architecture;
        ValueInfoProto input = Assert.Single(g.Input), output = Assert.Single(g.Output);
        Assert.Equal(("input", Float), (input.Name, input.Type.TensorType.ElemType));
        Assert.Equal(new[] { "N", "3", "37", "45" }, input.Type.TensorType.Shape.Dim.Select(d => d.DimParam.Length > 0 ? d.DimParam : d.DimValue.ToString(System.Globalization.CultureInfo.InvariantCulture)));
        Assert.Equal(("logits", Float), (output.Name, output.Type.TensorType.ElemType));

        var init = g.Initializer.ToDictionary(t => t.Name, StringComparer.Ordinal);
        Assert.Equal(init.Count, g.Initializer.Count);
        var producer = new Dictionary<string, NodeProto>(StringComparer.Ordinal);
        foreach (NodeProto n in g.Node)
        {
            Assert.Equal(string.Empty, n.Domain);
            producer[Assert.Single(n.Output)] = n;
        }

        int next = 0;
        NodeProto Next(string op)
        {
            Assert.True(next < g.Node.Count, $"expected a {op} node after node {next - 1}");
            NodeProto n = g.Node[next++];
            Assert.True(n.OpType == op, $"node {next - 1} '{n.Name}' is {n.OpType}, expected {op}");
            return n;
        }

        // Input.
        float sIn = c.Network.InputScale;
        NodeProto clip = Next("Clip");
        Assert.Equal("input", clip.Input[0]);
        Assert.Equal(-127f * sIn, Scalar(init[clip.Input[1]]));
        Assert.Equal(127f * sIn, Scalar(init[clip.Input[2]]));
        NodeProto q = Next("QuantizeLinear");
        Assert.Equal(clip.Output[0], q.Input[0]);
        AssertScalarQuantization(init, q, sIn, Int8);
        NodeProto dq = Next("DequantizeLinear");
        Assert.Equal((q.Output[0], q.Input[1], q.Input[2]), (dq.Input[0], dq.Input[1], dq.Input[2]));
        string x = dq.Output[0];

        int qdqGroups = 0;
        foreach (LayerInfo l in arch.Layers())
        {
            QuantizedLayer ql = c.Network[l.Name];
            int cout = l.OutChannels;

            // Weight: int8 [out, in/groups, k, k], scale [out] = s_w, zero point int8 zeros, axis 0.
            NodeProto wdq = Next("DequantizeLinear");
            Assert.Equal(0L, Axis(wdq));
            TensorProto w = init[wdq.Input[0]];
            Assert.Equal(Int8, w.DataType);
            Assert.Equal(l.WeightShape.Select(d => (long)d), w.Dims);
            Assert.Equal(ql.Weight.Select(v => unchecked((byte)v)), Bytes(w));
            Assert.Equal(ql.WeightScale, Floats(init[wdq.Input[1]], cout));
            AssertZeros(init[wdq.Input[2]], Int8, cout);

            // Bias: int32 [out], scale s_in * s_w[o] (the product of two floats, exact in double, rounded once), axis 0.
            NodeProto bdq = Next("DequantizeLinear");
            Assert.Equal(0L, Axis(bdq));
            TensorProto b = init[bdq.Input[0]];
            Assert.Equal(Int32, b.DataType);
            Assert.Equal(new long[] { cout }, b.Dims);
            Assert.Equal(ql.Bias, Bytes(b).Chunk(4).Select(v => BinaryPrimitives.ReadInt32LittleEndian(v)));
            Assert.Equal(ql.WeightScale.Select(s => (float)((double)sIn * s)), Floats(init[bdq.Input[1]], cout));
            AssertZeros(init[bdq.Input[2]], Int32, cout);

            NodeProto conv = Next("Conv");
            Assert.Equal(new[] { x, wdq.Output[0], bdq.Output[0] }, conv.Input);
            Assert.Equal(new long[] { l.KernelSize, l.KernelSize }, Ints(conv, "kernel_shape"));
            Assert.Equal(new long[] { l.Padding, l.Padding, l.Padding, l.Padding }, Ints(conv, "pads"));
            Assert.Equal(new long[] { l.Stride, l.Stride }, Ints(conv, "strides"));
            Assert.Equal(new long[] { l.Groups }, Ints(conv, "group"));
            string pre = conv.Output[0];
            if (l.HasSe)
            {
                NodeProto pool = Next("GlobalAveragePool");
                Assert.Equal(pre, pool.Input[0]);
                NodeProto reduce = Next("Conv");
                Assert.Equal(new[] { pool.Output[0], l.Name + ".se.reduce.weight", l.Name + ".se.reduce.bias" }, reduce.Input);
                NodeProto relu = Next("Relu");
                NodeProto expand = Next("Conv");
                Assert.Equal(new[] { relu.Output[0], l.Name + ".se.expand.weight", l.Name + ".se.expand.bias" }, expand.Input);
                NodeProto gate = Next("Sigmoid");
                NodeProto mul = Next("Mul");
                Assert.Equal(new[] { conv.Output[0], gate.Output[0] }, mul.Input);
                foreach (string t in new[] { ".se.reduce.weight", ".se.reduce.bias", ".se.expand.weight", ".se.expand.bias" })
                {
                    Assert.Equal(c.Weights[l.Name + t], Floats(init[l.Name + t], c.Weights[l.Name + t].Length));
                    Assert.Equal(c.Weights.Shape(l.Name + t).Select(d => (long)d), init[l.Name + t].Dims);
                }

                pre = mul.Output[0];
            }

            if (l.HasSe || reluBeforeQuantize)
            {
                NodeProto relu = Next("Relu");
                Assert.Equal(pre, relu.Input[0]);
                pre = relu.Output[0];
            }

            NodeProto lq = Next("QuantizeLinear");
            Assert.Equal(pre, lq.Input[0]);
            Assert.Equal(QdqOnnxExport.QuantizedOutput(l.Name), lq.Output[0]);
            AssertScalarQuantization(init, lq, ql.OutputScale, Uint8);
            NodeProto ldq = Next("DequantizeLinear");
            Assert.Equal((lq.Output[0], lq.Input[1], lq.Input[2]), (ldq.Input[0], ldq.Input[1], ldq.Input[2]));
            x = ldq.Output[0];
            sIn = ql.OutputScale;
            qdqGroups++;
        }

        Assert.Equal(arch.Layers().Count, qdqGroups);
        Assert.Equal(x, Next("GlobalAveragePool").Input[0]);
        Next("Flatten");
        NodeProto gemm = Next("Gemm");
        Assert.Equal(new long[] { 1 }, Ints(gemm, "transB"));
        Assert.Equal("logits", gemm.Output[0]);
        Assert.Equal(c.Weights["linear.weight"], Floats(init["linear.weight"], c.Weights["linear.weight"].Length));
        Assert.Equal(g.Node.Count, next);

        // Every initializer is used, and only the weights, biases and their quantization parameters are not float.
        var used = new HashSet<string>(g.Node.SelectMany(n => n.Input), StringComparer.Ordinal);
        Assert.All(g.Initializer, t => Assert.Contains(t.Name, used));
        Assert.Equal(1 + (2 * qdqGroups), g.Initializer.Count(t => t.DataType == Int8)); // the input's zero point; per layer weight and zero points
        Assert.Equal(qdqGroups, g.Initializer.Count(t => t.DataType == Uint8)); // per layer the output zero point
        Assert.Equal(2 * qdqGroups, g.Initializer.Count(t => t.DataType == Int32)); // per layer bias and zero points
    }

    /// <summary>
    /// ONNX Runtime fuses every DequantizeLinear → Conv → QuantizeLinear group without squeeze-excite into one QLinearConv
    /// (the stem too: ORT turns the int8 input into uint8 with zero point 128), with or without the Relu before the
    /// QuantizeLinear (it drops it as redundant): the same optimized graph and the same outputs either way.
    /// </summary>
    [Theory]
    [InlineData("custom")]
    [InlineData("s1")]
    public void OnnxRuntimeFusesEachConvolutionIntoQLinearConv(string name)
    {
        OracleCase c = OracleCases.Get(name);
        using var dir = new TempDir();
        Dictionary<string, int> plain = QdqOrt.OptimizedOps(QdqOnnxExport.Build(c.Network), GraphOptimizationLevel.ORT_ENABLE_ALL, dir["plain.onnx"]);
        Dictionary<string, int> relu = QdqOrt.OptimizedOps(QdqOnnxExport.Build(c.Network, options: new QdqOptions { ReluBeforeQuantize = true }), GraphOptimizationLevel.ORT_ENABLE_ALL, dir["relu.onnx"]);
        _out.WriteLine(name + ": " + string.Join(", ", plain.OrderBy(kv => kv.Key, StringComparer.Ordinal).Select(kv => $"{kv.Key} {kv.Value}")));
        int se = c.Architecture.Layers().Count(l => l.HasSe), all = c.Architecture.Layers().Count;
        Assert.Equal(all - se, plain.GetValueOrDefault("QLinearConv"));
        Assert.Equal(1 + se, plain.GetValueOrDefault("QuantizeLinear")); // the input's and those after squeeze-excite
        Assert.Equal(plain.OrderBy(kv => kv.Key, StringComparer.Ordinal), relu.OrderBy(kv => kv.Key, StringComparer.Ordinal));

        using var a = new QdqOrt(c.Network);
        using var b = new QdqOrt(c.Network, options: new QdqOptions { ReluBeforeQuantize = true });
        QdqRunResult ra = a.Run(c.Inputs[0]), rb = b.Run(c.Inputs[0]);
        Assert.Equal(ra.Logits, rb.Logits);
        Assert.All(ra.Layers, kv => Assert.Equal(kv.Value, rb.Layers[kv.Key]));
    }

    [Fact]
    public void SymbolicBatchRunsEachImageLikeBatchOne()
    {
        OracleCase c = OracleCases.Get("custom");
        float[][] xs = { c.Inputs[0], c.Inputs[1], TestData.RandomInput(c.Architecture, 5) };
        using var batched = new OrtRunner(QdqOnnxExport.Build(c.Network));
        using var single = new OrtRunner(QdqOnnxExport.Build(c.Network, symbolicBatch: false));
        float[] logits = batched.RunBatch(xs.SelectMany(v => v).ToArray(), xs.Length);
        int k = c.Architecture.NumClasses;
        for (int i = 0; i < xs.Length; i++)
        {
            float[] one = single.Run(xs[i]);
            float[] reference = c.Reference.Run(xs[i]);
            double range = reference.Max() - reference.Min();
            for (int j = 0; j < k; j++)
            {
                Assert.True(Math.Abs(logits[(i * k) + j] - one[j]) <= QdqOracleTests.HeadTolerance * range, $"image {i} logit {j}: batch {logits[(i * k) + j]}, single {one[j]}");
                Assert.True(Math.Abs(one[j] - reference[j]) <= QdqOracleTests.EndToEndTolerance * range, $"image {i} logit {j}: ORT {one[j]}, reference {reference[j]}");
            }
        }
    }

    [Fact]
    public void ExportOnnxWritesTheQdqGraphOfAQuantizedFile()
    {
        OracleCase c = OracleCases.Get("custom");
        using var dir = new TempDir();
        string file = dir["q.safetensors"];
        c.Network.Write(file);
        Assert.True(QuantizedNetwork.IsQuantizedFile(file));

        (int code, string stdout, string stderr) = Tool("export-onnx", file, "-o", dir["q.onnx"]);
        Assert.True(code == 0, stderr);
        _out.WriteLine(stdout);
        Assert.Contains("QDQ", stdout, StringComparison.Ordinal);
        byte[] written = File.ReadAllBytes(dir["q.onnx"]);
        ModelProto model = ModelProto.Parser.ParseFrom(written);
        Assert.Contains(model.Graph.Node, n => n.OpType == "QuantizeLinear");
        Assert.Equal("N", model.Graph.Input[0].Type.TensorType.Shape.Dim[0].DimParam);
        using (var ort = new OrtRunner(written))
        using (var expected = new OrtRunner(QdqOnnxExport.Build(QuantizedNetwork.Read(file))))
        {
            Assert.Equal(expected.Run(c.Inputs[0]), ort.Run(c.Inputs[0]));
            Assert.Equal(QdqOnnxExport.Build(c.Network, producer: "mobileone export-onnx"), written);
        }

        // --fixed-batch and --input-size (the graph has no size-dependent parameter: it runs at any size).
        (code, _, stderr) = Tool("export-onnx", file, "-o", dir["q48.onnx"], "--fixed-batch", "--input-size", "48x40");
        Assert.True(code == 0, stderr);
        ModelProto sized = ModelProto.Parser.ParseFrom(File.ReadAllBytes(dir["q48.onnx"]));
        Assert.Equal(new long[] { 1, 3, 48, 40 }, sized.Graph.Input[0].Type.TensorType.Shape.Dim.Select(d => d.DimValue));
        using (var ort = new OrtRunner(File.ReadAllBytes(dir["q48.onnx"])))
        {
            Assert.Equal(c.Architecture.NumClasses, ort.Run(new float[3 * 48 * 40]).Length);
        }

        // A float file still exports as before; a missing file is still exit code 2.
        OnnxGraph.ToNetwork(c.Architecture, c.Weights).WriteSafetensors(dir["f.safetensors"]);
        Assert.False(QuantizedNetwork.IsQuantizedFile(dir["f.safetensors"]));
        (code, _, stderr) = Tool("export-onnx", dir["f.safetensors"], "-o", dir["f.onnx"]);
        Assert.True(code == 0, stderr);
        Assert.DoesNotContain(ModelProto.Parser.ParseFrom(File.ReadAllBytes(dir["f.onnx"])).Graph.Node, n => n.OpType == "QuantizeLinear");
        Assert.Equal(ExitCodes.InputNotFound, Tool("export-onnx", dir["missing.safetensors"], "-o", dir["m.onnx"]).Code);
        Assert.False(QuantizedNetwork.IsQuantizedFile(dir["missing.safetensors"]));
        Assert.False(QuantizedNetwork.IsQuantizedFile(dir.Write("garbage.bin", new byte[] { 80, 75, 3, 4, 1, 2, 3, 4, 5, 6, 7, 8, 9 })));
    }

    private static (int Code, string Stdout, string Stderr) Tool(params string[] args)
    {
        using var o = new StringWriter();
        using var e = new StringWriter();
        int code = Program.Run(args, o, e);
        return (code, o.ToString(), e.ToString());
    }

    private static void AssertScalarQuantization(Dictionary<string, TensorProto> init, NodeProto q, float scale, int zeroPointType)
    {
        Assert.Equal(3, q.Input.Count);
        Assert.Equal(scale, Scalar(init[q.Input[1]]));
        TensorProto zp = init[q.Input[2]];
        Assert.Equal(zeroPointType, zp.DataType);
        Assert.Empty(zp.Dims);
        Assert.Equal(new byte[] { 0 }, Bytes(zp));
        Assert.Null(q.Attribute.FirstOrDefault(a => a.Name == "axis"));
    }

    private static void AssertZeros(TensorProto t, int type, int count)
    {
        Assert.Equal(type, t.DataType);
        Assert.Equal(new long[] { count }, t.Dims);
        Assert.Equal(count * (type == Int32 ? 4 : 1), Bytes(t).Length);
        Assert.All(Bytes(t), v => Assert.Equal(0, v));
    }

    private static long? Axis(NodeProto n) => n.Attribute.FirstOrDefault(a => a.Name == "axis")?.I;

    private static long[] Ints(NodeProto n, string name)
    {
        AttributeProto a = n.Attribute.First(a => a.Name == name);
        return a.Type == AttributeProto.Types.AttributeType.Ints ? a.Ints.ToArray() : new[] { a.I };
    }

    private static byte[] Bytes(TensorProto t) => t.RawData.ToByteArray();

    private static float[] Floats(TensorProto t, int count)
    {
        Assert.Equal(Float, t.DataType);
        byte[] raw = Bytes(t);
        Assert.Equal(4 * count, raw.Length);
        return Enumerable.Range(0, count).Select(i => BinaryPrimitives.ReadSingleLittleEndian(raw.AsSpan(4 * i))).ToArray();
    }

    private static float Scalar(TensorProto t)
    {
        Assert.Empty(t.Dims);
        return Floats(t, 1)[0];
    }
}
