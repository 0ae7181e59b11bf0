using System.Runtime.Intrinsics.X86;
using MobileOne.Runtime;
using Xunit;

namespace MobileOne.Runtime.Tests.Int8;

/// <summary>
/// The INT8 instruction set is chosen once per <see cref="Simd.Level"/> (<see cref="Int8KernelTable"/>) and respects it.
/// Every instruction set computes the same bytes, so the kernel tests alone would not notice a table that mixed them up:
/// these check the table itself (function pointers compared as addresses, as <c>KernelTableTests</c> does).
/// </summary>
[Collection(SimdCollection.Name)]
public sealed unsafe class Int8KernelTableTests
{
    [Fact]
    public void EachInstructionSetHasItsOwnTile()
    {
        delegate*<byte*, int, int, int, sbyte*, int*, float*, byte*, int, int, void> vnni = &PointwiseInt8Sweep.Compute<Gemm6x32AvxVnni, RequantizedBytes>;
        delegate*<byte*, int, int, int, sbyte*, int*, float*, byte*, int, int, void> vnniFloats = &PointwiseInt8Sweep.Compute<Gemm6x32AvxVnni, DequantizedFloats>;
        delegate*<byte*, int, int, int, sbyte*, int*, float*, byte*, int, int, void> bw = &PointwiseInt8Sweep.Compute<Gemm8x32Avx512BW, RequantizedBytes>;
        delegate*<byte*, int, int, int, sbyte*, int*, float*, byte*, int, int, void> bwFloats = &PointwiseInt8Sweep.Compute<Gemm8x32Avx512BW, DequantizedFloats>;
        delegate*<byte*, int, int, int, sbyte*, int*, float*, byte*, int, int, void> avx2 = &PointwiseInt8Sweep.Compute<Gemm4x16Avx2, RequantizedBytes>;
        delegate*<byte*, int, int, int, sbyte*, int*, float*, byte*, int, int, void> avx2Floats = &PointwiseInt8Sweep.Compute<Gemm4x16Avx2, DequantizedFloats>;
        delegate*<byte*, int, int, int, sbyte*, int*, float*, byte*, int, int, void> scalar = &PointwiseInt8Scalar.Compute<RequantizedBytes>;
        delegate*<byte*, int, int, int, sbyte*, int*, float*, byte*, int, int, void> scalarFloats = &PointwiseInt8Scalar.Compute<DequantizedFloats>;
        Assert.Equal((nint)vnni, (nint)Int8KernelTable.Pointwise(Int8Isa.AvxVnni, floats: false));
        Assert.Equal((nint)vnniFloats, (nint)Int8KernelTable.Pointwise(Int8Isa.AvxVnni, floats: true));
        Assert.Equal((nint)bw, (nint)Int8KernelTable.Pointwise(Int8Isa.Avx512BW, floats: false));
        Assert.Equal((nint)bwFloats, (nint)Int8KernelTable.Pointwise(Int8Isa.Avx512BW, floats: true));
        Assert.Equal((nint)avx2, (nint)Int8KernelTable.Pointwise(Int8Isa.Avx2, floats: false));
        Assert.Equal((nint)avx2Floats, (nint)Int8KernelTable.Pointwise(Int8Isa.Avx2, floats: true));
        Assert.Equal((nint)scalar, (nint)Int8KernelTable.Pointwise(Int8Isa.Scalar, floats: false));
        Assert.Equal((nint)scalarFloats, (nint)Int8KernelTable.Pointwise(Int8Isa.Scalar, floats: true));
        foreach (SimdLevel level in Cases.Levels())
        {
            Int8KernelTable table = Int8KernelTable.For(level);
            Assert.Equal((nint)Int8KernelTable.Pointwise(table.PointwiseIsa, floats: false), (nint)table.PointwiseToBytes);
            Assert.Equal((nint)Int8KernelTable.Pointwise(table.PointwiseIsa, floats: true), (nint)table.PointwiseToFloats);
        }
    }

    [Fact]
    public void EachLevelHoldsItsOwnBlock()
    {
        AssertBlock<Int8Block16Vector512>(SimdLevel.Vector512);
        AssertBlock<Int8Block16Vector256>(SimdLevel.Vector256);
        AssertBlock<Int8Block16Vector128>(SimdLevel.Vector128);
        AssertBlock<Int8Block16Scalar>(SimdLevel.Scalar);
    }

    [Fact]
    public void ThePointwiseInstructionSetRespectsTheLevel()
    {
        Assert.Equal(Int8Isa.Scalar, Int8KernelTable.DefaultIsa(SimdLevel.Scalar));
        Assert.Equal(Int8Isa.Scalar, Int8KernelTable.DefaultIsa(SimdLevel.Vector128));
        Assert.Equal(AvxVnni.IsSupported ? Int8Isa.AvxVnni : Avx2.IsSupported ? Int8Isa.Avx2 : Int8Isa.Scalar, Int8KernelTable.DefaultIsa(SimdLevel.Vector256));
        Assert.Equal(
            AvxVnni.IsSupported ? Int8Isa.AvxVnni : Avx512BW.IsSupported ? Int8Isa.Avx512BW : Avx2.IsSupported ? Int8Isa.Avx2 : Int8Isa.Scalar,
            Int8KernelTable.DefaultIsa(SimdLevel.Vector512));
    }

    [Fact]
    public void TheCurrentTableFollowsTheLevel()
    {
        foreach (SimdLevel level in Cases.Available())
        {
            using (new SimdScope(level))
            {
                Assert.Same(Int8KernelTable.For(level), Int8KernelTable.Current);
                Assert.Equal(level, Int8KernelTable.Current.Level);
                Assert.Equal(Int8KernelTable.DefaultIsa(level), PointwiseConvInt8.Isa);
            }
        }
    }

    private static void AssertBlock<T>(SimdLevel level)
        where T : struct, IInt8Block16<T>
    {
        Int8KernelTable table = Int8KernelTable.For(level);
        Assert.Equal(level, table.Level);
        delegate*<byte*, int, int, int, float*, int*, float*, byte*, int, int, int, bool, int, int, void> depthwise = &DepthwiseInt8Block16.Rows<T, RequantizedBytes>;
        delegate*<byte*, int, int, int, float*, int*, float*, byte*, int, int, int, bool, int, int, void> depthwiseFloats = &DepthwiseInt8Block16.Rows<T, DequantizedFloats>;
        delegate*<float*, int, int, int*, float*, byte*, void> requantize = &QuantizeBlock16.Accumulators<T>;
        delegate*<float*, int, float, byte*, void> activations = &QuantizeBlock16.Activations<T>;
        delegate*<float*, int, float, float*, void> input = &QuantizeBlock16.Input<T>;
        delegate*<byte*, int, int, float, float*, void> pool = &SumBytes4x16Block16.Run<T>;
        Assert.Equal((nint)depthwise, (nint)table.DepthwiseRowsToBytes);
        Assert.Equal((nint)depthwiseFloats, (nint)table.DepthwiseRowsToFloats);
        Assert.Equal((nint)requantize, (nint)table.RequantizeAccumulators);
        Assert.Equal((nint)activations, (nint)table.QuantizeActivations);
        Assert.Equal((nint)input, (nint)table.QuantizeInput);
        Assert.Equal((nint)pool, (nint)table.SumBytes);
    }
}
