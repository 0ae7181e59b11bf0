using System;
using System.Collections.Generic;
using System.IO;
using System.IO.Compression;
using System.Linq;

namespace MobileOne.Conversion;

/// <summary>
/// The zip side of a torch.save file: opens the archive, checks every entry name, finds <c>ARCHIVE/data.pkl</c>, and
/// reads entries within the limits of <see cref="CheckpointLimits"/> and the file's <see cref="ReadBudget"/>. Nothing is
/// ever extracted to disk.
/// </summary>
internal static class TorchZipReader
{
    /// <summary>Opens <paramref name="file"/> as a zip and returns it with its <c>ARCHIVE/data.pkl</c> entry.</summary>
    /// <exception cref="ConversionException">A missing or damaged zip directory, an unsafe or duplicate entry name, or no data.pkl.</exception>
    public static (ZipArchive Zip, ZipArchiveEntry Pickle) Open(byte[] file, string source)
    {
        ZipArchive zip;
        ZipArchiveEntry pkl;
        try
        {
            // The central directory is read lazily (by Entries); both steps throw InvalidDataException on a damaged zip.
            zip = new ZipArchive(new MemoryStream(file, writable: false), ZipArchiveMode.Read);
            pkl = FindPickle(zip, source);
        }
        catch (Exception e) when (e is InvalidDataException or IOException or NotSupportedException or ArgumentException)
        {
            throw new ConversionException(ConversionErrorKind.Truncated, $"{source} starts like a PyTorch zip checkpoint but its zip directory is missing or damaged (truncated file?): {e.Message}", e);
        }

        return (zip, pkl);
    }

    /// <summary>
    /// Checks every entry name (no absolute, drive-qualified, backslashed or <c>..</c> paths, no control characters, no
    /// duplicates: the reader never extracts to disk, but a name like that is never written by torch.save and is refused
    /// rather than interpreted) and returns the <c>ARCHIVE/data.pkl</c> entry.
    /// </summary>
    private static ZipArchiveEntry FindPickle(ZipArchive zip, string source)
    {
        var names = new HashSet<string>(StringComparer.Ordinal);
        ZipArchiveEntry? pkl = null;
        foreach (ZipArchiveEntry e in zip.Entries)
        {
            string name = e.FullName;
            string? problem = UnsafeEntryName(name);
            if (problem != null)
            {
                throw new ConversionException(ConversionErrorKind.InvalidFormat,
                    $"{source} is refused: its zip entry '{TorchCheckpoint.Printable(name)}' has an unsafe path ({problem}); torch.save never writes such a name. Nothing was extracted or written.");
            }

            if (!names.Add(name))
            {
                throw new ConversionException(ConversionErrorKind.InvalidFormat,
                    $"{source} is refused: it has two zip entries named '{TorchCheckpoint.Printable(name)}', so which one is meant is ambiguous.");
            }

            if (pkl == null && (name == "data.pkl" || (name.EndsWith("/data.pkl", StringComparison.Ordinal) && name.Count(c => c == '/') == 1)))
            {
                pkl = e;
            }
        }

        return pkl ?? throw new ConversionException(ConversionErrorKind.InvalidFormat,
            $"{source} is a zip file but not a PyTorch checkpoint: it has no 'ARCHIVE/data.pkl' entry (entries: {string.Join(", ", zip.Entries.Take(5).Select(e => "'" + TorchCheckpoint.Printable(e.FullName) + "'"))}).");
    }

    /// <summary>Why an entry name is not a plain relative path, or null if it is.</summary>
    internal static string? UnsafeEntryName(string name)
    {
        if (name.Length == 0)
        {
            return "empty name";
        }

        if (name.Any(char.IsControl))
        {
            return "control character in the name";
        }

        if (name.Contains('\\', StringComparison.Ordinal))
        {
            return "backslash in the path";
        }

        if (name[0] == '/')
        {
            return "absolute path";
        }

        if (name.Length >= 2 && name[1] == ':' && char.IsAsciiLetter(name[0]))
        {
            return "drive-qualified path";
        }

        if (name.Split('/').Any(segment => segment is "." or ".."))
        {
            return "'..' or '.' path segment";
        }

        return null;
    }

