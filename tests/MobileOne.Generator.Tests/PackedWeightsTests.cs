using System;
using System.Buffers.Binary;
using System.Collections.Generic;
using System.IO;
using System.Reflection;
using System.Runtime.InteropServices;
using MobileOne.Conversion.Quantization;
using MobileOne.Generator;
using MobileOne.Generator.Tests.Infrastructure;
using MobileOne.Runtime;
using MobileOne.TestSupport;
using Xunit;

namespace MobileOne.Generator.Tests;

/// <summary>
/// Weights packed at build time (<see cref="PackedWeightFile"/>, what the package's task embeds): a generated class
/// bound to the blob computes exactly what it computes from the safetensors file (same bytes, so the same logits bit
/// for bit), for FP32, F16 and BF16 files, Apple's and timm's names, squeeze-excite, every published variant and int8;
/// a blob that is not the one the class was generated from (other weights, truncated, another layout, another format)
/// is refused with a message that says so; an aligned blob is used where it lies, a misaligned one copied once, and the
/// build's alignment step moves the data onto a 64-byte boundary wherever the blob starts.
/// </summary>
public class PackedWeightsTests
{
    public static IEnumerable<object[]> Cases() => new[]
    {
        new object[] { "s0", "F32", false }, new object[] { "s1", "F32", false }, new object[] { "s2", "F32", false },
        new object[] { "s3", "F32", false }, new object[] { "s4", "F32", false },
        new object[] { "odd", "F32", false }, new object[] { "gray", "F16", false }, new object[] { "wide", "BF16", false },
        new object[] { "s1", "F32", true }, new object[] { "s4", "F32", true }, new object[] { "gray", "F32", true },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void ABlobPackedAtBuildTimeGivesTheSameLogitsAsTheFile(string caseName, string dtype, bool int8)
    {
        NetworkCase c = caseName.StartsWith('s') ? NetworkCase.Small(caseName, 64) : NetworkCase.Get(caseName);
        using var models = new TempModels();
        string path = models.PathOf($"packed_{caseName}{(int8 ? "_int8" : string.Empty)}.safetensors");
        if (int8)
        {
            Int8TestQuantizer.Quantize(c.Architecture, c.Weights, new[] { c.InputA }).Write(path);
        }
        else
        {
            // timm's names for the custom nets, Apple's for the variants: both must pack to the generator's layout.
            TensorNaming naming = caseName.StartsWith('s') ? TensorNaming.Apple : TensorNaming.Timm;
            SafetensorsWriter.Write(path, c.Weights, c.Architecture, naming, dtype, ArchitectureJson.Metadata(c.Architecture));
        }

        string typeName = "TestApp." + ModelFileParser.ClassNameFromFileName(Path.GetFileNameWithoutExtension(path));
        GeneratorRun run = GeneratorHarness.Run(path);
        using LoadedAssembly packed = GeneratorHarness.CompileAndLoad(run, packAtBuildTime: true);
        using LoadedAssembly unpacked = GeneratorHarness.CompileAndLoad(run);
        Assert.True(PackedWeightFile.IsPackedWeightFile(File.ReadAllBytes(path + ".packed")), "the harness did not embed a packed blob");

        IMobileOneNetwork fromBlob = packed.Default(typeName);
        IMobileOneNetwork fromFile = unpacked.Load(typeName, path);
        var a = new float[c.Architecture.NumClasses];
        var b = new float[c.Architecture.NumClasses];
        fromBlob.Run(c.InputA, a);
        fromFile.Run(c.InputA, b);
        Assert.Equal(b, a);
        Assert.Contains(a, v => v != 0f);
    }

    [Fact]
    public void ABlobOfOtherWeightsIsRefused()
    {
        NetworkCase c = NetworkCase.Get("odd");
        using var models = new TempModels();
        string path = models.PathOf("odd_net.safetensors");
        string other = models.PathOf("other.safetensors");
        SafetensorsWriter.Write(path, c.Weights, c.Architecture, TensorNaming.Apple, "F32", ArchitectureJson.Metadata(c.Architecture));
        // The same architecture, other weights and one more metadata entry: another header.
        SafetensorsWriter.Write(other, FusedWeights.Random(c.Architecture, 5), c.Architecture, TensorNaming.Apple, "F32", new Dictionary<string, string>(ArchitectureJson.Metadata(c.Architecture)) { ["note"] = "other" });
        PackedWeightFile.Pack(other, path + ".packed");
        string message = BindBlob(path, File.ReadAllBytes(path + ".packed"));
        Assert.Contains("packed from another weight file", message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("truncated", "packed units")]
    [InlineData("layout", "another layout")]
    [InlineData("version", "packed weight format 2")]
    [InlineData("magic", "but the class was generated from a file of")]
    public void ADamagedBlobIsRefusedWithItsReason(string damage, string expected)
    {
        using var models = new TempModels();
        (string path, byte[] blob) = WriteAndPack(models, "gray");
        switch (damage)
        {
            case "truncated":
                blob = blob.AsSpan(0, blob.Length - 64).ToArray();
                break;
            case "layout":
                blob[40] ^= 1;
                break;
            case "version":
                BinaryPrimitives.WriteInt32LittleEndian(blob.AsSpan(8), 2);
                break;
            default:
                // Not the blob's magic: read as a safetensors file, which it is not (not the generator's file either).
                blob[3] = (byte)'X';
                break;
        }

        string message = BindBlob(path, blob);
        Assert.Contains(expected, message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(0, false)]
    [InlineData(4, false)]
    [InlineData(8, false)]
    [InlineData(36, false)]
    [InlineData(4, true)]
    [InlineData(8, true)]
    [InlineData(36, true)]
    [InlineData(60, true)]
    public unsafe void AnAlignedBlobIsUsedWhereItLiesAndAMisalignedOneCopiedOnce(int misalignment, bool alignedByTheBuild)
    {
        using var models = new TempModels();
        (string path, byte[] blob) = WriteAndPack(models, "odd");
        PackedWeightFile.Plan plan = PackedWeightFile.PlanFor(File.ReadAllBytes(path), Path.GetFileName(path));
        byte[] data = blob.AsSpan(PackedWeightFile.HeaderBytes, 4 * plan.PackedLength).ToArray();
        Assert.Equal(PackedWeightFile.FileLength(plan.PackedLength), blob.Length);
        if (alignedByTheBuild)
        {
            // What the build's AlignMobileOneWeights does in the compiled assembly: the blob starts at an address that is
            // `misalignment` past a 64-byte boundary; its data moves within the slack onto the next boundary.
            using var assembly = new MemoryStream();
            assembly.Write(new byte[100]);
            assembly.Write(blob);
            Assert.True(PackedWeightFile.AlignInPlace(assembly, 100, 64 + misalignment, blob.Length));
            Assert.False(PackedWeightFile.AlignInPlace(assembly, 100, 64 + misalignment, blob.Length)); // idempotent
            blob = assembly.ToArray().AsSpan(100).ToArray();
            int offset = BitConverter.ToInt32(blob, 12);
            Assert.Equal(0, (misalignment + offset) % 64);
            Assert.True(blob.AsSpan(offset, data.Length).SequenceEqual(data), "the data moved intact");
            Assert.True(blob.AsSpan(PackedWeightFile.HeaderBytes, offset - PackedWeightFile.HeaderBytes).IndexOfAnyExcept((byte)0) < 0, "zeros before the data");
            Assert.True(blob.AsSpan(offset + data.Length).IndexOfAnyExcept((byte)0) < 0, "zeros after the data");
        }

        int dataOffset = BitConverter.ToInt32(blob, 12);
        bool aligned = (misalignment + dataOffset) % 64 == 0;

        nint memory = (nint)NativeMemory.AlignedAlloc((nuint)(blob.Length + 64), 64);
        try
        {
            byte* start = (byte*)memory + misalignment;
            blob.CopyTo(new Span<byte>(start, blob.Length));
            using var stream = new UnmanagedMemoryStream(start, blob.Length);
            long fileLength = new FileInfo(path).Length;
            AlignedFloatBuffer weights = WeightBinding.MapPacked(stream, this, "test blob", plan.Tensors, plan.PackedLength, fileLength, plan.HeaderHash);
            Assert.Equal(aligned, weights.Pointer == (float*)(start + dataOffset));
            Assert.Equal(0, (int)((nuint)weights.Pointer % 64));
            Assert.True(MemoryMarshal.AsBytes(weights.Span).SequenceEqual(data));

            // And a stream that is not memory: read once into an aligned buffer.
            using var copy = new MemoryStream(blob);
            AlignedFloatBuffer read = WeightBinding.MapPacked(copy, this, "test blob", plan.Tensors, plan.PackedLength, fileLength, plan.HeaderHash);
            Assert.Equal(0, (int)((nuint)read.Pointer % 64));
            Assert.True(MemoryMarshal.AsBytes(read.Span).SequenceEqual(data));
        }
        finally
        {
            NativeMemory.AlignedFree((void*)memory);
        }
    }

    [Fact]
    public void AFileThatIsNotAFusedMobileOneIsNotPacked()
    {
        using var models = new TempModels();
        string path = models.PathOf("broken.safetensors");
        File.WriteAllBytes(path, new byte[] { 8, 0, 0, 0, 0, 0, 0, 0, (byte)'{', (byte)'}', 32, 32, 32, 32, 32, 32 });
        var e = Assert.Throws<WeightFileException>(() => PackedWeightFile.Pack(path, path + ".packed"));
        Assert.Contains("broken.safetensors", e.Message, StringComparison.Ordinal);
        Assert.False(File.Exists(path + ".packed"));
    }

    /// <summary>Writes the weights of a <see cref="NetworkCase"/> (F32, Apple's names) and packs them as the build does.</summary>
    private static (string Path, byte[] Blob) WriteAndPack(TempModels models, string caseName)
    {
        NetworkCase c = NetworkCase.Get(caseName);
        string path = models.PathOf(caseName + ".safetensors");
        SafetensorsWriter.Write(path, c.Weights, c.Architecture, TensorNaming.Apple, "F32", ArchitectureJson.Metadata(c.Architecture));
        PackedWeightFile.Pack(path, path + ".packed");
        return (path, File.ReadAllBytes(path + ".packed"));
    }

    /// <summary>Generates the class of <paramref name="path"/>, embeds <paramref name="blob"/> as its weights and returns what Default throws.</summary>
    private static string BindBlob(string path, byte[] blob)
    {
        string blobPath = path + ".damaged";
        File.WriteAllBytes(blobPath, blob);
        GeneratorRun run = GeneratorHarness.Run(path);
        using LoadedAssembly loaded = GeneratorHarness.CompileAndLoad(run, embedded: blobPath);
        string typeName = "TestApp." + ModelFileParser.ClassNameFromFileName(Path.GetFileNameWithoutExtension(path));
        Exception e = Assert.ThrowsAny<Exception>(() => loaded.Default(typeName));
        Exception inner = e is TargetInvocationException { InnerException: { } i } ? i : e;
        while (inner is TypeInitializationException or TargetInvocationException && inner.InnerException != null)
        {
            inner = inner.InnerException!;
        }

        Assert.IsType<WeightFileException>(inner);
        return inner.Message;
    }
}
