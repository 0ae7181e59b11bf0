using System;
using System.Buffers.Binary;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using MobileOne.Conversion;
using MobileOne.TestSupport;
using Xunit;

namespace MobileOne.Conversion.Tests;

/// <summary>
/// The safetensors writer (dtypes, metadata, whole-or-absent output) and the ONNX writer (<see cref="OnnxExport"/>),
/// whose graph is checked against a structure derived independently and run by ONNX Runtime against the double reference.
/// </summary>
public class WriterTests
{
    private static FusedNetwork Tiny(out MobileOneArchitecture arch, out FusedWeights weights)
    {
        arch = new MobileOneArchitecture(3, 40, 36, 12, new[] { 12, 20, 28, 40 }, new[] { 1, 2, 1, 1 }, new[] { 0, 0, 1, 1 }, 6);
        weights = FusedWeights.Random(arch, 4);
        return OnnxGraph.ToNetwork(arch, weights);
    }

    [Theory]
    [InlineData("F32", NamingConvention.Apple)]
    [InlineData("F16", NamingConvention.Timm)]
    [InlineData("BF16", NamingConvention.Apple)]
    public void SafetensorsRoundTripWithArchitectureMetadata(string dtype, NamingConvention naming)
    {
        FusedNetwork net = Tiny(out MobileOneArchitecture arch, out FusedWeights weights);
        using var dir = new TempDir();
        net.WriteSafetensors(dir["n.safetensors"], dtype, naming, "test");
        Assert.Single(Directory.GetFiles(dir.Directory));
        StateDict sd = Checkpoint.Load(dir["n.safetensors"]);
        Assert.Equal(net.Architecture.ToJson(), sd.Metadata[FusedNetwork.ArchitectureMetadataKey]);
        Assert.Contains("\"inputSize\": [40, 36]", sd.Metadata[FusedNetwork.ArchitectureMetadataKey], StringComparison.Ordinal);
        Assert.True(ArchitectureMetadata.TryReadInputSize(sd.Metadata, out int h, out int w) && h == 40 && w == 36);
        MobileOneCheckpoint cp = MobileOneCheckpoint.Analyze(sd, h, w);
        Assert.Equal(naming, cp.Naming);
        Assert.Equal(CheckpointForm.Fused, cp.Form);
        Assert.Equal(arch.ToConversion(), cp.Architecture);
        FusedWeights rounded = weights.RoundedTo(dtype);
        foreach (string name in rounded.Names)
        {
            Assert.Equal(rounded[name], cp[name].Values);
            Assert.Equal(dtype, cp[name].DType);
        }
    }

    [Fact]
    public void OutputIsWholeOrAbsent()
    {
        using var dir = new TempDir();
        string path = dir["out.safetensors"];
        File.WriteAllText(path, "previous content");

        // A writer that fails half way leaves the previous file untouched and no temporary file behind.
        Assert.Throws<InvalidOperationException>(() => AtomicFile.Write(path, s =>
        {
            s.Write(new byte[1000]);
            throw new InvalidOperationException("disk full (simulated)");
        }));
        Assert.Equal("previous content", File.ReadAllText(path));
        Assert.Single(Directory.GetFiles(dir.Directory));

        // A missing folder is an output error, with nothing created.
        var e = Assert.Throws<ConversionException>(() => Tiny(out _, out _).WriteSafetensors(Path.Combine(dir.Directory, "no", "such", "x.safetensors")));
        Assert.Equal(ConversionErrorKind.Output, e.Kind);
        Assert.False(Directory.Exists(Path.Combine(dir.Directory, "no")));
    }

