using System;
using System.Runtime.InteropServices;

namespace MobileOne.Runtime;

/// <summary>
/// Memory for weights packed at build time, and the page work around it. Touching 19 MB page by page costs about as much
/// as copying it (measured on a KVM Xeon: a 19 MB copy from the module image into a fresh buffer took 11–17 ms, one
/// 4 KB fault at a time on each side). On Linux both sides are therefore faulted in with one call each
/// (<c>MADV_POPULATE_WRITE</c>, <c>MADV_POPULATE_READ</c>, Linux 5.14+): 2.7 ms copy + 5.2 + 1.1 ms of faults for S1.
/// Transparent huge pages (<c>MADV_HUGEPAGE</c>) were tried and not kept: with the kernel's default
/// <c>defrag=madvise</c> the first allocation stalled in compaction for up to 86 ms. Elsewhere, or where a call is
/// refused, nothing is advised and the copy faults the pages in as before: the advice changes the time, never the bytes.
/// </summary>
internal static unsafe partial class PageMemory
{
    private const int MadvPopulateRead = 22;
    private const int MadvPopulateWrite = 23;
    private const nuint Page = 4096;

    /// <summary>Allocates <paramref name="length"/> floats, page aligned, populated; freed when the returned owner is collected.</summary>
    /// <param name="length">Floats.</param>
    /// <returns>The memory and its owner (keep the owner alive while the memory is used).</returns>
    public static (IntPtr Pointer, object Owner) AllocatePopulated(int length)
    {
        nuint bytes = (nuint)Math.Max(length, 1) * sizeof(float);
        nuint rounded = (bytes + Page - 1) & ~(Page - 1);
        void* p = NativeMemory.AlignedAlloc(rounded, Page);
        var owner = new NativeBlock(p);
        if (OperatingSystem.IsLinux())
        {
            Advise(p, rounded, MadvPopulateWrite);
        }

        return ((IntPtr)p, owner);
    }

    /// <summary>Faults in the pages under <paramref name="bytes"/> bytes at <paramref name="start"/> with one call (Linux), before they are read.</summary>
    public static void PopulateRead(void* start, nuint bytes)
    {
        if (OperatingSystem.IsLinux())
        {
            nuint first = (nuint)start & ~(Page - 1);
            nuint end = ((nuint)start + bytes + Page - 1) & ~(Page - 1);
            Advise((void*)first, end - first, MadvPopulateRead);
        }
    }

    private static void Advise(void* start, nuint length, int advice)
    {
        try
        {
            _ = Madvise(start, length, advice); // advice only: an older kernel says EINVAL, which changes nothing
        }
        catch (DllNotFoundException)
        {
        }
        catch (EntryPointNotFoundException)
        {
        }
    }

    [LibraryImport("libc", EntryPoint = "madvise")]
    private static partial int Madvise(void* address, nuint length, int advice);

    /// <summary>Frees native memory when collected (the weights of a network live as long as the network).</summary>
    private sealed class NativeBlock
    {
        private readonly IntPtr _pointer;

        public NativeBlock(void* pointer) => _pointer = (IntPtr)pointer;

        ~NativeBlock() => NativeMemory.AlignedFree((void*)_pointer);
    }
}
