using System;
using System.Collections.Generic;
using System.Reflection;
using System.Runtime.Intrinsics;
using System.Runtime.Loader;
using MobileOne.Runtime;
using Xunit;
using Xunit.Abstractions;

namespace MobileOne.Runtime.Tests;

[Collection(SimdCollection.Name)]
public sealed class SimdTests
{
    private readonly ITestOutputHelper _output;

    public SimdTests(ITestOutputHelper output) => _output = output;

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
    /// <see cref="Simd.Best"/> follows what the runtime accelerates, not just what the CPU has: a fresh process started
    /// with AVX-512 disabled (<c>DOTNET_EnableAVX512=0</c> on .NET 10+, which ignores the older
    /// <c>DOTNET_EnableAVX512F</c>; that one on .NET 8/9, so both are set) reports at most Vector256, while the same
    /// program without the knob reports Vector512. The JIT reads these knobs once per process, so it takes a child
    /// process (<see cref="SimdProbe"/>). Skipped, visibly, on CPUs without AVX-512 (there is nothing to disable).
    /// </summary>
    [Avx512Fact]
    public void DisablingAvx512DropsBelowVector512()
    {
        SimdProbe.Result enabled = SimdProbe.Run(new Dictionary<string, string?>
        {
            ["DOTNET_EnableAVX512"] = null,
            ["DOTNET_EnableAVX512F"] = null,
            [Simd.EnvironmentVariable] = null,
        });
        _output.WriteLine(enabled.Output);
        Assert.True(
            enabled.Best == SimdLevel.Vector512 && enabled.Vector512Accelerated,
            $"Without the knob the probe should see Vector512 on this AVX-512 CPU, so that the check below can fail; {enabled.Output}");

        SimdProbe.Result disabled = SimdProbe.Run(new Dictionary<string, string?>
        {
            ["DOTNET_EnableAVX512"] = "0",
            ["DOTNET_EnableAVX512F"] = "0",
            [Simd.EnvironmentVariable] = null,
        });
        _output.WriteLine(disabled.Output);
        Assert.False(disabled.Vector512Accelerated, $"DOTNET_EnableAVX512=0 did not reach the child's JIT; {disabled.Output}");
        Assert.True(disabled.Best <= SimdLevel.Vector256, $"Simd.Best is {disabled.Best} with AVX-512 disabled; {disabled.Output}");
        Assert.Equal(disabled.Best, disabled.Level); // MOBILEONE_SIMD unset: the kernels start at the lowered Best
    }

    /// <summary>
    /// <c>MOBILEONE_SIMD</c> sets the level the kernels start at. It is read once, by <see cref="Simd"/>'s static
    /// initializer: load a fresh copy of the runtime assembly in its own load context (fresh statics) after setting the
    /// variable, and read <see cref="Simd.Level"/> there. <paramref name="expected"/> null means <see cref="Simd.Best"/>
    /// (unset, empty or unknown values); rows naming a level above <see cref="Simd.Best"/> are skipped with the reason.
    /// </summary>
    [SimdTheory]
    [InlineData("scalar", SimdLevel.Scalar)]
    [InlineData("vector128", SimdLevel.Vector128)]
    [InlineData(" Vector256 ", SimdLevel.Vector256)]
    [InlineData("VECTOR512", SimdLevel.Vector512)]
    [InlineData("avx9000", null)]
    [InlineData("", null)]
    [InlineData(null, null)]
    public void InitialLevelHonoursEnvironment(string? value, SimdLevel? expected)
    {
        string? previous = Environment.GetEnvironmentVariable(Simd.EnvironmentVariable);
        var context = new AssemblyLoadContext("MOBILEONE_SIMD test", isCollectible: true);
        try
        {
            Environment.SetEnvironmentVariable(Simd.EnvironmentVariable, value);
            Assembly fresh = context.LoadFromAssemblyPath(typeof(Simd).Assembly.Location);
            Type type = fresh.GetType(typeof(Simd).FullName!, throwOnError: true)!;
            Assert.NotSame(typeof(Simd), type);
            int level = (int)type.GetProperty(nameof(Simd.Level))!.GetValue(null)!;
            int best = (int)type.GetProperty(nameof(Simd.Best))!.GetValue(null)!;
            Assert.Equal((int)Simd.Best, best);
            Assert.Equal(expected ?? Simd.Best, (SimdLevel)level);
        }
        finally
        {
            Environment.SetEnvironmentVariable(Simd.EnvironmentVariable, previous);
            context.Unload();
        }
    }

    [Fact]
    public void EveryAvailableLevelCanBeSetAndRestored()
    {
        SimdLevel before = Simd.Level;
        foreach (SimdLevel level in Cases.Available())
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
