using System;
using System.Globalization;
using System.IO;
using System.Runtime.Intrinsics.X86;

namespace MobileOne.Runtime;

/// <summary>
/// The data cache sizes of the CPU the process runs on, read once: CPUID leaf 4 on Intel, leaf <c>0x8000001D</c> on AMD
/// (<see cref="X86Base.CpuId"/>), else <c>/sys/devices/system/cpu/cpu0/cache/index*/</c> on Linux, else defaults
/// (32 KB L1d, 1 MB L2, which are the sizes the kernels' blocking was first tuned for). The kernels size their cache
/// blocking from it (<see cref="PointwiseConv"/>'s pixel chunks).
/// </summary>
public sealed class CpuCaches
{
    /// <summary>The L1 data cache assumed when none is detected.</summary>
    public const int DefaultL1DataBytes = 32 * 1024;

    /// <summary>The L2 cache assumed when none is detected.</summary>
    public const int DefaultL2Bytes = 1024 * 1024;

    private CpuCaches(string vendor, int l1, int l2, long l3, string source)
    {
        Vendor = vendor;
        L1DataBytes = l1;
        L2Bytes = l2;
        L3Bytes = l3;
        Source = source;
    }

    /// <summary>Gets the caches of this machine (detected on first use).</summary>
    public static CpuCaches Current { get; } = Detect();

    /// <summary>Gets the CPUID vendor string (<c>GenuineIntel</c>, <c>AuthenticAMD</c>, …), or an empty string.</summary>
    public string Vendor { get; }

    /// <summary>Gets the L1 data cache of one core, in bytes.</summary>
    public int L1DataBytes { get; }

    /// <summary>Gets the L2 cache of one core, in bytes.</summary>
    public int L2Bytes { get; }

    /// <summary>Gets the L3 cache, in bytes (0 when not known).</summary>
    public long L3Bytes { get; }

    /// <summary>Gets where the sizes came from: <c>cpuid 4</c>, <c>cpuid 0x8000001D</c>, <c>sysfs</c> or <c>default</c>.</summary>
    public string Source { get; }

    /// <inheritdoc/>
    public override string ToString() => string.Create(
        CultureInfo.InvariantCulture,
        $"L1d {L1DataBytes / 1024} KB, L2 {L2Bytes / 1024} KB, L3 {(L3Bytes > 0 ? $"{L3Bytes / (1024 * 1024)} MB" : "unknown")} ({Source}{(Vendor.Length > 0 ? ", " + Vendor : "")})");

    /// <summary>
    /// The size in bytes of the cache that one CPUID leaf 4 / <c>0x8000001D</c> sub-leaf describes, with its level and
    /// type (1 data, 2 instruction, 3 unified, 0 no more caches).
    /// </summary>
    internal static long DecodeCacheLeaf(int eax, int ebx, int ecx, out int level, out int type)
    {
        type = eax & 0x1F;
        level = (eax >> 5) & 0x7;
        long ways = ((uint)ebx >> 22) + 1;
        long partitions = ((ebx >> 12) & 0x3FF) + 1;
        long lineSize = (ebx & 0xFFF) + 1;
        long sets = (long)(uint)ecx + 1;
        return ways * partitions * lineSize * sets;
    }

    /// <summary>Parses a sysfs cache size (<c>48K</c>, <c>2048K</c>, <c>260M</c>, <c>1G</c>, or bytes); 0 if it is not one.</summary>
    internal static long ParseSysfsSize(string? text)
    {
        text = text?.Trim();
        if (string.IsNullOrEmpty(text))
        {
            return 0;
        }

        long scale = char.ToUpperInvariant(text[^1]) switch
        {
            'K' => 1024,
            'M' => 1024 * 1024,
            'G' => 1024 * 1024 * 1024,
            _ => 1,
        };
        string digits = scale == 1 ? text : text[..^1];
        return long.TryParse(digits, NumberStyles.None, CultureInfo.InvariantCulture, out long n) ? n * scale : 0;
    }

