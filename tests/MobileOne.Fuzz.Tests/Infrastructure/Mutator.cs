using System;
using System.Buffers.Binary;
using System.Collections.Generic;
using System.Text;

namespace MobileOne.Fuzz.Tests.Infrastructure;

/// <summary>
/// Mutations of a model file in the style of libFuzzer's/AFL's havoc stage, plus safetensors-aware ones: rewrite the
/// 8-byte header length, replace a number in the header JSON with a boundary value (2^63, 2^31, 10^12, -1, ...),
/// swap or drop a structural character, splice in a snippet of another seed, truncate anywhere.
/// </summary>
public sealed class Mutator
{
    /// <summary>Numbers that sit on a limit of some reader.</summary>
    public static readonly string[] InterestingNumbers =
    {
        "0", "1", "-1", "2", "3", "7", "8", "15", "16", "17", "255", "256", "65535", "65536", "65537",
        "2147483647", "2147483648", "-2147483648", "4294967295", "4294967296", "1000000000000",
        "9223372036854775807", "9223372036854775808", "-9223372036854775808", "18446744073709551615",
        "18446744073709551616", "1e3", "1.5", "-0", "0.0", "1e308", "1e400", "-1e400", "NaN", "Infinity",
        "104857600", "104857601", "100000", "100001", "1000000", "1000001", "8192", "8193", "32", "31",
    };

    private static readonly string[] Snippets =
    {
        "\"dtype\":\"F64\"", "\"dtype\":\"F16\"", "\"dtype\":\"BF16\"", "\"dtype\":\"I8\"", "\"shape\":[]", "\"shape\":[2147483648,2147483648]",
        "\"shape\":[2147483647,2147483647]", "\"shape\":[0]", "\"data_offsets\":[0,1000000000000]", "\"data_offsets\":[9223372036854775807,9223372036854775807]",
        "\"data_offsets\":[-8,0]", "\"data_offsets\":[0]", "\"__metadata__\":{\"mobileone.architecture\":\"{}\"}", "{\"a\":", "[[[[[[[[[[",
        "\\u0000", "\\uD800", "\\u2028", "\"", "\\", ",", ":", "{", "}", "[", "]", "null", "true", "\"stage0.reparam_conv.weight\"",
        "\"stem.reparam_conv.weight\"", "\"rbr_conv\"", "\"linear.bias\"", "\"head.fc.weight\"", "\"variant\":\"s4\"", "\"inputSize\":[8192,8192]",
        "\"stageBlocks\":[1024,1024,1024,1024]", "\"stageChannels\":[65536,65536,65536,65536]", "\"numClasses\":1000000", "\"labels\":[]",
    };

    private readonly Random _random;
    private readonly IReadOnlyList<byte[]> _seeds;
    private readonly bool _safetensors;

    /// <param name="seed">Seed of the mutation sequence.</param>
    /// <param name="seeds">Inputs to mutate.</param>
    /// <param name="safetensors">The seeds are safetensors files (8-byte length, JSON header, data), not bare text.</param>
    public Mutator(int seed, IReadOnlyList<byte[]> seeds, bool safetensors = true)
    {
        _random = new Random(seed);
        _seeds = seeds;
        _safetensors = safetensors;
    }

    public Random Random => _random;

    /// <summary>Index of the seed the last input was derived from.</summary>
    public int LastSeed { get; private set; }

    /// <summary><paramref name="count"/> inputs, made one at a time as they are consumed.</summary>
    public IEnumerable<byte[]> Take(int count)
    {
        for (int i = 0; i < count; i++)
        {
            yield return Next();
        }
    }

    /// <summary>A new input: a seed with 1 to 8 stacked mutations (one in eight inputs is a bare truncation).</summary>
    public byte[] Next()
    {
        LastSeed = _random.Next(_seeds.Count);
        byte[] seed = _seeds[LastSeed];
        if (_random.Next(8) == 0)
        {
            return seed.AsSpan(0, _random.Next(seed.Length + 1)).ToArray();
        }

        var data = new List<byte>(seed);
        int count = 1 + _random.Next(8);
        for (int i = 0; i < count; i++)
        {
            Mutate(data);
        }

        return data.ToArray();
    }

    /// <summary>A new text input from text seeds (for the JSON reader).</summary>
    public string NextText() => Encoding.UTF8.GetString(Next());

