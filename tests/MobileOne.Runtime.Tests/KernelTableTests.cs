using MobileOne.Runtime;
using Xunit;

namespace MobileOne.Runtime.Tests;

/// <summary>
/// The instruction set is chosen once per <see cref="Simd.Level"/> change (<see cref="KernelTable"/>). Every level
/// computes bit-identical results on many shapes, so the kernel tests alone would not notice a table that ignored the
/// level: these check the table itself. Function pointers are compared as addresses: CoreCLR gives a method one
/// multi-callable entry point, which <c>ldftn</c> returns in every assembly (C# warns, CS8909, only because the language
/// does not promise that for every runtime).
/// </summary>
[Collection(SimdCollection.Name)]
public sealed unsafe class KernelTableTests
{
    [Fact]
    public void CurrentTableFollowsTheLevel()
    {
        SimdLevel before = Simd.Level;
        Assert.Same(KernelTable.For(before), Simd.Kernels);
        foreach (SimdLevel level in Cases.Available())
        {
            using (new SimdScope(level))
            {
                Assert.Equal(level, Simd.Kernels.Level);
                Assert.Same(KernelTable.For(level), Simd.Kernels);
            }

            Assert.Same(KernelTable.For(before), Simd.Kernels);
        }
    }

    [Fact]
    public void EachLevelHoldsItsOwnMicroKernels()
    {
        // Only Vector512 has the hand-written AVX-512 pointwise GEMM; the rest are the Block16 kernels on the level's block.
        delegate*<float*, int, int, int, float*, float*, float*, int, int, bool, void> avx512Gemm = &PointwiseAvx512.Compute;
        Assert.Equal((nint)avx512Gemm, (nint)KernelTable.For(SimdLevel.Vector512).PointwiseGemm);
        AssertBlock16<Block16Vector512>(SimdLevel.Vector512, pointwiseIsBlock16: false);
        AssertBlock16<Block16Vector256>(SimdLevel.Vector256, pointwiseIsBlock16: true);
        AssertBlock16<Block16Vector128>(SimdLevel.Vector128, pointwiseIsBlock16: true);
        AssertBlock16<Block16Scalar>(SimdLevel.Scalar, pointwiseIsBlock16: true);
    }

    private static void AssertBlock16<T>(SimdLevel level, bool pointwiseIsBlock16)
        where T : struct, IBlock16<T>
    {
        KernelTable table = KernelTable.For(level);
        Assert.Equal(level, table.Level);

        delegate*<float*, int, int, int, float*, float*, float*, int, int, int, int, bool, int, int, void> stem = &StemBlock16.Rows<T>;
        delegate*<float*, int, int, int, float*, float*, float*, int, int, int, bool, int, int, void> depthwise = &DepthwiseBlock16.Rows<T>;
        delegate*<float*, int, int, int, float*, float*, float*, int, int, bool, void> pointwise = &PointwiseBlock16.Compute<T>;
        delegate*<float*, int, float*, float*, int, float*, void> linear = &Gemv1x64Block16.Run<T>;
        delegate*<float*, int, int, float*, void> mean = &Mean4x16Block16.Run<T>;
        delegate*<float*, int, int, int, int, float*, float*, float*, float*, float*, bool, void> se = &SqueezeExciteBlock16.Run<T>;
        Assert.Equal((nint)stem, (nint)table.StemRows);
        Assert.Equal((nint)depthwise, (nint)table.DepthwiseRows);
        Assert.Equal(pointwiseIsBlock16, (nint)table.PointwiseGemm == (nint)pointwise);
        Assert.Equal((nint)linear, (nint)table.LinearGemv);
        Assert.Equal((nint)mean, (nint)table.Mean);
        Assert.Equal((nint)se, (nint)table.SqueezeExcite);
    }
}
