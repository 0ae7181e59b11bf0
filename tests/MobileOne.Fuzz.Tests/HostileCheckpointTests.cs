using System;
using System.Collections.Generic;
using System.IO;
using System.IO.Compression;
using System.Linq;
using System.Text;
using MobileOne.Conversion;
using MobileOne.Fuzz.Tests.Infrastructure;
using MobileOne.TestSupport;
using Xunit;

namespace MobileOne.Fuzz.Tests;

/// <summary>
/// Hostile torch.save files: pickles that reach code (os.system, builtins.eval, subprocess.*, unknown globals, by every
/// opcode that can name a global), zip path traversal, decompression bombs, and count fields that would allocate.
/// Each is refused with <see cref="ConversionException"/>, nothing runs (the payload would create a marker file) and
/// nothing is written.
/// </summary>
public class HostileCheckpointTests
{
    private static readonly string Marker = Path.Combine(Path.GetTempPath(), "mobileone-pwned-" + Guid.NewGuid().ToString("N"));

    public static IEnumerable<object[]> CodeExecutionGlobals() => new[]
    {
        new object[] { "os", "system" },
        new object[] { "posix", "system" },
        new object[] { "nt", "system" },
        new object[] { "builtins", "eval" },
        new object[] { "builtins", "exec" },
        new object[] { "__builtin__", "eval" },
        new object[] { "builtins", "getattr" },
        new object[] { "builtins", "__import__" },
        new object[] { "subprocess", "Popen" },
        new object[] { "subprocess", "call" },
        new object[] { "subprocess", "check_output" },
        new object[] { "runpy", "_run_code" },
        new object[] { "torch", "load" },
        new object[] { "numpy.core.multiarray", "_reconstruct" },
        new object[] { "my_training_script", "MobileOne" },
        new object[] { "collections", "OrderedDictX" },
    };

    [Theory]
    [MemberData(nameof(CodeExecutionGlobals))]
    public void GlobalOpcodeOutsideTheAllowlistIsRefusedByName(string module, string name)
    {
        // GLOBAL module.name, then call it with a shell command: what a malicious checkpoint does.
        byte[] pickle = new Pickle().Global(module, name).Mark().Str("touch " + Marker).Tuple().Reduce().Stop();
        AssertRefused(PthBuilder.Zip(pickle, Array.Empty<(string, byte[])>()), module + "." + name);
    }

    [Fact]
    public void ANameWithANewlineCannotSmuggleAGlobal()
    {
        // GLOBAL is line-based: "_rebuild_tensor_v2\nos\n" names the allowed _rebuild_tensor_v2, and the rest ("os\n")
        // is read as opcodes, of which '\n' is none: the file is refused as malformed before anything is unpickled.
        byte[] global = new Pickle().Global("torch._utils", "_rebuild_tensor_v2\nos").Mark().Str("touch " + Marker).Tuple().Reduce().Stop();
        ConversionException e = Assert.Throws<ConversionException>(() => Checkpoint.Load(PthBuilder.Zip(global, Array.Empty<(string, byte[])>()), "evil.pth"));
        Assert.Equal(ConversionErrorKind.InvalidFormat, e.Kind);
        Assert.Contains("unknown opcode 0x0a", e.Message, StringComparison.Ordinal);

        // STACK_GLOBAL takes the name from a string, which may hold the newline: the whole name is checked, and refused
        // by name with the newline escaped.
        byte[] stack = new Pickle().Str("torch._utils").Str("_rebuild_tensor_v2\nos").Op(0x93).Mark().Str("touch " + Marker).Tuple().Reduce().Stop();
        AssertRefused(PthBuilder.Zip(stack, Array.Empty<(string, byte[])>()), "torch._utils._rebuild_tensor_v2\\u000aos");
    }

    [Theory]
    [InlineData("os", "system")]
    [InlineData("builtins", "eval")]
    [InlineData("subprocess", "run")]
    public void EveryOpcodeThatNamesAGlobalIsChecked(string module, string name)
    {
        string full = module + "." + name;
        var variants = new Dictionary<string, byte[]>
        {
            ["INST"] = new Pickle().Mark().Str("touch " + Marker).Inst(module, name).Stop(),
            ["STACK_GLOBAL"] = new Pickle().Str(module).Str(name).Op(0x93).Mark().Str("touch " + Marker).Tuple().Reduce().Stop(),
            ["STACK_GLOBAL via memo"] = new Pickle().Str(module).Put(1).Str(name).Put(2).Op((byte)'0').Op((byte)'0').Get(1).Get(2).Op(0x93).Mark().Str("x").Tuple().Reduce().Stop(),
            ["after a valid state dict prefix"] = new Pickle().Global("collections", "OrderedDict").EmptyTuple().Reduce().Global(module, name).Mark().Str("x").Tuple().Reduce().Op((byte)'0').Stop(),
        };
        foreach (var (what, pickle) in variants)
        {
            ConversionException e = AssertRefused(PthBuilder.Zip(pickle, Array.Empty<(string, byte[])>()), full);
            Assert.True(e.Kind == ConversionErrorKind.UnsafePickle, what + ": " + e.Message);
        }
    }

