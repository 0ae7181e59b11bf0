using System;
using System.Buffers.Binary;
using System.Collections.Generic;
using System.IO;
using System.IO.Compression;
using System.Linq;
using System.Text;

namespace MobileOne.Fuzz.Tests.Infrastructure;

/// <summary>Writes pickle opcodes (protocol 2), enough to build torch.save state dicts and hostile pickles by hand.</summary>
public sealed class Pickle
{
    private readonly MemoryStream _bytes = new();

    public Pickle() => Op(0x80).Op(2); // PROTO 2

    public Pickle Op(byte op)
    {
        _bytes.WriteByte(op);
        return this;
    }

    public Pickle Global(string module, string name) => Op((byte)'c').Raw(Encoding.UTF8.GetBytes(module + "\n" + name + "\n"));

    public Pickle Inst(string module, string name) => Op((byte)'i').Raw(Encoding.UTF8.GetBytes(module + "\n" + name + "\n"));

    public Pickle Str(string s)
    {
        byte[] b = Encoding.UTF8.GetBytes(s);
        Op((byte)'X');
        Span<byte> n = stackalloc byte[4];
        BinaryPrimitives.WriteInt32LittleEndian(n, b.Length);
        return Raw(n.ToArray()).Raw(b);
    }

    public Pickle Int(long v)
    {
        if (v >= 0 && v < 256)
        {
            return Op((byte)'K').Op((byte)v);
        }

        if (v >= int.MinValue && v <= int.MaxValue)
        {
            Span<byte> b = stackalloc byte[4];
            BinaryPrimitives.WriteInt32LittleEndian(b, (int)v);
            return Op((byte)'J').Raw(b.ToArray());
        }

        Span<byte> l = stackalloc byte[8];
        BinaryPrimitives.WriteInt64LittleEndian(l, v);
        return Op(0x8a).Op(8).Raw(l.ToArray()); // LONG1
    }

    public Pickle Mark() => Op((byte)'(');

    public Pickle Tuple() => Op((byte)'t');

    public Pickle EmptyTuple() => Op((byte)')');

    public Pickle Reduce() => Op((byte)'R');

    public Pickle Put(byte n) => Op((byte)'q').Op(n);

    public Pickle Get(byte n) => Op((byte)'h').Op(n);

    public Pickle Ints(IEnumerable<long> values)
    {
        Mark();
        foreach (long v in values)
        {
            Int(v);
        }

        return Tuple();
    }

    public Pickle Raw(byte[] bytes)
    {
        _bytes.Write(bytes);
        return this;
    }

    public byte[] Stop() => Op((byte)'.')._bytes.ToArray();

    /// <summary>
    /// A state dict as torch.save pickles it: <c>OrderedDict([(name, _rebuild_tensor_v2(persistent storage, offset, size, stride, False, OrderedDict())) ...])</c>.
    /// </summary>
    public static byte[] StateDict(IEnumerable<PthTensor> tensors)
    {
        var p = new Pickle().Global("collections", "OrderedDict").EmptyTuple().Reduce().Mark();
        foreach (PthTensor t in tensors)
        {
            p.Str(t.Name).Global("torch._utils", "_rebuild_tensor_v2").Mark()
                .Mark().Str("storage").Global("torch", t.StorageType).Str(t.Key).Str("cpu").Int(t.Numel).Tuple().Op((byte)'Q') // BINPERSID
                .Int(t.Offset).Ints(t.Size).Ints(t.Stride).Op(0x89) // NEWFALSE
                .Global("collections", "OrderedDict").EmptyTuple().Reduce()
                .Tuple().Reduce();
        }

        return p.Op((byte)'u').Stop(); // SETITEMS
    }
}

/// <summary>One tensor of a hand-made checkpoint.</summary>
public sealed record PthTensor(string Name, string Key, long Numel, long Offset, long[] Size, long[] Stride, string StorageType = "FloatStorage");

/// <summary>Writes torch.save zip files: <c>archive/data.pkl</c>, <c>archive/data/KEY</c>, <c>archive/version</c>, stored (torch does not compress).</summary>
public static class PthBuilder
{
    public static byte[] Zip(byte[] pickle, IEnumerable<(string Key, byte[] Bytes)> storages, string prefix = "archive/", CompressionLevel level = CompressionLevel.NoCompression)
    {
        using var ms = new MemoryStream();
        using (var zip = new ZipArchive(ms, ZipArchiveMode.Create, leaveOpen: true))
        {
            Add(zip, prefix + "data.pkl", pickle, level);
            foreach (var (key, bytes) in storages)
            {
                Add(zip, prefix + "data/" + key, bytes, level);
            }

            Add(zip, prefix + "version", Encoding.ASCII.GetBytes("3\n"), level);
        }

        return ms.ToArray();
    }

    public static void Add(ZipArchive zip, string name, byte[] bytes, CompressionLevel level = CompressionLevel.NoCompression)
    {
        ZipArchiveEntry e = zip.CreateEntry(name, level);
        using Stream s = e.Open();
        s.Write(bytes);
    }

    /// <summary>Row-major (contiguous) strides, in elements, of a tensor of <paramref name="size"/>.</summary>
    public static long[] ContiguousStrides(long[] size)
    {
        long[] stride = new long[size.Length];
        long s = 1;
        for (int d = size.Length - 1; d >= 0; d--)
        {
            stride[d] = s;
            s *= size[d];
        }

        return stride;
    }

    /// <summary>A fused tiny MobileOne state dict as a torch.save file: one storage per tensor, contiguous, F32 or F16.</summary>
    public static byte[] StateDictFile(IEnumerable<(string Name, int[] Shape, float[] Values)> tensors, bool half = false)
    {
        var list = tensors.ToList();
        var entries = new List<PthTensor>();
        var storages = new List<(string, byte[])>();
        for (int i = 0; i < list.Count; i++)
        {
            var (name, shape, values) = list[i];
            long[] size = shape.Select(d => (long)d).ToArray();
            long[] stride = ContiguousStrides(size);

            string key = i.ToString(System.Globalization.CultureInfo.InvariantCulture);
            entries.Add(new PthTensor(name, key, values.Length, 0, size, stride, half ? "HalfStorage" : "FloatStorage"));
            storages.Add((key, MobileOne.TestSupport.SafetensorsWriter.Encode(values, half ? "F16" : "F32")));
        }

        return Zip(Pickle.StateDict(entries), storages);
    }
}
