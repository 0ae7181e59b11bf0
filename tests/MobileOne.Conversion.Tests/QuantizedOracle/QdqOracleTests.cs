using System;
using System.Globalization;
using System.Linq;
using Microsoft.ML.OnnxRuntime;
using MobileOne.TestSupport;
using Xunit;
using Xunit.Abstractions;

namespace MobileOne.Conversion.Tests.QuantizedOracle;

/// <summary>
/// ONNX Runtime 1.31.1 on <see cref="Quantization.QdqOnnxExport"/>'s graph against <see cref="Int8Reference"/>: two
/// implementations of docs/quantization.md that share no code, at ORT_ENABLE_ALL (the DQ → Conv → Q groups fused into
/// QLinearConv: ORT's integer kernels) and at ORT_DISABLE_ALL (the QDQ graph as written: float Conv on dequantized values,
/// then QuantizeLinear).
/// <para>
/// The two differ only where a value sits on a rounding boundary: ORT quantizes the input as <c>x / s</c> where the
/// contract multiplies by <c>1f / s</c>; QLinearConv's multiplier is <c>s_in * s_w / s_out</c> in float, the contract's
/// is computed in double and rounded once; without fusion ORT sums float products. So the tolerances are, with
/// what was measured over 12 random inputs per network plus the 2 test inputs (one at twice the calibration range), at
/// both levels, for S0–S4 at 64x64 and the custom network:
/// </para>
/// <list type="bullet">
/// <item>the quantized input: at most 1 step, in at most 1 value in 1,000 (measured: none; without the Clip to ±127
/// steps, ORT's QuantizeLinear gives -128 where the doubled input goes below the range);</item>
/// <item>each layer recomputed by the reference from ORT's own input to that layer ("local"): at most 1 step, in at
/// most 1 byte in 10,000 of all layer outputs (measured: at most 6 bytes of ~1,000,000, each 1 step);</item>
/// <item>the head (pool and linear) recomputed from ORT's last layer: 1e-5 of the logit range (measured ≤ 2.6e-7);</item>
/// <item>end to end: 8% of the logit range (max − min). A one-step difference in these random deep networks grows
/// layer by layer (up to 24 steps in the last layers); no byte differs in most runs, and the worst of ~170 runs was
/// 3.1% of the range (S3 without fusion), so 8% leaves a margin of 2.5.</item>
/// </list>
/// </summary>
public class QdqOracleTests
{
    /// <summary>Largest difference of a byte, in steps, in the quantized input and in any locally recomputed layer.</summary>
    public const int MaxSteps = 1;

    /// <summary>Largest fraction of the quantized input values that may differ.</summary>
    public const double MaxInputFraction = 1e-3;

    /// <summary>Largest fraction of all layer-output bytes that may differ when each layer is recomputed from ORT's input.</summary>
    public const double MaxLocalFraction = 1e-4;

    /// <summary>Largest logit difference of the head recomputed from ORT's last layer, relative to the logit range.</summary>
    public const double HeadTolerance = 1e-5;

    /// <summary>Largest end-to-end logit difference relative to the logit range (max − min of the reference's logits).</summary>
    public const double EndToEndTolerance = 0.08;

    private readonly ITestOutputHelper _out;

    public QdqOracleTests(ITestOutputHelper output) => _out = output;

    [Theory]
    [MemberData(nameof(OracleCases.All), MemberType = typeof(OracleCases))]
    public void OnnxRuntimeAgreesWithTheInt8Reference(string name)
    {
        OracleCase c = OracleCases.Get(name);
        Int8Trace[] traces = c.Inputs.Select(c.Reference.Trace).ToArray();
        foreach (GraphOptimizationLevel level in new[] { GraphOptimizationLevel.ORT_ENABLE_ALL, GraphOptimizationLevel.ORT_DISABLE_ALL })
        {
            using var ort = new QdqOrt(c.Network, level);
            for (int i = 0; i < c.Inputs.Length; i++)
            {
                QdqComparison r = QdqComparison.Compare(c.Reference, traces[i], ort.Run(c.Inputs[i]));
                string label = $"{name} {level} input {i}";
                _out.WriteLine(label + ": " + r.Describe());
                r.AssertWithin(label);
            }
        }
    }
}

