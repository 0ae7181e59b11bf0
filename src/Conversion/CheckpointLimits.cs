using System;

namespace MobileOne.Conversion;

/// <summary>
/// The limits the checkpoint readers enforce (docs/security.md lists them with the reasons). A checkpoint beyond any of
/// them is refused with <see cref="ConversionException"/> before the memory is allocated.
/// </summary>
public static class CheckpointLimits
{
    /// <summary>The largest checkpoint file read (the file is read into one array).</summary>
    public const long MaxFileBytes = 0x7FFF_FFC7; // Array.MaxLength

    /// <summary>The largest zip entry (the pickle or one storage) of a torch.save file, uncompressed.</summary>
    public const long MaxEntryBytes = 1L << 30;

    /// <summary>
    /// How many times larger than its compressed size a deflated zip entry may inflate (torch.save stores entries
    /// uncompressed, so a real checkpoint has ratio 1); entries of up to <see cref="CompressionSlackBytes"/> are exempt.
    /// The same ratio bounds the total bytes inflated from one file, so entries that share compressed data (an
    /// overlapping zip bomb) are refused too.
    /// </summary>
    public const int MaxCompressionRatio = 100;

    /// <summary>Bytes an entry (and all entries together) may inflate to regardless of <see cref="MaxCompressionRatio"/>.</summary>
    public const long CompressionSlackBytes = 64 * 1024;

    /// <summary>
    /// The tensors of a torch.save file may together hold at most this many times the elements of the storages they view
    /// (plus <see cref="ViewSlackElements"/>): tied weights view one storage twice, but thousands of views of one storage,
    /// or a stride-0 view that broadcasts a few elements to billions, would multiply the memory a small file costs.
    /// </summary>
    public const int MaxViewsPerStorageElement = 2;

    /// <summary>Elements the tensors may hold beyond <see cref="MaxViewsPerStorageElement"/> times their storages'.</summary>
    public const long ViewSlackElements = 64 * 1024;

    /// <summary>The most dimensions of one tensor (as for safetensors).</summary>
    public const int MaxRank = 8;

    /// <summary>How deep the pickle's object tree may nest.</summary>
    public const int MaxNesting = 100;

    internal static string Bytes(long n) => n >= 1L << 20 ? $"{n / (double)(1L << 20):0.#} MiB ({n} bytes)" : $"{n} bytes";

    internal static void CheckFileLength(long length, string source)
    {
        if (length > MaxFileBytes)
        {
            throw new ConversionException(ConversionErrorKind.InvalidFormat, $"{source} is {Bytes(length)}, more than the {Bytes(MaxFileBytes)} a checkpoint may have.");
        }
    }
}
