using System.Runtime.Intrinsics.X86;
using MobileOne.Runtime;
using Xunit;

namespace MobileOne.Runtime.Tests.Int8;

/// <summary>The INT8 instruction set is chosen once per <see cref="Simd.Level"/> (<see cref="Int8KernelTable"/>) and respects it.</summary>
[Collection(SimdCollection.Name)]
public sealed class Int8KernelTableTests
{
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
}
