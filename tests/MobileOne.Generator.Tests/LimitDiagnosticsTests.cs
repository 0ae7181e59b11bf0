using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Text;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Text;
using MobileOne.Generator.Tests.Infrastructure;
using MobileOne.TestSupport;
using Xunit;

namespace MobileOne.Generator.Tests;

/// <summary>
/// The enforced limits of the safetensors reader (docs/security.md), each as the MO0002 it gives, and MO0017 (NaN or
/// infinite weights: a warning, the class is still generated), in the style of DiagnosticsTests.
/// </summary>
public class LimitDiagnosticsTests
{
    private static readonly MobileOneArchitecture Tiny = TestNets.TinySe;

    // ---- MO0002: limits ----------------------------------------------------------------------------------------

    [Fact]
    public void MO0002_HeaderLengthOfTwoToTheSixtyThree()
    {
        using var models = new TempModels();
        string path = models.PathOf("huge.safetensors");
        byte[] bytes = new byte[16];
        BitConverter.TryWriteBytes(bytes.AsSpan(0, 8), 1UL << 63);
        File.WriteAllBytes(path, bytes);
        RunAssert.SingleError(GeneratorHarness.Run(path), "MO0002", path, "The header length field says 9223372036854775808 bytes, more than the 104857600 accepted.");
    }

    [Fact]
    public void MO0002_MoreThanMaxTensors()
    {
        using var models = new TempModels();
        var sb = new StringBuilder("{");
        for (int i = 0; i <= 100_000; i++)
        {
            sb.Append(i == 0 ? string.Empty : ",").Append("\"t").Append(i.ToString(CultureInfo.InvariantCulture)).Append("\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[0,0]}");
        }

        string path = TestNets.WriteWithHeader(models.PathOf("many.safetensors"), sb.Append('}').ToString(), 0);
        RunAssert.SingleError(GeneratorHarness.Run(path), "MO0002", path, "The header lists more than 100000 tensors.");
    }

    [Fact]
    public void MO0002_MoreThanEightDimensions()
    {
        using var models = new TempModels();
        string header = "{\"linear.bias\":{\"dtype\":\"F32\",\"shape\":[1,1,1,1,1,1,1,1,1],\"data_offsets\":[0,4]}}";
        string path = TestNets.WriteWithHeader(models.PathOf("rank.safetensors"), header, 4);
        RunAssert.SingleError(GeneratorHarness.Run(path), "MO0002", path, "Tensor 'linear.bias' has 9 dimensions; at most 8 are accepted.");
    }

    [Theory]
    [InlineData("2147483648")]
    [InlineData("-1")]
    [InlineData("1.5")]
    [InlineData("18446744073709551616")]
    public void MO0002_DimensionOutOfRange(string dimension)
    {
        using var models = new TempModels();
        string header = "{\"linear.bias\":{\"dtype\":\"F32\",\"shape\":[" + dimension + "],\"data_offsets\":[0,4]}}";
        string path = TestNets.WriteWithHeader(models.PathOf("dim.safetensors"), header, 4);
        RunAssert.SingleError(GeneratorHarness.Run(path), "MO0002", path, $"Tensor 'linear.bias' has an invalid dimension '{dimension}' (a whole number from 0 to 2147483647 expected).");
    }

    [Fact]
    public void MO0002_MoreElementsThanAnIntCounts()
    {
        // [2^31-1, 2^31-1] of an unknown dtype: no byte count to check, so the element limit is what refuses it.
        using var models = new TempModels();
        string header = "{\"linear.bias\":{\"dtype\":\"X9\",\"shape\":[2147483647,2147483647],\"data_offsets\":[0,4]}}";
        string path = TestNets.WriteWithHeader(models.PathOf("count.safetensors"), header, 4);
        RunAssert.SingleError(GeneratorHarness.Run(path), "MO0002", path, "Tensor 'linear.bias' has shape [2147483647, 2147483647]: more than 2147483647 elements.");
    }

