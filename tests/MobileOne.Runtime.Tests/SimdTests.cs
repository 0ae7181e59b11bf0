using System;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using MobileOne.Runtime;
using Xunit;

namespace MobileOne.Runtime.Tests;

[Collection(SimdCollection.Name)]
public sealed class SimdTests
{
    [Fact]
    public void BestMatchesHardwareAcceleration()
    {
        SimdLevel expected =
            Vector512.IsHardwareAccelerated ? SimdLevel.Vector512 :
            Vector256.IsHardwareAccelerated ? SimdLevel.Vector256 :
            Vector128.IsHardwareAccelerated ? SimdLevel.Vector128 :
            SimdLevel.Scalar;
        Assert.Equal(expected, Simd.Best);
    }

    /// <summary>
    /// Run the suite with AVX-512 disabled to exercise this: the knob is <c>DOTNET_EnableAVX512=0</c> on .NET 10+
    /// (which ignores the older <c>DOTNET_EnableAVX512F</c>) and <c>DOTNET_EnableAVX512F=0</c> on .NET 8/9.
    /// </summary>
    [Fact]
    public void DisablingAvx512DropsBelowVector512()
    {
        bool disabled = Environment.GetEnvironmentVariable("DOTNET_EnableAVX512") == "0"
            || (Environment.Version.Major < 10 && Environment.GetEnvironmentVariable("DOTNET_EnableAVX512F") == "0")
            || !Avx512F.IsSupported;
        if (disabled)
        {
            Assert.True(Simd.Best <= SimdLevel.Vector256, $"Best is {Simd.Best} with AVX-512 disabled.");
            Assert.False(Vector512.IsHardwareAccelerated);
        }
    }

    [Fact]
    public void InitialLevelHonoursEnvironment()
    {
        string? env = Environment.GetEnvironmentVariable(Simd.EnvironmentVariable);
        Assert.Equal(Simd.ParseLevel(env, Simd.Best), Simd.Level);
    }

    [Fact]
    public void EveryAvailableLevelCanBeSetAndRestored()
    {
        SimdLevel before = Simd.Level;
        foreach (SimdLevel level in Cases.Levels())
        {
            using (new SimdScope(level))
            {
                Assert.Equal(level, Simd.Level);
            }

            Assert.Equal(before, Simd.Level);
        }
    }

    [Fact]
    public void SettingAboveBestThrowsAndNamesWhatIsAvailable()
    {
        SimdLevel before = Simd.Level;
        if (Simd.Best < SimdLevel.Vector512)
        {
            var e = Assert.Throws<ArgumentOutOfRangeException>(() => Simd.Level = Simd.Best + 1);
            Assert.Contains(Simd.Best.ToString(), e.Message, StringComparison.Ordinal);
        }

        Assert.Throws<ArgumentOutOfRangeException>(() => Simd.Level = (SimdLevel)7);
        Assert.Throws<ArgumentOutOfRangeException>(() => Simd.Level = (SimdLevel)(-1));
        Assert.Equal(before, Simd.Level);
    }

    [Theory]
    [InlineData(null, SimdLevel.Vector512, SimdLevel.Vector512)]
    [InlineData("", SimdLevel.Vector256, SimdLevel.Vector256)]
    [InlineData("scalar", SimdLevel.Vector512, SimdLevel.Scalar)]
    [InlineData("Vector128", SimdLevel.Vector512, SimdLevel.Vector128)]
    [InlineData(" vector256 ", SimdLevel.Vector512, SimdLevel.Vector256)]
    [InlineData("VECTOR512", SimdLevel.Vector512, SimdLevel.Vector512)]
    [InlineData("vector512", SimdLevel.Vector256, SimdLevel.Vector256)]
    [InlineData("avx9000", SimdLevel.Vector128, SimdLevel.Vector128)]
    public void ParsesEnvironmentValue(string? text, SimdLevel best, SimdLevel expected) =>
        Assert.Equal(expected, Simd.ParseLevel(text, best));
}
