using System;
using System.IO;
using System.Linq;
using MobileOne.Runtime;

namespace MobileOne.Benchmarks;

/// <summary>How the benchmarks name the CPU their figures come from (linked into each benchmark program).</summary>
internal static class CpuInfo
{
    /// <summary>The model name (/proc/cpuinfo), else the architecture.</summary>
    public static string ModelName()
    {
        try
        {
            string? line = File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal));
            if (line != null)
            {
                return line[(line.IndexOf(':') + 1)..].Trim();
            }
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }

        return System.Runtime.InteropServices.RuntimeInformation.ProcessArchitecture.ToString();
    }

    /// <summary>Vendor, family, model and stepping from CPUID leaf 1 (the model name of a virtual machine is often generic).</summary>
    public static string Signature()
    {
        if (!System.Runtime.Intrinsics.X86.X86Base.IsSupported)
        {
            return System.Runtime.InteropServices.RuntimeInformation.ProcessArchitecture.ToString();
        }

        int eax = System.Runtime.Intrinsics.X86.X86Base.CpuId(1, 0).Eax;
        int family = (eax >> 8) & 0xF, model = (eax >> 4) & 0xF;
        if (family == 0xF)
        {
            family += (eax >> 20) & 0xFF;
        }

        if (family is 0x6 or >= 0xF)
        {
            model |= ((eax >> 16) & 0xF) << 4;
        }

        return $"{CpuCaches.Current.Vendor} family {family} model {model} stepping {eax & 0xF}";
    }
}
