using System;
using System.Buffers;
using System.Buffers.Binary;
using System.Globalization;
using System.IO;
using System.IO.Compression;
using MobileOne.Server.Http;

namespace MobileOne.Server.Imaging;

/// <summary>
/// Refuses a PNG whose compressed image data inflates to more than its IHDR dimensions need. The decoder
/// (StbImageSharp) grows its inflate buffer as long as the data goes on, so a 1 MB PNG that declares 16x16 pixels
/// but holds a gigabyte of deflated zeros would otherwise cost a gigabyte of memory and seconds of CPU: the pixel
/// limit alone does not stop it. This inflates the IDAT stream once into a small scratch buffer, counting, and stops
/// as soon as the count passes what the header allows.
/// </summary>
public static class PngInflateGuard
{
    private const int SignatureLength = 8;

    /// <summary>Throws <see cref="RequestRejectedException"/> (400) when the PNG is malformed, truncated or inflates too far.</summary>
    /// <param name="png">The whole PNG file.</param>
    public static void Check(ReadOnlySpan<byte> png)
    {
        PngLayout layout = ReadLayout(png);
        long allowed = layout.RawDataLength();
        long inflated = InflatedLength(layout.ImageData, allowed);
        if (inflated > allowed)
        {
            throw Rejected(string.Create(CultureInfo.InvariantCulture,
                $"The PNG's image data inflates to more than the {allowed:N0} bytes its {layout.Width}x{layout.Height} header needs (a decompression bomb?)."));
        }
    }

    private static PngLayout ReadLayout(ReadOnlySpan<byte> png)
    {
        var idat = new MemoryStream();
        PngHeader? header = null;
        int pos = SignatureLength;
        while (true)
        {
            if (png.Length - pos < 12)
            {
                throw Rejected("The PNG is truncated: it ends before its IEND chunk.");
            }

            uint length = BinaryPrimitives.ReadUInt32BigEndian(png[pos..]);
            ReadOnlySpan<byte> type = png.Slice(pos + 4, 4);
            if (header == null && !type.SequenceEqual("IHDR"u8))
            {
                throw Rejected("The PNG does not start with an IHDR chunk.");
            }

            if (length > int.MaxValue || length > png.Length - pos - 12)
            {
                throw Rejected("The PNG is truncated: a chunk runs past the end of the file.");
            }

            ReadOnlySpan<byte> data = png.Slice(pos + 8, (int)length);

            if (type.SequenceEqual("IHDR"u8))
            {
                header = PngHeader.Parse(data) ?? throw Rejected("The PNG's IHDR chunk is malformed.");
            }
            else if (type.SequenceEqual("IDAT"u8))
            {
                idat.Write(data);
            }
            else if (type.SequenceEqual("IEND"u8))
            {
                return new PngLayout(header!.Value, idat);
            }

            pos += 12 + (int)length;
        }
    }

    private static long InflatedLength(MemoryStream imageData, long allowed)
    {
        imageData.Position = 0;
        byte[] scratch = ArrayPool<byte>.Shared.Rent(64 * 1024);
        try
        {
            using var inflater = new ZLibStream(imageData, CompressionMode.Decompress);
            long total = 0;
            int read;
            while (total <= allowed && (read = inflater.Read(scratch, 0, scratch.Length)) > 0)
            {
                total += read;
            }

            return total;
        }
        catch (InvalidDataException)
        {
            throw Rejected($"The PNG's image data is not a valid zlib stream.");
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(scratch);
        }
    }

    private static RequestRejectedException Rejected(string detail) => new(400, "Invalid image", detail);

    private readonly record struct PngHeader(int Width, int Height, int BitDepth, int Channels, bool Interlaced)
    {
        public static PngHeader? Parse(ReadOnlySpan<byte> data)
        {
            if (data.Length != 13)
            {
                return null;
            }

            int width = BinaryPrimitives.ReadInt32BigEndian(data), height = BinaryPrimitives.ReadInt32BigEndian(data[4..]);
            int bitDepth = data[8];
            int channels = data[9] switch { 0 => 1, 2 => 3, 3 => 1, 4 => 2, 6 => 4, _ => 0 };
            bool validDepth = bitDepth is 1 or 2 or 4 or 8 or 16;
            return width > 0 && height > 0 && channels > 0 && validDepth && data[12] <= 1
                ? new PngHeader(width, height, bitDepth, channels, data[12] == 1)
                : null;
        }
    }

    private sealed record PngLayout(PngHeader Header, MemoryStream ImageData)
    {
        // Adam7 passes: x start, y start, x step, y step.
        private static readonly int[][] Passes =
        [
            [0, 0, 8, 8], [4, 0, 8, 8], [0, 4, 4, 8], [2, 0, 4, 4], [0, 2, 2, 4], [1, 0, 2, 2], [0, 1, 1, 2],
        ];

        public int Width => Header.Width;

        public int Height => Header.Height;

        /// <summary>The exact length of the filtered scanlines the header describes (one filter byte a row).</summary>
        public long RawDataLength()
        {
            if (!Header.Interlaced)
            {
                return PassLength(Header.Width, Header.Height);
            }

            long total = 0;
            foreach (int[] p in Passes)
            {
                long w = Math.Max(0L, ((long)Header.Width - p[0] + p[2] - 1) / p[2]);
                long h = Math.Max(0L, ((long)Header.Height - p[1] + p[3] - 1) / p[3]);
                total += w > 0 && h > 0 ? PassLength(w, h) : 0;
            }

            return total;
        }

        private long PassLength(long width, long height) =>
            height * (1 + (((width * Header.BitDepth * Header.Channels) + 7) / 8));
    }
}
