using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using MobileOne.Formats.Safetensors;
using MobileOne.Fuzz.Tests.Infrastructure;
using MobileOne.Runtime;
using Xunit;
using Xunit.Abstractions;

namespace MobileOne.Fuzz.Tests;

/// <summary>
/// Target (d): the run-time <see cref="WeightReader"/> (<c>FromStream</c>, <c>FromFile</c>, <c>FromEmbedded</c>) with a
/// generated class's tensor list, on mutated and truncated weight files. Every input ends in a reader whose every
/// tensor reads back, or in <see cref="WeightFileException"/>; nothing else.
/// </summary>
public class WeightReaderFuzzTests
{
    /// <summary>The file's bytes, the header's text and tree, and the widened floats of the largest tensor.</summary>
    public static long Budget(long inputLength) => (64 * inputLength) + (256 * 1024);

    private readonly ITestOutputHelper _output;

    public WeightReaderFuzzTests(ITestOutputHelper output) => _output = output;

    [Fact]
    public void MutatedWeightFiles()
    {
        GeneratedNet[] nets = { GeneratedNet.TinySe, GeneratedNet.TinyPlain };
        IReadOnlyList<Seed> seeds = Seeds.Tiny;
        var mutator = new Mutator(FuzzOptions.Seed(4), seeds.Select(s => s.Bytes).Concat(nets.Select(n => n.File)).ToList());
        string path = Path.Combine(GeneratedNet.Directory, "fuzz-weights.safetensors");
        int i = 0;
        FuzzStats stats = FuzzRunner.Run("weight-reader", mutator.Take(FuzzOptions.Iterations()), input =>
        {
            GeneratedNet net = nets[i % 2];
            int mode = i++ % 8;
            return mode switch
            {
                0 => Bind(() => { File.WriteAllBytes(path, input); return WeightReader.FromFile(path, net.Names); }),
                1 or 2 or 3 => Bind(() => WeightReader.FromEmbedded(new MemoryStream(input), "fuzz", net.Tensors, net.File.LongLength, SafetensorsHeader.HashHeader(HeaderOf(net.File)))),
                _ => Bind(() => WeightReader.FromStream(new MemoryStream(input), net.Names)),
            };

            string Bind(Func<WeightReader> open)
            {
                try
                {
                    using WeightReader reader = open();
                    foreach (TensorDescriptor t in net.Tensors)
                    {
                        ReadOnlySpan<float> values = reader.Read(t.Name);
                        if (values.Length != t.ElementCount)
                        {
                            throw new FuzzFailure($"'{t.Name}' read {values.Length} values, expected {t.ElementCount}");
                        }
                    }

                    return "ok";
                }
                catch (WeightFileException)
                {
                    return "WeightFileException";
                }
            }
        }, Budget, _output);
        Assert.True(stats["ok"] > 0 && stats["WeightFileException"] > 0, stats.ToString());
    }

    [Fact]
    public void AFileLargerThanAnArrayIsRefusedBeforeReading()
    {
        // A sparse file of Array.MaxLength + 1 bytes: WeightFileException, not File.ReadAllBytes' IOException.
        string path = Path.Combine(GeneratedNet.Directory, "too-large.safetensors");
        try
        {
            using (var fs = File.Create(path))
            {
                fs.SetLength(Array.MaxLength + 1L);
            }

            var names = GeneratedNet.TinySe.Names;
            long before = GC.GetAllocatedBytesForCurrentThread();
            WeightFileException e = Assert.Throws<WeightFileException>(() => WeightReader.FromFile(path, names));
            Assert.Contains("more than one array holds", e.Message, StringComparison.Ordinal);
            Assert.True(GC.GetAllocatedBytesForCurrentThread() - before < 1 << 20);
        }
        finally
        {
            File.Delete(path);
        }
    }

    private static byte[] HeaderOf(byte[] file) => file.AsSpan(8, (int)BitConverter.ToUInt64(file, 0)).ToArray();
}
