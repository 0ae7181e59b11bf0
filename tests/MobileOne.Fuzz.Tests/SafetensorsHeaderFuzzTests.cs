using System;
using System.Collections.Generic;
using System.Linq;
using MobileOne.Formats.Safetensors;
using MobileOne.Fuzz.Tests.Infrastructure;
using Xunit;
using Xunit.Abstractions;

namespace MobileOne.Fuzz.Tests;

/// <summary>
/// Target (a): <c>SafetensorsHeader.ReadHeaderLength</c> and <c>Parse</c>, called exactly as the generator and the
/// runtime call them, on mutated and truncated model files. Every input ends in a header whose invariants hold or in a
/// <c>SafetensorsFormatException</c>; nothing else, no hang, and no allocation beyond a small multiple of the input.
/// </summary>
public class SafetensorsHeaderFuzzTests
{
    /// <summary>Bytes one parse may allocate: the UTF-16 copy of the header, its JSON tree and the tensor list.</summary>
    public static long Budget(long inputLength) => (48 * inputLength) + (64 * 1024);

    private readonly ITestOutputHelper _output;

    public SafetensorsHeaderFuzzTests(ITestOutputHelper output) => _output = output;

    [Fact]
    public void MutatedTinyFiles()
    {
        var mutator = new Mutator(FuzzOptions.Seed(1), Seeds.Tiny.Select(s => s.Bytes).ToList());
        FuzzStats stats = FuzzRunner.Run("safetensors-header", mutator.Take(FuzzOptions.Iterations()), input => ParseFile(input, input.LongLength), Budget, _output);
        Assert.True(stats["ok"] > 0 && stats["SafetensorsFormatException"] > 0, stats.ToString());
    }

    [Fact]
    public void MutatedS0Headers()
    {
        IReadOnlyList<Seed> seeds = Seeds.S0;
        var mutator = new Mutator(FuzzOptions.Seed(2), seeds.Select(s => s.Bytes).ToList());

        // The S0 seeds hold only the header; the file length the reader sees adds the seed's real data length.
        FuzzStats stats = FuzzRunner.Run(
            "safetensors-header-s0",
            mutator.Take(FuzzOptions.Iterations()),
            input => ParseFile(input, input.LongLength + seeds[mutator.LastSeed].DataLength),
            Budget,
            _output);
        Assert.True(stats["ok"] > 0 && stats["SafetensorsFormatException"] > 0, stats.ToString());
    }

    /// <summary>What the readers do: length prefix checked against the file length, then the header against the data length.</summary>
    public static string ParseFile(byte[] input, long fileLength)
    {
        try
        {
            long n = SafetensorsHeader.ReadHeaderLength(input.AsSpan(0, Math.Min(8, input.Length)).ToArray(), fileLength);
            if (8 + n > input.LongLength)
            {
                // The header length is within the (virtual) file but past the bytes we hold: a truncated header.
                return "header past the input";
            }

            long dataLength = fileLength - 8 - n;
            SafetensorsHeader header = SafetensorsHeader.Parse(input.AsSpan(8, (int)n).ToArray(), dataLength);
            CheckInvariants(header, dataLength);
            return "ok";
        }
        catch (SafetensorsFormatException)
        {
            return "SafetensorsFormatException";
        }
    }

    /// <summary>What a parsed header promises its users (the generator's parser and WeightReader rely on each).</summary>
    internal static void CheckInvariants(SafetensorsHeader header, long dataLength)
    {
        if (header.Tensors.Count > SafetensorsHeader.MaxTensors)
        {
            throw new FuzzFailure($"{header.Tensors.Count} tensors accepted");
        }

        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (SafetensorsTensor t in header.Tensors)
        {
            if (!names.Add(t.Name))
            {
                throw new FuzzFailure($"duplicate tensor '{t.Name}' accepted");
            }

            if (t.Shape.Length > SafetensorsHeader.MaxRank || t.Shape.Any(d => d < 0 || d > int.MaxValue))
            {
                throw new FuzzFailure($"'{t.Name}' has shape {t.ShapeText}");
            }

            if (t.Begin < 0 || t.End < t.Begin || t.End > dataLength)
            {
                throw new FuzzFailure($"'{t.Name}' spans [{t.Begin}, {t.End}) of a {dataLength}-byte data section");
            }

            int size = SafetensorsHeader.ElementSize(t.DType);
            if (size > 0 && (t.ElementCount > SafetensorsHeader.MaxElements || t.ElementCount * size != t.End - t.Begin))
            {
                throw new FuzzFailure($"'{t.Name}' {t.DType} {t.ShapeText} spans {t.End - t.Begin} bytes");
            }
        }

        var sorted = header.Tensors.OrderBy(t => t.Begin).ThenBy(t => t.End).ToList();
        for (int i = 1; i < sorted.Count; i++)
        {
            if (sorted[i].Begin < sorted[i - 1].End)
            {
                throw new FuzzFailure($"'{sorted[i - 1].Name}' and '{sorted[i].Name}' overlap");
            }
        }
    }
}