    /// <summary>Creates the description from sizes found (0 = not found), with the defaults for what is missing.</summary>
    internal static CpuCaches From(string vendor, long l1, long l2, long l3, string source)
    {
        bool found = l1 > 0 || l2 > 0;
        return new CpuCaches(
            vendor,
            l1 > 0 ? (int)Math.Min(l1, int.MaxValue) : DefaultL1DataBytes,
            l2 > 0 ? (int)Math.Min(l2, int.MaxValue) : DefaultL2Bytes,
            Math.Max(l3, 0),
            found ? source : "default");
    }

    private static CpuCaches Detect()
    {
        string vendor = string.Empty;
        try
        {
            if (X86Base.IsSupported)
            {
                (int max, int b, int c, int d) = X86Base.CpuId(0, 0);
                vendor = VendorString(b, d, c);
                bool amd = vendor is "AuthenticAMD" or "HygonGenuine";
                int leaf = amd ? unchecked((int)0x8000001D) : 4;
                bool available = amd
                    ? (uint)X86Base.CpuId(unchecked((int)0x80000000), 0).Eax >= 0x8000001D
                    : max >= 4;
                if (available)
                {
                    var fromCpuid = FromCpuid(vendor, leaf, amd ? "cpuid 0x8000001D" : "cpuid 4");
                    if (fromCpuid != null)
                    {
                        return fromCpuid;
                    }
                }
            }
        }
        catch (PlatformNotSupportedException)
        {
        }

        return FromSysfs(vendor) ?? From(vendor, 0, 0, 0, "default");
    }

    private static CpuCaches? FromCpuid(string vendor, int leaf, string source)
    {
        long l1 = 0, l2 = 0, l3 = 0;
        for (int sub = 0; sub < 16; sub++)
        {
            (int eax, int ebx, int ecx, _) = X86Base.CpuId(leaf, sub);
            long size = DecodeCacheLeaf(eax, ebx, ecx, out int level, out int type);
            if (type == 0)
            {
                break;
            }

            if (type == 2)
            {
                continue; // instruction cache
            }

            switch (level)
            {
                case 1: l1 = size; break;
                case 2: l2 = size; break;
                case 3: l3 = size; break;
            }
        }

        return l1 > 0 && l2 > 0 ? From(vendor, l1, l2, l3, source) : null;
    }

    private static CpuCaches? FromSysfs(string vendor)
    {
        const string root = "/sys/devices/system/cpu/cpu0/cache";
        try
        {
            if (!OperatingSystem.IsLinux() || !Directory.Exists(root))
            {
                return null;
            }

            long l1 = 0, l2 = 0, l3 = 0;
            foreach (string dir in Directory.GetDirectories(root, "index*"))
            {
                string type = ReadTrimmed(Path.Combine(dir, "type"));
                if (type == "Instruction")
                {
                    continue;
                }

                long size = ParseSysfsSize(ReadTrimmed(Path.Combine(dir, "size")));
                switch (ReadTrimmed(Path.Combine(dir, "level")))
                {
                    case "1": l1 = size; break;
                    case "2": l2 = size; break;
                    case "3": l3 = size; break;
                }
            }

            return l1 > 0 || l2 > 0 ? From(vendor, l1, l2, l3, "sysfs") : null;
        }
        catch (IOException)
        {
            return null;
        }
        catch (UnauthorizedAccessException)
        {
            return null;
        }
    }

    private static string ReadTrimmed(string path) => File.Exists(path) ? File.ReadAllText(path).Trim() : string.Empty;

    private static string VendorString(int ebx, int edx, int ecx)
    {
        Span<char> chars = stackalloc char[12];
        int i = 0;
        foreach (int reg in (ReadOnlySpan<int>)[ebx, edx, ecx])
        {
            for (int s = 0; s < 32; s += 8)
            {
                chars[i++] = (char)((reg >> s) & 0xFF);
            }
        }

        return new string(chars).TrimEnd('\0');
    }
}