    private void Mutate(List<byte> data)
    {
        int headerEnd = HeaderEnd(data);
        switch (_random.Next(12))
        {
            case 0: // flip a bit, mostly in the header
                if (data.Count > 0)
                {
                    int at = Position(data, headerEnd);
                    data[at] ^= (byte)(1 << _random.Next(8));
                }

                break;
            case 1: // random byte
                if (data.Count > 0)
                {
                    data[Position(data, headerEnd)] = (byte)_random.Next(256);
                }

                break;
            case 2: // delete a run
                if (data.Count > 0)
                {
                    int at = Position(data, headerEnd);
                    data.RemoveRange(at, Math.Min(data.Count - at, 1 + _random.Next(16)));
                }

                break;
            case 3: // duplicate a run
                if (data.Count > 0)
                {
                    int at = Position(data, headerEnd);
                    int n = Math.Min(data.Count - at, 1 + _random.Next(64));
                    data.InsertRange(Position(data, headerEnd), data.GetRange(at, n));
                }

                break;
            case 4: // header length field
                if (_safetensors && data.Count >= 8)
                {
                    ulong n = BinaryPrimitives.ReadUInt64LittleEndian(CollectionsMarshalSpan(data, 0, 8));
                    ulong[] choices = { 0, 1, 2, 7, n - 1, n + 1, n + 8, n / 2, (ulong)data.Count, (ulong)data.Count - 8, 1UL << 63, ulong.MaxValue, 104857600, 104857601, uint.MaxValue, (ulong)long.MaxValue };
                    byte[] bytes = new byte[8];
                    BinaryPrimitives.WriteUInt64LittleEndian(bytes, choices[_random.Next(choices.Length)]);
                    for (int i = 0; i < 8; i++)
                    {
                        data[i] = bytes[i];
                    }
                }

                break;
            case 5:
            case 6: // replace a number in the header with a boundary value
                ReplaceNumber(data, headerEnd);
                break;
            case 7: // insert a snippet
                Insert(data, Encoding.UTF8.GetBytes(Snippets[_random.Next(Snippets.Length)]), headerEnd);
                break;
            case 8: // splice a run from another seed
            {
                byte[] other = _seeds[_random.Next(_seeds.Count)];
                if (other.Length > 0)
                {
                    int at = _random.Next(other.Length);
                    int n = Math.Min(other.Length - at, 1 + _random.Next(128));
                    Insert(data, other.AsSpan(at, n).ToArray(), headerEnd);
                }

                break;
            }

            case 9: // truncate
                if (data.Count > 0)
                {
                    int keep = _random.Next(data.Count);
                    data.RemoveRange(keep, data.Count - keep);
                }

                break;
            case 10: // write a NaN or an infinity into the data (F32 or 16-bit patterns)
                if (data.Count > headerEnd + 4)
                {
                    int at = headerEnd + _random.Next(data.Count - headerEnd - 4);
                    byte[][] patterns = { new byte[] { 0, 0, 0xC0, 0x7F }, new byte[] { 0, 0, 0x80, 0x7F }, new byte[] { 0, 0, 0x80, 0xFF }, new byte[] { 0x00, 0x7C }, new byte[] { 0x80, 0x7F }, new byte[] { 0xC0, 0x7F } };
                    byte[] p = patterns[_random.Next(patterns.Length)];
                    for (int i = 0; i < p.Length; i++)
                    {
                        data[at + i] = p[i];
                    }
                }

                break;
            default: // swap two structural characters of the header
            {
                int a = FindStructural(data, headerEnd), b = FindStructural(data, headerEnd);
                if (a >= 0 && b >= 0)
                {
                    (data[a], data[b]) = (data[b], data[a]);
                }

                break;
            }
        }
    }

    private int HeaderEnd(List<byte> data)
    {
        if (!_safetensors || data.Count < 8)
        {
            return data.Count;
        }

        ulong n = BinaryPrimitives.ReadUInt64LittleEndian(CollectionsMarshalSpan(data, 0, 8));
        return n > (ulong)(data.Count - 8) ? data.Count : 8 + (int)n;
    }

    private static ReadOnlySpan<byte> CollectionsMarshalSpan(List<byte> data, int start, int length) =>
        System.Runtime.InteropServices.CollectionsMarshal.AsSpan(data).Slice(start, length);

    /// <summary>A position, three times in four inside the header.</summary>
    private int Position(List<byte> data, int headerEnd) =>
        _random.Next(4) != 0 && headerEnd > 0 ? _random.Next(Math.Min(headerEnd, data.Count)) : _random.Next(data.Count);

    private void Insert(List<byte> data, byte[] bytes, int headerEnd)
    {
        int at = data.Count == 0 ? 0 : Position(data, headerEnd);
        data.InsertRange(at, bytes);
    }

    private int FindStructural(List<byte> data, int headerEnd)
    {
        for (int tries = 0; tries < 32 && data.Count > 0; tries++)
        {
            int at = Position(data, headerEnd);
            byte c = data[at];
            if (c is (byte)'{' or (byte)'}' or (byte)'[' or (byte)']' or (byte)',' or (byte)':' or (byte)'"')
            {
                return at;
            }
        }

        return -1;
    }

    private void ReplaceNumber(List<byte> data, int headerEnd)
    {
        int limit = Math.Min(headerEnd, data.Count);
        int first = _safetensors ? 8 : 0;
        if (limit <= first)
        {
            return;
        }

        int start = first + _random.Next(limit - first);
        while (start < limit && !IsNumberByte(data[start]))
        {
            start++;
        }

        if (start >= limit)
        {
            return;
        }

        int end = start;
        while (end < limit && IsNumberByte(data[end]))
        {
            end++;
        }

        byte[] value = Encoding.ASCII.GetBytes(InterestingNumbers[_random.Next(InterestingNumbers.Length)]);
        data.RemoveRange(start, end - start);
        data.InsertRange(start, value);
        int delta = value.Length - (end - start);
        if (_safetensors && data.Count >= 8 && _random.Next(4) != 0)
        {
            // Keep the header length consistent most of the time, so the mutation reaches the JSON parser.
            ulong n = BinaryPrimitives.ReadUInt64LittleEndian(CollectionsMarshalSpan(data, 0, 8));
            byte[] bytes = new byte[8];
            BinaryPrimitives.WriteUInt64LittleEndian(bytes, (ulong)((long)n + delta));
            for (int i = 0; i < 8; i++)
            {
                data[i] = bytes[i];
            }
        }
    }

    private static bool IsNumberByte(byte b) => (b >= (byte)'0' && b <= (byte)'9') || b == (byte)'-';
}