    [Fact]
    public void GlobalsBuiltAtRunTimeAndExtensionCodesAreRefused()
    {
        // STACK_GLOBAL on values that are not literal strings (here: results of calls) cannot be checked: refused.
        byte[] computed = new Pickle().Global("collections", "OrderedDict").EmptyTuple().Reduce().Str("system").Op(0x93).Stop();
        ConversionException e = Assert.Throws<ConversionException>(() => Checkpoint.Load(PthBuilder.Zip(computed, Array.Empty<(string, byte[])>()), "evil.pth"));
        Assert.Equal(ConversionErrorKind.UnsafePickle, e.Kind);

        foreach (byte ext in new byte[] { 0x82, 0x83, 0x84 })
        {
            byte[] pickle = new Pickle().Op(ext).Op(1).Op(0).Op(0).Op(0).Mark().Str("x").Tuple().Reduce().Stop();
            e = Assert.Throws<ConversionException>(() => Checkpoint.Load(PthBuilder.Zip(pickle, Array.Empty<(string, byte[])>()), "evil.pth"));
            Assert.Equal(ConversionErrorKind.UnsafePickle, e.Kind);
        }

        Assert.False(File.Exists(Marker));
    }

    [Theory]
    [InlineData("../../evil/")]
    [InlineData("archive/../../")]
    [InlineData("/tmp/evil/")]
    [InlineData("C:/evil/")]
    [InlineData("..\\..\\evil\\")]
    public void ZipPathTraversalIsRefusedAndNothingIsWritten(string prefix)
    {
        // The reader never extracts to disk, so there is nothing to traverse to; still, a name torch.save never writes
        // is refused (naming the entry) rather than interpreted, and nothing is written anywhere.
        string dir = Path.Combine(Path.GetTempPath(), "mobileone-traversal-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        string cwd = Environment.CurrentDirectory;
        try
        {
            Environment.CurrentDirectory = dir;
            var tensors = CheckpointFuzzTests.TinyTensors(Seeds.TinySe, TensorNaming.Apple).ToList();
            byte[] good = PthBuilder.StateDictFile(tensors);
            using var ms = new MemoryStream();
            using (var zip = new ZipArchive(ms, ZipArchiveMode.Create, leaveOpen: true))
            {
                using var src = new ZipArchive(new MemoryStream(good), ZipArchiveMode.Read);
                foreach (ZipArchiveEntry e in src.Entries)
                {
                    using var s = e.Open();
                    using var copy = new MemoryStream();
                    s.CopyTo(copy);
                    PthBuilder.Add(zip, prefix + e.FullName["archive/".Length..], copy.ToArray());
                }
            }

            ConversionException refused = Assert.Throws<ConversionException>(() => Checkpoint.Load(ms.ToArray(), "traversal.pth"));
            Assert.Equal(ConversionErrorKind.InvalidFormat, refused.Kind);
            Assert.Contains("unsafe path", refused.Message, StringComparison.Ordinal);
            Assert.Contains("'" + prefix + "data.pkl'", refused.Message, StringComparison.Ordinal);
            Assert.Empty(Directory.EnumerateFileSystemEntries(dir, "*", SearchOption.AllDirectories));
            Assert.False(Directory.Exists(Path.Combine(Path.GetTempPath(), "evil")) && Directory.EnumerateFiles(Path.Combine(Path.GetTempPath(), "evil"), "data.pkl", SearchOption.AllDirectories).Any());
        }
        finally
        {
            Environment.CurrentDirectory = cwd;
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void DecompressionBombIsRefusedWithoutInflatingIt()
    {
        // 512 MiB of zeros deflates to about 0.5 MB: a storage entry that would inflate 1000-fold.
        var tensors = new[] { new PthTensor("linear.bias", "0", 4, 0, new long[] { 4 }, new long[] { 1 }) };
        using var ms = new MemoryStream();
        using (var zip = new ZipArchive(ms, ZipArchiveMode.Create, leaveOpen: true))
        {
            PthBuilder.Add(zip, "archive/data.pkl", Pickle.StateDict(tensors));
            ZipArchiveEntry bomb = zip.CreateEntry("archive/data/0", CompressionLevel.SmallestSize);
            using Stream s = bomb.Open();
            byte[] zeros = new byte[1 << 20];
            for (int i = 0; i < 512; i++)
            {
                s.Write(zeros);
            }
        }

        byte[] file = ms.ToArray();
        Assert.True(file.Length < 2 << 20, $"{file.Length} bytes");
        long before = GC.GetAllocatedBytesForCurrentThread();
        ConversionException e = Assert.Throws<ConversionException>(() => Checkpoint.Load(file, "bomb.pth"));
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.Contains("decompression bomb", e.Message, StringComparison.Ordinal);
        Assert.True(allocated < 64L * file.Length, $"allocated {allocated} bytes for a {file.Length}-byte file");
    }

    [Fact]
    public void EntryThatLiesAboutItsSizeIsRefused()
    {
        // A zip whose directory declares 2 GiB for a 16-byte stored storage: the reader must not trust the declared size.
        var tensors = new[] { new PthTensor("linear.bias", "0", 4, 0, new long[] { 4 }, new long[] { 1 }) };
        byte[] file = PthBuilder.Zip(Pickle.StateDict(tensors), new[] { ("0", new byte[16]) });
        byte[] name = Encoding.ASCII.GetBytes("archive/data/0");
        // Patch the uncompressed size in the central directory entry (signature PK\1\2, size at +24).
        for (int at = file.Length - 46; at >= 0; at--)
        {
            if (file[at] == 'P' && file[at + 1] == 'K' && file[at + 2] == 1 && file[at + 3] == 2 && file.AsSpan(at + 46, name.Length).SequenceEqual(name))
            {
                BitConverter.TryWriteBytes(file.AsSpan(at + 24, 4), 0x7FFF_FFF0u);
            }
        }

        long before = GC.GetAllocatedBytesForCurrentThread();
        Assert.Throws<ConversionException>(() => Checkpoint.Load(file, "liar.pth"));
        Assert.True(GC.GetAllocatedBytesForCurrentThread() - before < 16 << 20);
    }

    [Fact]
    public void EntryThatInflatesBeyondItsDeclaredSizeIsNotReadOn()
    {
        // A deflated storage of 8 MiB of zeros whose headers declare 16 KiB: the reader inflates at most the declared
        // size (plus one byte to notice the lie) and refuses the entry.
        var tensors = new[] { new PthTensor("linear.bias", "0", 4, 0, new long[] { 4 }, new long[] { 1 }) };
        byte[] file = PthBuilder.Zip(Pickle.StateDict(tensors), new[] { ("0", new byte[8 << 20]) }, level: CompressionLevel.SmallestSize);
        int patched = PatchUncompressedSize(file, "archive/data/0", 16 * 1024);
        Assert.Equal(2, patched);
        long before = GC.GetAllocatedBytesForCurrentThread();
        ConversionException e = Assert.Throws<ConversionException>(() => Checkpoint.Load(file, "liar.pth"));
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.Contains("archive/data/0", e.Message, StringComparison.Ordinal);
        Assert.True(allocated < 2 << 20, $"allocated {allocated} bytes: {e.Message}");
    }

    [Fact]
    public void EntriesSharingCompressedDataAreRefusedAsABomb()
    {
        // 64 KiB of zeros (within the per-entry slack) deflated once, and 3,000 directory records pointing at it under
        // the names of 3,000 storages (each viewed by a one-element tensor): ~200 MiB would be inflated from a ~500 KB file.
        const int copies = 3000;
        var tensors = Enumerable.Range(0, copies).Select(i => new PthTensor("t" + i, i.ToString(System.Globalization.CultureInfo.InvariantCulture), 1, 0, new long[] { 1 }, new long[] { 1 })).ToList();
        byte[] file = PthBuilder.Zip(Pickle.StateDict(tensors), new[] { ("0", new byte[64 * 1024]) }, level: CompressionLevel.SmallestSize);
        file = DuplicateDirectoryRecord(file, "archive/data/0", Enumerable.Range(1, copies - 1).Select(i => "archive/data/" + i));
        long before = GC.GetAllocatedBytesForCurrentThread();
        ConversionException e = Assert.Throws<ConversionException>(() => Checkpoint.Load(file, "overlap.pth"));
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.Contains("decompression bomb", e.Message, StringComparison.Ordinal);
        Assert.True(allocated < 150L * file.Length, $"allocated {allocated} bytes for a {file.Length}-byte file");
    }

    [Fact]
    public async System.Threading.Tasks.Task SharedSubtreesDoNotMakeTheCheckExponential()
    {
        // L0 = [], L(i) = [L(i-1), L(i-1)]: 80 levels, 2^80 paths through 80 lists. Checked once per list.
        var p = new Pickle().Op((byte)']').Put(0);
        for (byte i = 1; i <= 80; i++)
        {
            p.Mark().Get((byte)(i - 1)).Get((byte)(i - 1)).Op((byte)'l').Put(i);
        }

        byte[] file = PthBuilder.Zip(p.Stop(), Array.Empty<(string, byte[])>());
        // WaitAsync throws TimeoutException if the check takes longer (exponential in the depth).
        ConversionException e = await System.Threading.Tasks.Task.Run(() => Assert.Throws<ConversionException>(() => Checkpoint.Load(file, "dag.pth"))).WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(ConversionErrorKind.NotMobileOne, e.Kind);
    }

    /// <summary>Sets the uncompressed size of <paramref name="entry"/> in its local header and its directory record.</summary>
    private static int PatchUncompressedSize(byte[] file, string entry, uint size)
    {
        byte[] name = Encoding.ASCII.GetBytes(entry);
        int patched = 0;
        for (int at = 0; at + 4 <= file.Length; at++)
        {
            if (file[at] != 'P' || file[at + 1] != 'K')
            {
                continue;
            }

            if (file[at + 2] == 3 && file[at + 3] == 4 && at + 30 + name.Length <= file.Length && file.AsSpan(at + 30, name.Length).SequenceEqual(name))
            {
                BitConverter.TryWriteBytes(file.AsSpan(at + 22, 4), size);
                patched++;
            }
            else if (file[at + 2] == 1 && file[at + 3] == 2 && at + 46 + name.Length <= file.Length && file.AsSpan(at + 46, name.Length).SequenceEqual(name))
            {
                BitConverter.TryWriteBytes(file.AsSpan(at + 24, 4), size);
                patched++;
            }
        }

        return patched;
    }

    /// <summary>Adds directory records under <paramref name="names"/> that point at the local header of <paramref name="entry"/>.</summary>
    private static byte[] DuplicateDirectoryRecord(byte[] file, string entry, IEnumerable<string> names)
    {
        int eocd = file.Length - 22;
        Assert.True(file[eocd] == 'P' && file[eocd + 1] == 'K' && file[eocd + 2] == 5 && file[eocd + 3] == 6, "no plain end-of-directory record");
        int count = BitConverter.ToUInt16(file, eocd + 10);
        int dirSize = BitConverter.ToInt32(file, eocd + 12);
        int dirStart = BitConverter.ToInt32(file, eocd + 16);
        byte[] target = Encoding.ASCII.GetBytes(entry);
        byte[]? record = null;
        for (int at = dirStart; at < dirStart + dirSize;)
        {
            int length = 46 + BitConverter.ToUInt16(file, at + 28) + BitConverter.ToUInt16(file, at + 30) + BitConverter.ToUInt16(file, at + 32);
            if (file.AsSpan(at + 46, BitConverter.ToUInt16(file, at + 28)).SequenceEqual(target))
            {
                record = file.AsSpan(at, length).ToArray();
            }

            at += length;
        }

        Assert.NotNull(record);
        int fixedLength = 46, extraAndComment = record!.Length - fixedLength - target.Length;
        using var ms = new MemoryStream();
        ms.Write(file, 0, dirStart + dirSize);
        int added = 0;
        foreach (string n in names)
        {
            byte[] name = Encoding.ASCII.GetBytes(n);
            byte[] copy = new byte[fixedLength + name.Length + extraAndComment];
            record.AsSpan(0, fixedLength).CopyTo(copy);
            BitConverter.TryWriteBytes(copy.AsSpan(28, 2), (ushort)name.Length);
            name.CopyTo(copy, fixedLength);
            record.AsSpan(fixedLength + target.Length).CopyTo(copy.AsSpan(fixedLength + name.Length));
            ms.Write(copy);
            added++;
        }

        byte[] end = file.AsSpan(eocd, 22).ToArray();
        BitConverter.TryWriteBytes(end.AsSpan(8, 2), (ushort)(count + added));
        BitConverter.TryWriteBytes(end.AsSpan(10, 2), (ushort)(count + added));
        BitConverter.TryWriteBytes(end.AsSpan(12, 4), (int)(ms.Length - dirStart));
        ms.Write(end);
        return ms.ToArray();
    }

    public static IEnumerable<object[]> CountFields() => new[]
    {
        // numel of 10^12 in the persistent id
        new object[] { new PthTensor("linear.bias", "0", 1_000_000_000_000, 0, new long[] { 4 }, new long[] { 1 }) },
        // a shape of [2^31, 2^31]
        new object[] { new PthTensor("linear.weight", "0", 4, 0, new long[] { 1L << 31, 1L << 31 }, new long[] { 1L << 31, 1 }) },
        // a shape of [2^31 - 1, 2^31 - 1] over a 4-element storage
        new object[] { new PthTensor("linear.weight", "0", 4, 0, new long[] { int.MaxValue, int.MaxValue }, new long[] { 1, 1 }) },
        // an offset of 2^62 and of -1
        new object[] { new PthTensor("linear.bias", "0", 4, 1L << 62, new long[] { 4 }, new long[] { 1 }) },
        new object[] { new PthTensor("linear.bias", "0", 4, -1, new long[] { 4 }, new long[] { 1 }) },
        // an offset near 2^63 that makes offset + extent overflow
        new object[] { new PthTensor("linear.bias", "0", 4, long.MaxValue - 1, new long[] { 4 }, new long[] { 1 }) },
        // stride 0: a 4-element storage viewed as 2^30 elements (a broadcast view would allocate 4 GiB)
        new object[] { new PthTensor("linear.weight", "0", 4, 0, new long[] { 1 << 15, 1 << 15 }, new long[] { 0, 0 }) },
        // a negative numel
        new object[] { new PthTensor("linear.bias", "0", -4, 0, new long[] { 4 }, new long[] { 1 }) },
    };

    [Theory]
    [MemberData(nameof(CountFields))]
    public void CountFieldsThatWouldAllocateAreRefused(PthTensor tensor)
    {
        byte[] file = PthBuilder.Zip(Pickle.StateDict(new[] { tensor }), new[] { ("0", new byte[16]) });
        long before = GC.GetAllocatedBytesForCurrentThread();
        ConversionException e = Assert.Throws<ConversionException>(() => Checkpoint.Load(file, "count.pth"));
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.True(allocated < 4 << 20, $"allocated {allocated} bytes: {e.Message}");
    }

    [Fact]
    public void OneStorageViewedManyTimesCannotMultiplyTheAllocation()
    {
        // 4,000 tensors over one 1 MiB storage: 4 GiB of floats from a ~1 MB file unless the reader bounds it.
        const int numel = 1 << 18;
        var tensors = Enumerable.Range(0, 4000).Select(i => new PthTensor("t" + i, "0", numel, 0, new long[] { numel }, new long[] { 1 })).ToList();
        byte[] file = PthBuilder.Zip(Pickle.StateDict(tensors), new[] { ("0", new byte[numel * 4]) });
        long before = GC.GetAllocatedBytesForCurrentThread();
        ConversionException e = Assert.Throws<ConversionException>(() => Checkpoint.Load(file, "shared.pth"));
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.True(allocated < 64L * file.Length, $"allocated {allocated} bytes for a {file.Length}-byte file: {e.Message}");
    }

    [Fact]
    public void AValidHandMadeCheckpointLoads()
    {
        var tensors = CheckpointFuzzTests.TinyTensors(Seeds.TinySe, TensorNaming.Apple).ToList();
        StateDict dict = Checkpoint.Load(PthBuilder.StateDictFile(tensors), "tiny.pth");
        Assert.Equal(tensors.Select(t => t.Name), dict.Tensors.Select(t => t.Name));
        Assert.Equal(tensors[3].Values, dict.Tensors[3].Values);
        StateDict half = Checkpoint.Load(PthBuilder.StateDictFile(tensors, half: true), "tiny16.pth");
        Assert.Equal(tensors.Count, half.Tensors.Count);
    }

    private static ConversionException AssertRefused(byte[] file, string global)
    {
        ConversionException e = Assert.Throws<ConversionException>(() => Checkpoint.Load(file, "evil.pth"));
        Assert.Equal(ConversionErrorKind.UnsafePickle, e.Kind);
        Assert.Contains("'" + global + "'", e.Message, StringComparison.Ordinal);
        Assert.Contains("Nothing was executed", e.Message, StringComparison.Ordinal);
        Assert.False(File.Exists(Marker), "the payload ran");
        return e;
    }
}
