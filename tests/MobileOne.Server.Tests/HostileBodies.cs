using System;
using System.Buffers.Binary;
using System.IO;
using System.IO.Compression;
using System.Text;

namespace MobileOne.Server.Tests;

/// <summary>Files made to hurt a server: random bytes, truncations, decompression bombs, headers that lie about the size.</summary>
public static class HostileBodies
{
    private static readonly Lazy<byte[]> Bomb = new(() => GreyPng(20_000, 20_000, 20_000L * (20_000 + 1)));

    /// <summary>Gets a real 20000x20000 greyscale PNG (400 MB of pixels) that is a few hundred KB: all zeros, deflated.</summary>
    public static byte[] PngBomb20000 => Bomb.Value;

    /// <summary>Seeded random bytes.</summary>
    /// <param name="count">How many.</param>
    /// <param name="seed">The seed.</param>
    /// <returns>The bytes.</returns>
    public static byte[] Random(int count, int seed)
    {
        byte[] bytes = new byte[count];
        new Random(seed).NextBytes(bytes);
        return bytes;
    }

    /// <summary>The first <paramref name="fraction"/> of a file.</summary>
    /// <param name="file">The file.</param>
    /// <param name="fraction">0..1.</param>
    /// <returns>The truncated copy.</returns>
    public static byte[] Truncated(byte[] file, double fraction) => file.AsSpan(0, (int)(file.Length * fraction)).ToArray();

    /// <summary>A PNG signature followed by random bytes.</summary>
    /// <returns>The bytes.</returns>
    public static byte[] PngSignatureThenGarbage()
    {
        byte[] bytes = Random(2048, 7);
        new byte[] { 0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A }.CopyTo(bytes, 0);
        return bytes;
    }

    /// <summary>A GIF (a format the server does not take).</summary>
    /// <returns>The bytes.</returns>
    public static byte[] Gif() => Convert.FromBase64String("R0lGODlhAQABAIAAAP///wAAACH5BAEAAAAALAAAAAABAAEAAAICRAEAOw==");

    /// <summary>
    /// A valid greyscale 8-bit PNG of <paramref name="width"/> x <paramref name="height"/> whose image data is
    /// <paramref name="rawBytes"/> zero bytes, deflated (the header needs <c>height * (width + 1)</c>; more is a bomb).
    /// </summary>
    /// <param name="width">IHDR width.</param>
    /// <param name="height">IHDR height.</param>
    /// <param name="rawBytes">Inflated size of the IDAT stream.</param>
    /// <returns>The PNG.</returns>
    public static byte[] GreyPng(int width, int height, long rawBytes)
    {
        byte[] header = new byte[13];
        BinaryPrimitives.WriteInt32BigEndian(header, width);
        BinaryPrimitives.WriteInt32BigEndian(header.AsSpan(4), height);
        header[8] = 8; // bit depth; colour type 0 (grey), deflate, adaptive filtering, not interlaced
        var data = new MemoryStream();
        using (var zlib = new ZLibStream(data, CompressionLevel.SmallestSize, leaveOpen: true))
        {
            byte[] zeros = new byte[1 << 20];
            for (long written = 0; written < rawBytes; written += zeros.Length)
            {
                zlib.Write(zeros, 0, (int)Math.Min(zeros.Length, rawBytes - written));
            }
        }

        var png = new MemoryStream();
        png.Write([0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A]);
        WriteChunk(png, "IHDR", header);
        WriteChunk(png, "IDAT", data.ToArray());
        WriteChunk(png, "IEND", []);
        return png.ToArray();
    }

    /// <summary>A copy of a JPEG whose first SOF marker says <paramref name="width"/> x <paramref name="height"/>.</summary>
    /// <param name="jpeg">A real JPEG.</param>
    /// <param name="width">The new width.</param>
    /// <param name="height">The new height.</param>
    /// <returns>The patched JPEG.</returns>
    public static byte[] JpegClaiming(byte[] jpeg, int width, int height)
    {
        byte[] copy = (byte[])jpeg.Clone();
        for (int i = 2; i + 9 < copy.Length; i++)
        {
            if (copy[i] == 0xFF && copy[i + 1] is 0xC0 or 0xC1 or 0xC2)
            {
                BinaryPrimitives.WriteUInt16BigEndian(copy.AsSpan(i + 5), (ushort)height);
                BinaryPrimitives.WriteUInt16BigEndian(copy.AsSpan(i + 7), (ushort)width);
                return copy;
            }
        }

        throw new InvalidDataException("No SOF marker.");
    }

    /// <summary>A copy of a BMP whose header says <paramref name="width"/> x <paramref name="height"/> (the pixels stay few).</summary>
    /// <param name="bmp">A real BMP.</param>
    /// <param name="width">The new width.</param>
    /// <param name="height">The new height.</param>
    /// <returns>The patched BMP.</returns>
    public static byte[] BmpClaiming(byte[] bmp, int width, int height)
    {
        byte[] copy = (byte[])bmp.Clone();
        BinaryPrimitives.WriteInt32LittleEndian(copy.AsSpan(18), width);
        BinaryPrimitives.WriteInt32LittleEndian(copy.AsSpan(22), height);
        return copy;
    }

    private static void WriteChunk(Stream png, string type, byte[] data)
    {
        byte[] typeBytes = Encoding.ASCII.GetBytes(type);
        Span<byte> word = stackalloc byte[4];
        BinaryPrimitives.WriteInt32BigEndian(word, data.Length);
        png.Write(word);
        png.Write(typeBytes);
        png.Write(data);
        BinaryPrimitives.WriteUInt32BigEndian(word, Crc32(typeBytes, data));
        png.Write(word);
    }

    private static uint Crc32(byte[] type, byte[] data)
    {
        uint crc = 0xFFFFFFFF;
        foreach (byte[] part in new[] { type, data })
        {
            foreach (byte b in part)
            {
                crc ^= b;
                for (int k = 0; k < 8; k++)
                {
                    crc = (crc & 1) != 0 ? 0xEDB88320 ^ (crc >> 1) : crc >> 1;
                }
            }
        }

        return ~crc;
    }
}