    /// <summary>
    /// The exported graph, node by node, against a description derived here from TestSupport's
    /// <see cref="MobileOneArchitecture"/> (not from MobileOne.Conversion's <see cref="NetworkArchitecture"/> that the
    /// exporter walks): per layer Conv(k×k, pads k/2, stride, group) [→ GlobalAveragePool → Conv 1x1 → Relu → Conv 1x1 →
    /// Sigmoid → Mul with the conv output] → Relu; then GlobalAveragePool → Flatten(axis 1) → Gemm(transB 1) to
    /// <c>logits</c>. Intermediate tensors are matched by which node produces them, not by name; initializers by name,
    /// dims and exact little-endian float bytes.
    /// </summary>
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void OnnxExportGraphMatchesTheArchitecture(bool symbolicBatch)
    {
        FusedNetwork net = Tiny(out MobileOneArchitecture arch, out FusedWeights weights);
        Onnx.ModelProto model = Onnx.ModelProto.Parser.ParseFrom(OnnxExport.Build(net, symbolicBatch));

        Assert.Equal(8, model.IrVersion);
        var opset = Assert.Single(model.OpsetImport);
        Assert.Equal((string.Empty, 17L), (opset.Domain, opset.Version));
        Onnx.GraphProto g = model.Graph;

        // Input [N|1, 3, 40, 36] and output [N|1, 6], float.
        AssertTensorValue(Assert.Single(g.Input), "input", symbolicBatch, arch.InputChannels, arch.InputHeight, arch.InputWidth);
        AssertTensorValue(Assert.Single(g.Output), "logits", symbolicBatch, arch.NumClasses);

        // Initializers: exactly the fused tensors (TestSupport's catalogue order), float32, exact bytes.
        Assert.Equal<string>(weights.Names, g.Initializer.Select(t => t.Name));
        foreach (Onnx.TensorProto t in g.Initializer)
        {
            Assert.Equal((int)Onnx.TensorProto.Types.DataType.Float, t.DataType);
            Assert.Equal<long>(weights.Shape(t.Name).Select(d => (long)d), t.Dims);
            float[] expected = weights[t.Name];
            byte[] raw = t.RawData.Length > 0 ? t.RawData.ToByteArray() : t.FloatData.SelectMany(BitConverter.GetBytes).ToArray();
            Assert.Equal(expected.Length * 4, raw.Length);
            for (int i = 0; i < expected.Length; i++)
            {
                float actual = BinaryPrimitives.ReadSingleLittleEndian(raw.AsSpan(4 * i, 4));
                if (BitConverter.SingleToInt32Bits(actual) != BitConverter.SingleToInt32Bits(expected[i]))
                {
                    Assert.Fail($"{t.Name}[{i}]: exported {actual:R}, weight {expected[i]:R}");
                }
            }
        }

        // Nodes.
        var expectedNodes = new List<ExpectedNode>();
        int x = -1; // producer of the current activation; -1 = the graph input
        int Add(ExpectedNode n) { expectedNodes.Add(n); return expectedNodes.Count - 1; }
        foreach (LayerInfo l in arch.Layers())
        {
            int k = l.KernelSize, pad = k / 2;
            int conv = Add(new ExpectedNode("Conv", new[] { x }, new[] { l.Name + ".reparam_conv.weight", l.Name + ".reparam_conv.bias" },
                ("kernel_shape", new long[] { k, k }), ("pads", new long[] { pad, pad, pad, pad }), ("strides", new long[] { l.Stride, l.Stride }), ("group", new long[] { l.Groups })));
            int pre = conv;
            if (l.HasSe)
            {
                int pool = Add(new ExpectedNode("GlobalAveragePool", new[] { conv }, Array.Empty<string>()));
                int reduce = Add(new ExpectedNode("Conv", new[] { pool }, new[] { l.Name + ".se.reduce.weight", l.Name + ".se.reduce.bias" },
                    ("kernel_shape", new long[] { 1, 1 }), ("pads", new long[] { 0, 0, 0, 0 }), ("strides", new long[] { 1, 1 }), ("group", new long[] { 1 })));
                int relu = Add(new ExpectedNode("Relu", new[] { reduce }, Array.Empty<string>()));
                int expand = Add(new ExpectedNode("Conv", new[] { relu }, new[] { l.Name + ".se.expand.weight", l.Name + ".se.expand.bias" },
                    ("kernel_shape", new long[] { 1, 1 }), ("pads", new long[] { 0, 0, 0, 0 }), ("strides", new long[] { 1, 1 }), ("group", new long[] { 1 })));
                int gate = Add(new ExpectedNode("Sigmoid", new[] { expand }, Array.Empty<string>()));
                pre = Add(new ExpectedNode("Mul", new[] { conv, gate }, Array.Empty<string>()));
            }

            x = Add(new ExpectedNode("Relu", new[] { pre }, Array.Empty<string>()));
        }

        int gap = Add(new ExpectedNode("GlobalAveragePool", new[] { x }, Array.Empty<string>()));
        int flat = Add(new ExpectedNode("Flatten", new[] { gap }, Array.Empty<string>(), ("axis", new long[] { 1 })));
        int gemm = Add(new ExpectedNode("Gemm", new[] { flat }, new[] { "linear.weight", "linear.bias" },
            ("transA", new long[] { 0 }), ("transB", new long[] { 1 })));

        Assert.Equal(expectedNodes.Select(n => n.Op), g.Node.Select(n => n.OpType));
        var producer = new Dictionary<string, int>(StringComparer.Ordinal) { ["input"] = -1 };
        var initializers = new HashSet<string>(g.Initializer.Select(t => t.Name), StringComparer.Ordinal);
        for (int i = 0; i < expectedNodes.Count; i++)
        {
            ExpectedNode e = expectedNodes[i];
            Onnx.NodeProto n = g.Node[i];
            string where = $"node {i} ({n.OpType} '{n.Name}')";
            Assert.True(n.Domain.Length == 0, $"{where}: domain '{n.Domain}'");
            // Data inputs come first (ONNX argument order: X, W, B for Conv and Gemm; A, B for Mul), then initializers.
            Assert.Equal(e.Data.Length + e.Initializers.Length, n.Input.Count);
            for (int j = 0; j < e.Data.Length; j++)
            {
                Assert.False(initializers.Contains(n.Input[j]), $"{where}: input {j} '{n.Input[j]}' is a weight, expected an activation");
                Assert.True(producer.TryGetValue(n.Input[j], out int from), $"{where}: input '{n.Input[j]}' is produced by no earlier node");
                Assert.True(from == e.Data[j], $"{where}: input {j} comes from node {from}, expected node {e.Data[j]}");
            }

            Assert.Equal<string>(e.Initializers, n.Input.Skip(e.Data.Length));
            foreach ((string attr, long[] values) in e.Attributes)
            {
                // Absent attributes take their ONNX default; an absent kernel_shape is the weight's spatial shape.
                long[] actual = AttributeValues(n, attr)
                    ?? (attr == "kernel_shape" ? weights.Shape(e.Initializers[0]).Skip(2).Select(d => (long)d).ToArray() : Array.Empty<long>());
                Assert.True(actual.SequenceEqual(values), $"{where}: {attr} = [{string.Join(",", actual)}], expected [{string.Join(",", values)}]");
            }

            foreach (Onnx.AttributeProto a in n.Attribute)
            {
                bool known = e.Attributes.Any(ea => ea.Name == a.Name)
                    || (a.Name == "dilations" && a.Ints.All(v => v == 1))
                    || (a.Name is "alpha" or "beta" && a.F == 1f)
                    || (a.Name == "auto_pad" && a.S.ToStringUtf8() == "NOTSET");
                Assert.True(known, $"{where}: unexpected attribute {a.Name}");
            }

            string output = Assert.Single(n.Output);
            Assert.False(producer.ContainsKey(output) || initializers.Contains(output), $"{where}: output '{output}' is not a fresh tensor");
            producer[output] = i;
        }

        Assert.Equal("logits", g.Node[gemm].Output[0]);
    }