    [Theory]
    [InlineData("[8,4]", "invalid data_offsets (0 <= begin <= end expected)")]
    [InlineData("[-4,0]", "invalid data_offsets (0 <= begin <= end expected)")]
    [InlineData("[0,1000000000000]", "ends at byte 1000000000000 of the data section, but the data section has only 8 bytes")]
    [InlineData("[9223372036854775807,9223372036854775807]", "ends at byte 9223372036854775807 of the data section")]
    [InlineData("[0]", "has no 'data_offsets' pair [begin, end]")]
    public void MO0002_DataOffsetsOutOfTheFile(string offsets, string fragment)
    {
        using var models = new TempModels();
        string header = "{\"linear.bias\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":" + offsets + "}}";
        string path = TestNets.WriteWithHeader(models.PathOf("offsets.safetensors"), header, 8);
        RunAssert.SingleError(GeneratorHarness.Run(path), "MO0002", path, fragment);
    }

    [Fact]
    public void MO0002_TensorInsideAnother()
    {
        using var models = new TempModels();
        string header = "{\"linear.weight\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]},"
                      + "\"linear.bias\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}";
        string path = TestNets.WriteWithHeader(models.PathOf("inside.safetensors"), header, 16);
        RunAssert.SingleError(GeneratorHarness.Run(path), "MO0002", path, "Tensors 'linear.weight' and 'linear.bias' overlap in the data section.");
    }

    [Fact]
    public void MO0002_JsonNestedTooDeep()
    {
        using var models = new TempModels();
        string header = "{\"x\":" + new string('[', 100) + new string(']', 100) + "}";
        string path = TestNets.WriteWithHeader(models.PathOf("deep.safetensors"), header, 0);
        RunAssert.SingleError(GeneratorHarness.Run(path), "MO0002", path, "JSON nested deeper than 64 levels");
    }

    // ---- MO0017: NaN or infinite weights ---------------------------------------------------------------------

    [Theory]
    [InlineData("F32", float.NaN)]
    [InlineData("F32", float.PositiveInfinity)]
    [InlineData("F16", float.NegativeInfinity)]
    [InlineData("BF16", float.NaN)]
    public void MO0017_NonFiniteWeightIsAWarningAndTheClassIsStillGenerated(string dtype, float bad)
    {
        using var models = new TempModels();
        FusedWeights weights = TestNets.SeededWeights(Tiny, 3);
        weights["stage2.1.reparam_conv.weight"][5] = bad;
        weights["stage2.1.reparam_conv.weight"][7] = bad;
        weights["linear.bias"][9] = bad;
        string path = models.WriteWeights("nan.safetensors", Tiny, weights, dtype: dtype);

        GeneratorRun run = GeneratorHarness.Run(path);
        RunAssert.NoGeneratorException(run);
        Diagnostic d = Assert.Single(run.GeneratorDiagnostics);
        Assert.Equal("MO0017", d.Id);
        Assert.Equal(DiagnosticSeverity.Warning, d.Severity);
        Assert.Equal(path, d.Location.GetLineSpan().Path);
        Assert.Equal(new LinePosition(0, 0), d.Location.GetLineSpan().StartLinePosition);
        Assert.Equal(
            "'nan.safetensors' has 3 NaN or infinite weight value(s) in 2 tensor(s), the first in 'stage2.1.reparam_conv.weight' at element 5; the network's outputs may be NaN or infinite",
            d.GetMessage(CultureInfo.InvariantCulture));
        Assert.Single(run.HintNames);
        Assert.Empty(run.Compilation.GetDiagnostics().Where(x => x.Severity == DiagnosticSeverity.Error));
    }

    [Fact]
    public void MO0017_ReportedWithTheErrorsOfABrokenFile()
    {
        using var models = new TempModels();
        var entries = TestNets.Entries(Tiny);
        entries.RemoveAt(entries.Count - 1); // no linear.bias: MO0007
        var (name, dtype, shape, data) = entries[0];
        data = (byte[])data.Clone();
        BitConverter.TryWriteBytes(data.AsSpan(0, 4), float.NaN);
        entries[0] = (name, dtype, shape, data);
        string path = TestNets.WriteRaw(models.PathOf("broken.safetensors"), entries);

        GeneratorRun run = GeneratorHarness.Run(path);
        RunAssert.NoGeneratorException(run);
        Assert.Equal(new[] { "MO0007", "MO0017" }, run.GeneratorDiagnostics.Select(x => x.Id).OrderBy(x => x, StringComparer.Ordinal));
        Assert.Empty(run.HintNames);
    }

    [Theory]
    [InlineData("F16", 1)]
    [InlineData("BF16", 1)]
    [InlineData("F16", 3)]
    public async System.Threading.Tasks.Task MO0017_ScanOfTwoByteFloatsSmallerThanAWordEnds(string dtype, int elements)
    {
        // Regression: a file whose float data is 2 (or 6) bytes once made the scan read 0 bytes forever.
        using var models = new TempModels();
        byte[] data = new byte[elements * 2];
        data[1] = 0x3C; // F16 0x3C00 = 1.0, BF16 0x3C00 ≈ 0.0078: finite
        string path = TestNets.WriteRaw(models.PathOf("tiny.safetensors"), new[] { ("linear.bias", dtype, new long[] { elements }, data) });
        // A hang fails the test with a TimeoutException instead of hanging the run.
        GeneratorRun run = await System.Threading.Tasks.Task.Run(() => GeneratorHarness.Run(path)).WaitAsync(TimeSpan.FromSeconds(60));
        RunAssert.NoGeneratorException(run);
        Assert.DoesNotContain(run.GeneratorDiagnostics, d => d.Id == "MO0017");
        Assert.NotEmpty(run.GeneratorDiagnostics);
    }

    [Fact]
    public void MO0017_AppearsWhenOnlyTheDataChangesAndTheSourceStaysTheSame()
    {
        using var models = new TempModels();
        FusedWeights weights = TestNets.SeededWeights(Tiny, 4);
        string path = models.WriteWeights("net.safetensors", Tiny, weights);
        GeneratorRun clean = GeneratorHarness.Run(path);
        Assert.Empty(clean.GeneratorDiagnostics);

        weights["stage0.reparam_conv.bias"][0] = float.PositiveInfinity;
        models.WriteWeights("net.safetensors", Tiny, weights);
        GeneratorRun dirty = GeneratorHarness.Run(path);
        Assert.Equal("MO0017", Assert.Single(dirty.GeneratorDiagnostics).Id);
        Assert.Equal(clean.Source(".g.cs"), dirty.Source(".g.cs"));
    }
}
