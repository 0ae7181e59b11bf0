using System;
using System.IO;
using System.Linq;
using MobileOne.Runtime;
using Xunit;
using Xunit.Abstractions;

namespace MobileOne.Runtime.Tests;

public sealed class CpuCachesTests
{
    private readonly ITestOutputHelper _output;

    public CpuCachesTests(ITestOutputHelper output) => _output = output;

    [Fact]
    public void DetectsPlausibleSizes()
    {
        var c = CpuCaches.Current;
        _output.WriteLine(c.ToString());
        Assert.InRange(c.L1DataBytes, 8 * 1024, 1024 * 1024);
        Assert.InRange(c.L2Bytes, 64 * 1024, 64 * 1024 * 1024);
        Assert.True(c.L2Bytes > c.L1DataBytes);
        Assert.True(c.L3Bytes == 0 || c.L3Bytes >= c.L2Bytes);
        Assert.Contains(c.Source, new[] { "cpuid 4", "cpuid 0x8000001D", "sysfs", "default" });
    }

    [Fact]
    public void AgreesWithSysfsOnLinux()
    {
        const string l2Dir = "/sys/devices/system/cpu/cpu0/cache";
        if (!OperatingSystem.IsLinux() || !Directory.Exists(l2Dir))
        {
            return;
        }

        var levels = Directory.GetDirectories(l2Dir, "index*")
            .Where(d => File.ReadAllText(Path.Combine(d, "type")).Trim() != "Instruction")
            .ToDictionary(d => File.ReadAllText(Path.Combine(d, "level")).Trim(), d => CpuCaches.ParseSysfsSize(File.ReadAllText(Path.Combine(d, "size"))));
        if (levels.TryGetValue("1", out long l1))
        {
            Assert.Equal(l1, CpuCaches.Current.L1DataBytes);
        }

        if (levels.TryGetValue("2", out long l2))
        {
            Assert.Equal(l2, CpuCaches.Current.L2Bytes);
        }
    }

    [Fact]
    public void DecodesCpuidCacheLeaf()
    {
        // 48 KB, 12-way L1 data cache: type 1, level 1; 11 ways-1, 0 partitions-1, 63 line-1; 63 sets-1.
        long l1 = CpuCaches.DecodeCacheLeaf(1 | (1 << 5), (11 << 22) | 63, 63, out int level, out int type);
        Assert.Equal((48 * 1024, 1, 1), (l1, level, type));

        // 2 MB, 16-way unified L2: 16 ways x 64 B x 2048 sets.
        long l2 = CpuCaches.DecodeCacheLeaf(3 | (2 << 5), (15 << 22) | 63, 2047, out level, out type);
        Assert.Equal((2L * 1024 * 1024, 2, 3), (l2, level, type));

        CpuCaches.DecodeCacheLeaf(0, 0, 0, out _, out type);
        Assert.Equal(0, type);
    }

    [Theory]
    [InlineData("48K", 48 * 1024)]
    [InlineData("2048K\n", 2048 * 1024)]
    [InlineData("260M", 260L * 1024 * 1024)]
    [InlineData("1G", 1024L * 1024 * 1024)]
    [InlineData("65536", 65536)]
    [InlineData("", 0)]
    [InlineData(null, 0)]
    [InlineData("big", 0)]
    public void ParsesSysfsSizes(string? text, long expected) => Assert.Equal(expected, CpuCaches.ParseSysfsSize(text));

    [Fact]
    public void FillsMissingSizesWithDefaults()
    {
        var none = CpuCaches.From("", 0, 0, 0, "cpuid 4");
        Assert.Equal((CpuCaches.DefaultL1DataBytes, CpuCaches.DefaultL2Bytes, 0L, "default"), (none.L1DataBytes, none.L2Bytes, none.L3Bytes, none.Source));
        var some = CpuCaches.From("GenuineIntel", 48 * 1024, 2 * 1024 * 1024, 260L << 20, "cpuid 4");
        Assert.Equal((48 * 1024, 2 * 1024 * 1024, "cpuid 4"), (some.L1DataBytes, some.L2Bytes, some.Source));
    }
}