    /// <summary>
    /// The exported model run by ONNX Runtime (an independent implementation of every op) against the double-precision
    /// reference forward pass of TestSupport (direct loops, no ONNX): a batch of three inputs through the symbolic-batch
    /// model and one through the fixed-batch model, each within 1e-4 · max|logit| + 1e-5 of the reference
    /// (<see cref="LogitComparison"/>: float accumulation over these small layers stays far below that).
    /// </summary>
    [Fact]
    public void OnnxExportRunsLikeTheDoubleReference()
    {
        FusedNetwork net = Tiny(out MobileOneArchitecture arch, out FusedWeights weights);
        float[][] inputs = { TestData.RandomInput(arch, 5), TestData.RandomInput(arch, 6), TestData.RandomInput(arch, 7) };
        double[][] reference = inputs.Select(x => DoubleReference.Run(arch, weights, x)).ToArray();
        LogitComparison.AssertDistinguishable(reference[0], reference[1], "double reference, inputs 5 and 6");

        using var batched = new OrtRunner(OnnxExport.Build(net, symbolicBatch: true));
        float[] logits = batched.RunBatch(inputs.SelectMany(x => x).ToArray(), inputs.Length);
        Assert.Equal(inputs.Length * arch.NumClasses, logits.Length);
        for (int i = 0; i < inputs.Length; i++)
        {
            LogitComparison.AssertClose(reference[i], logits.AsSpan(i * arch.NumClasses, arch.NumClasses), $"ONNX Runtime, batch item {i}");
        }

        using var single = new OrtRunner(OnnxExport.Build(net, symbolicBatch: false));
        LogitComparison.AssertClose(reference[2], single.Run(inputs[2]), "ONNX Runtime, fixed batch 1");
    }

    private sealed record ExpectedNode(string Op, int[] Data, string[] Initializers, params (string Name, long[] Values)[] Attributes);

    /// <summary>An attribute's values (ints, or the single int); when absent, the ONNX default (null for kernel_shape).</summary>
    private static long[]? AttributeValues(Onnx.NodeProto n, string name)
    {
        Onnx.AttributeProto? a = n.Attribute.FirstOrDefault(a => a.Name == name);
        if (a is not null)
        {
            return a.Type == Onnx.AttributeProto.Types.AttributeType.Ints ? a.Ints.ToArray() : new[] { a.I };
        }

        return name switch
        {
            "pads" => new long[] { 0, 0, 0, 0 },
            "strides" => new long[] { 1, 1 },
            "group" => new long[] { 1 },
            "transA" or "transB" => new long[] { 0 },
            "axis" => new long[] { 1 },
            _ => null,
        };
    }

    private static void AssertTensorValue(Onnx.ValueInfoProto v, string name, bool symbolicBatch, params int[] dims)
    {
        Assert.Equal(name, v.Name);
        Assert.Equal((int)Onnx.TensorProto.Types.DataType.Float, v.Type.TensorType.ElemType);
        var shape = v.Type.TensorType.Shape.Dim;
        Assert.Equal(1 + dims.Length, shape.Count);
        if (symbolicBatch)
        {
            Assert.True(shape[0].DimParam.Length > 0, $"{name}: batch dimension is not symbolic");
        }
        else
        {
            Assert.Equal(1L, shape[0].DimValue);
        }

        Assert.Equal(dims.Select(d => (long)d), shape.Skip(1).Select(d => d.DimValue));
    }
}