/// <summary>How ONNX Runtime's run of a QDQ graph differs from <see cref="Int8Reference"/>'s (see <see cref="QdqOracleTests"/>).</summary>
public sealed record QdqComparison(
    int InputSteps, long InputDiffering, long InputCount,
    int LocalSteps, long LocalDiffering, long LayerBytes, string FirstLocal,
    double HeadDiff, double EndToEndDiff, double LogitRange, int EndToEndSteps, long EndToEndDiffering)
{
    public static QdqComparison Compare(Int8Reference reference, Int8Trace trace, QdqRunResult ort)
    {
        int inputSteps = 0;
        long inputDiffering = 0;
        for (int j = 0; j < trace.Input.Length; j++)
        {
            int d = Math.Abs(trace.Input[j] - ort.Input[j]);
            inputSteps = Math.Max(inputSteps, d);
            inputDiffering += d > 0 ? 1 : 0;
        }

        int localSteps = 0, e2eSteps = 0;
        long localDiffering = 0, e2eDiffering = 0, bytes = 0;
        string first = "-";
        int[] x = ort.Input.Select(v => (int)v).ToArray();
        foreach (Int8LayerOutput l in trace.Layers)
        {
            byte[] o = ort.Layers[l.Layer.Name];
            if (o.Length != l.Output.Length)
            {
                throw new InvalidOperationException($"{l.Layer.Name}: ORT has {o.Length} bytes, the reference {l.Output.Length}.");
            }

            byte[] local = reference.RunLayer(l.Layer.Name, x);
            for (int j = 0; j < o.Length; j++)
            {
                int d = Math.Abs(o[j] - local[j]);
                if (d > 0 && localDiffering == 0)
                {
                    first = string.Create(CultureInfo.InvariantCulture, $"{l.Layer.Name}[{j}]: ORT {o[j]}, reference {local[j]}");
                }

                localDiffering += d > 0 ? 1 : 0;
                localSteps = Math.Max(localSteps, d);
                int e = Math.Abs(o[j] - l.Output[j]);
                e2eDiffering += e > 0 ? 1 : 0;
                e2eSteps = Math.Max(e2eSteps, e);
            }

            bytes += o.Length;
            x = Array.ConvertAll(o, v => (int)v);
        }

        (_, float[] head) = reference.RunHead(ort.Layers[trace.Layers[^1].Layer.Name]);
        double range = trace.Logits.Max() - trace.Logits.Min();
        return new QdqComparison(inputSteps, inputDiffering, trace.Input.Length, localSteps, localDiffering, bytes, first,
            MaxDiff(head, ort.Logits), MaxDiff(trace.Logits, ort.Logits), range, e2eSteps, e2eDiffering);
    }

    public string Describe() => string.Create(CultureInfo.InvariantCulture,
        $"input {InputDiffering}/{InputCount} values differ (max {InputSteps}); local {LocalDiffering}/{LayerBytes} bytes (max {LocalSteps} step, first {FirstLocal}); " +
        $"head {HeadDiff / LogitRange:G3} of the range; end to end logits {EndToEndDiff:G3} = {EndToEndDiff / LogitRange:G3} of the range {LogitRange:G4}, {EndToEndDiffering} bytes differ (max {EndToEndSteps} steps)");

    public void AssertWithin(string label)
    {
        string what = label + ": " + Describe();
        Assert.True(InputSteps <= QdqOracleTests.MaxSteps && InputDiffering <= QdqOracleTests.MaxInputFraction * InputCount, "quantized input: " + what);
        Assert.True(LocalSteps <= QdqOracleTests.MaxSteps && LocalDiffering <= QdqOracleTests.MaxLocalFraction * LayerBytes, "layers: " + what);
        Assert.True(HeadDiff <= QdqOracleTests.HeadTolerance * LogitRange, "head: " + what);
        Assert.True(EndToEndDiff <= QdqOracleTests.EndToEndTolerance * LogitRange, "end to end: " + what);
        Assert.True(LogitRange > 0, "the logits do not depend on the class: " + what);
    }

    private static double MaxDiff(float[] a, float[] b)
    {
        if (a.Length != b.Length)
        {
            return double.PositiveInfinity;
        }

        double m = 0;
        for (int i = 0; i < a.Length; i++)
        {
            double d = Math.Abs((double)a[i] - b[i]);
            m = double.IsNaN(d) ? double.PositiveInfinity : Math.Max(m, d);
        }

        return m;
    }
}