    /// <summary>
    /// Reads one entry with a bounded stream: its declared size is checked against <see cref="CheckpointLimits"/> first
    /// (size, compression ratio, total inflated from this file), then at most that many bytes are inflated; an entry that
    /// holds more than it declares is refused, not read on.
    /// </summary>
    internal static byte[] ReadEntry(ZipArchiveEntry entry, string source, ReadBudget budget)
    {
        string name = TorchCheckpoint.Printable(entry.FullName);
        long declared, compressed;
        try
        {
            declared = entry.Length;
            compressed = entry.CompressedLength;
        }
        catch (Exception e) when (e is InvalidDataException or IOException or InvalidOperationException)
        {
            throw new ConversionException(ConversionErrorKind.InvalidFormat, $"Entry '{name}' of {source} has a damaged zip header: {e.Message}", e);
        }

        if (declared < 0 || compressed < 0 || compressed > budget.FileLength)
        {
            throw new ConversionException(ConversionErrorKind.Truncated, $"Entry '{name}' of {source} declares {compressed} compressed bytes in a {budget.FileLength}-byte file (truncated or damaged file?).");
        }

        if (declared > CheckpointLimits.MaxEntryBytes)
        {
            throw new ConversionException(ConversionErrorKind.InvalidFormat, $"Entry '{name}' of {source} declares {CheckpointLimits.Bytes(declared)}, more than the {CheckpointLimits.Bytes(CheckpointLimits.MaxEntryBytes)} an entry may have.");
        }

        if (declared > CheckpointLimits.CompressionSlackBytes && declared > (long)CheckpointLimits.MaxCompressionRatio * compressed)
        {
            throw new ConversionException(ConversionErrorKind.InvalidFormat,
                $"{source} is refused as a decompression bomb: entry '{name}' would inflate {compressed} bytes to {CheckpointLimits.Bytes(declared)}, more than {CheckpointLimits.MaxCompressionRatio} times (torch.save does not compress). Nothing was inflated.");
        }

        budget.Take(declared, name);
        try
        {
            using Stream s = entry.Open();
            byte[] bytes = new byte[declared];
            int total = 0;
            while (total < bytes.Length)
            {
                int n = s.Read(bytes, total, bytes.Length - total);
                if (n == 0)
                {
                    throw new ConversionException(ConversionErrorKind.Truncated, $"Entry '{name}' of {source} has {total} of its {declared} bytes (truncated file?).");
                }

                total += n;
            }

            Span<byte> one = stackalloc byte[1];
            if (s.Read(one) != 0)
            {
                throw new ConversionException(ConversionErrorKind.InvalidFormat,
                    $"{source} is refused: entry '{name}' holds more than the {declared} bytes its zip directory declares (a decompression bomb or a damaged file). It was not read on.");
            }

            // The inflater stops at the declared size by itself, so an entry that holds more (or other) bytes than its
            // directory declares shows as a CRC mismatch.
            uint crc = Crc32.Compute(bytes);
            if (crc != entry.Crc32)
            {
                throw new ConversionException(ConversionErrorKind.InvalidFormat,
                    $"Entry '{name}' of {source} fails its CRC-32 check (directory {entry.Crc32:x8}, content {crc:x8}): the file is damaged, or the entry holds other bytes than its directory declares.");
            }

            return bytes;
        }
        catch (Exception e) when (e is InvalidDataException or IOException or NotSupportedException)
        {
            throw new ConversionException(ConversionErrorKind.Truncated, $"Entry '{name}' of {source} cannot be read (truncated or damaged file?): {e.Message}", e);
        }
    }
}
