using System;
using System.Collections;
using System.Collections.Generic;
using System.IO;
using System.IO.Compression;
using System.Linq;
using System.Numerics;
using Razorvine.Pickle;

namespace MobileOne.Conversion;

/// <summary>
/// Reads PyTorch <c>torch.save</c> zip files (<c>.pth</c>, <c>.pth.tar</c>, <c>.pt</c>, PyTorch ≥ 1.6): <c>ARCHIVE/data.pkl</c>
/// (a pickle whose tensors point at storages through persistent ids <c>('storage', torch.FloatStorage, key, location,
/// numel)</c>) and <c>ARCHIVE/data/KEY</c> (the storages' raw little-endian bytes). The pickle is first scanned by
/// <see cref="PickleAllowlist"/>, then read by Razorvine.Pickle with our own constructors for the allowed globals.
/// </summary>
public static class TorchCheckpoint
{
    private static readonly object RegisterLock = new();
    private static bool _registered;

    /// <summary>Whether <paramref name="prefix"/> starts like a zip file.</summary>
    internal static bool LooksLikeZip(ReadOnlySpan<byte> prefix) =>
        prefix.Length >= 4 && prefix[0] == (byte)'P' && prefix[1] == (byte)'K' && prefix[2] == 3 && prefix[3] == 4;

    /// <summary>Whether <paramref name="prefix"/> starts like the pre-1.6 (legacy, non-zip) torch.save format.</summary>
    internal static bool LooksLikeLegacy(ReadOnlySpan<byte> prefix) =>
        prefix.Length >= 3 && prefix[0] == 0x80 && prefix[1] <= 5 && prefix[2] == 0x8a;

    /// <summary>Reads the object tree of a torch.save zip file; tensors come back as <see cref="Tensor"/> (unnamed).</summary>
    /// <exception cref="ConversionException">Truncated or malformed file, or a refused global.</exception>
    public static object? ReadObject(byte[] file, string source)
    {
        ArgumentNullException.ThrowIfNull(file);
        ZipArchive zip;
        try
        {
            zip = new ZipArchive(new MemoryStream(file, writable: false), ZipArchiveMode.Read);
        }
        catch (InvalidDataException e)
        {
            throw new ConversionException(ConversionErrorKind.Truncated, $"{source} starts like a PyTorch zip checkpoint but its zip directory is missing or damaged (truncated file?): {e.Message}", e);
        }

        using (zip)
        {
            ZipArchiveEntry? pkl = zip.Entries.FirstOrDefault(e => e.FullName == "data.pkl" || (e.FullName.EndsWith("/data.pkl", StringComparison.Ordinal) && e.FullName.Count(c => c == '/') == 1));
            if (pkl == null)
            {
                throw new ConversionException(ConversionErrorKind.InvalidFormat, $"{source} is a zip file but not a PyTorch checkpoint: it has no 'ARCHIVE/data.pkl' entry (entries: {string.Join(", ", zip.Entries.Take(5).Select(e => e.FullName))}).");
            }

            string prefix = pkl.FullName[..^"data.pkl".Length];
            byte[] pickle = ReadEntry(pkl, source);
            var positions = new Dictionary<string, int>(StringComparer.Ordinal);
            PickleAllowlist.Check(pickle, source, positions);
            EnsureRegistered();
            var storages = new StorageReader(zip, prefix, source);
            object? result;
            try
            {
                using var unpickler = new CheckpointUnpickler(storages);
                result = unpickler.loads(pickle);
            }
            catch (ConversionException)
            {
                throw;
            }
            catch (Exception e) when (e is PickleException or InvalidCastException or InvalidOperationException or ArgumentException or IndexOutOfRangeException or FormatException or OverflowException)
            {
                if (e.InnerException is ConversionException ce)
                {
                    throw new ConversionException(ce.Kind, ce.Message, ce);
                }

                throw new ConversionException(ConversionErrorKind.InvalidFormat, $"The pickle in {source} could not be read: {e.Message}", e);
            }
            catch (System.Reflection.TargetInvocationException e) when (e.InnerException is ConversionException ce)
            {
                throw new ConversionException(ce.Kind, ce.Message, ce);
            }

            CheckTree(result, source, 0, positions);
            return result;
        }
    }

    internal static byte[] ReadEntry(ZipArchiveEntry entry, string source)
    {
        try
        {
            using Stream s = entry.Open();
            using var ms = new MemoryStream((int)Math.Min(entry.Length, int.MaxValue));
            s.CopyTo(ms);
            if (ms.Length != entry.Length)
            {
                throw new ConversionException(ConversionErrorKind.Truncated, $"Entry '{entry.FullName}' of {source} has {ms.Length} of its {entry.Length} bytes (truncated file?).");
            }

            return ms.ToArray();
        }
        catch (InvalidDataException e)
        {
            throw new ConversionException(ConversionErrorKind.Truncated, $"Entry '{entry.FullName}' of {source} cannot be read (truncated or damaged file?): {e.Message}", e);
        }
    }

    /// <summary>Defence in depth: the tree may only hold our own types, primitives and plain containers.</summary>
    private static void CheckTree(object? o, string source, int depth, Dictionary<string, int> positions)
    {
        if (depth > 100)
        {
            throw new ConversionException(ConversionErrorKind.InvalidFormat, $"The pickle in {source} nests deeper than 100 levels.");
        }

        switch (o)
        {
            case null or string or bool or int or long or double or BigInteger or byte[] or Tensor or TorchStorage:
                return;
            case Hashtable h:
                if (h is OrderedHashtable ordered)
                {
                    ordered.KeyPositions = positions;
                }

                foreach (DictionaryEntry e in h)
                {
                    CheckTree(e.Key, source, depth + 1, positions);
                    CheckTree(e.Value, source, depth + 1, positions);
                }

                return;
            case object[] a:
                foreach (object x in a)
                {
                    CheckTree(x, source, depth + 1, positions);
                }

                return;
            case ArrayList l:
                foreach (object x in l)
                {
                    CheckTree(x, source, depth + 1, positions);
                }

                return;
            case HashSet<object> s:
                foreach (object x in s)
                {
                    CheckTree(x, source, depth + 1, positions);
                }

                return;
            case IObjectConstructor c:
                if (c is not AllowedConstructor)
                {
                    throw new ConversionException(ConversionErrorKind.UnsafePickle, $"{source} is refused: its pickle holds a reference to a global that is not on the allowlist ({c.GetType().Name}).");
                }

                return;
            default:
                throw new ConversionException(ConversionErrorKind.UnsafePickle, $"{source} is refused: its pickle builds an object of type {o.GetType().FullName}, which is not on the allowlist.");
        }
    }

    private static void EnsureRegistered()
    {
        lock (RegisterLock)
        {
            if (_registered)
            {
                return;
            }

            // Razorvine's registry is process-wide; these keys are only ever resolved after PickleAllowlist.Check passed.
            Unpickler.registerConstructor("collections", "OrderedDict", new OrderedDictConstructor());
            var rebuild = new RebuildTensorConstructor();
            Unpickler.registerConstructor("torch._utils", "_rebuild_tensor_v2", rebuild);
            Unpickler.registerConstructor("torch._utils", "_rebuild_tensor", rebuild);
            var parameter = new RebuildParameterConstructor();
            Unpickler.registerConstructor("torch._utils", "_rebuild_parameter", parameter);
            Unpickler.registerConstructor("torch._utils", "_rebuild_parameter_with_state", parameter);
            foreach (var (name, dtype) in PickleAllowlist.StorageTypes)
            {
                Unpickler.registerConstructor("torch", name, new StorageTypeConstructor(name, dtype));
            }

            _registered = true;
        }
    }

    /// <summary>Marker for constructors we registered ourselves.</summary>
    internal abstract class AllowedConstructor : IObjectConstructor
    {
        public abstract object construct(object[] args);
    }

    /// <summary><c>collections.OrderedDict</c> → a Hashtable that remembers insertion order.</summary>
    internal sealed class OrderedDictConstructor : AllowedConstructor
    {
        public override object construct(object[] args)
        {
            var d = new OrderedHashtable();
            if (args.Length == 1 && args[0] is ArrayList items)
            {
                foreach (object item in items)
                {
                    if (item is object[] { Length: 2 } kv)
                    {
                        d[kv[0]] = kv[1];
                    }
                }
            }

            return d;
        }
    }

    /// <summary>A storage type such as <c>torch.FloatStorage</c>; only ever appears inside a persistent id.</summary>
    internal sealed class StorageTypeConstructor : AllowedConstructor
    {
        public StorageTypeConstructor(string name, string dtype)
        {
            Name = name;
            DType = dtype;
        }

        public string Name { get; }

        public string DType { get; }

        public override object construct(object[] args) =>
            throw new ConversionException(ConversionErrorKind.InvalidFormat, $"The pickle calls torch.{Name}(...) directly; torch.save never does that.");
    }

    /// <summary><c>_rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad, backward_hooks[, metadata])</c>.</summary>
    internal sealed class RebuildTensorConstructor : AllowedConstructor
    {
        public override object construct(object[] args)
        {
            if (args.Length < 4 || args[0] is not TorchStorage storage)
            {
                throw new ConversionException(ConversionErrorKind.InvalidFormat, "A tensor in the pickle is not rebuilt from a storage (unexpected _rebuild_tensor arguments).");
            }

            long offset = ToLong(args[1]);
            int[] size = Ints(args[2]);
            int[] stride = Ints(args[3]);
            return storage.View(offset, size, stride);
        }
    }

    /// <summary><c>_rebuild_parameter(data, requires_grad, backward_hooks)</c>: the parameter is its data.</summary>
    internal sealed class RebuildParameterConstructor : AllowedConstructor
    {
        public override object construct(object[] args) =>
            args.Length >= 1 && args[0] is Tensor t
                ? t
                : throw new ConversionException(ConversionErrorKind.InvalidFormat, "A parameter in the pickle does not wrap a tensor.");
    }

    /// <summary>A Hashtable that keeps insertion order (for OrderedDict) and accepts BUILD state (ignored).</summary>
    internal sealed class OrderedHashtable : Hashtable
    {
        private readonly List<object> _order = new();

        /// <summary>
        /// Keys in the order they were written. Razorvine applies each SETITEMS batch back to front, so the insertion order
        /// is not the file's; string keys are ordered by where they first appear in the pickle instead.
        /// </summary>
        public IReadOnlyList<object> OrderedKeys => KeyPositions == null
            ? _order
            : _order.Select((k, i) => (k, i)).OrderBy(p => p.k is string s && KeyPositions.TryGetValue(s, out int at) ? at : int.MaxValue).ThenBy(p => p.i).Select(p => p.k).ToList();

        public Dictionary<string, int>? KeyPositions { get; set; }

        public override object? this[object key]
        {
            get => base[key];
            set
            {
                if (!ContainsKey(key))
                {
                    _order.Add(key);
                }

                base[key] = value;
            }
        }

        public override void Add(object key, object? value)
        {
            base.Add(key, value);
            _order.Add(key);
        }

        // BUILD with the instance __dict__ (a state dict's `_metadata`): plain data, kept out of the tensors.
        public void __setstate__(Hashtable state)
        {
            _ = state;
        }
    }

    internal static long ToLong(object o) => o switch
    {
        int i => i,
        long l => l,
        BigInteger b when b >= long.MinValue && b <= long.MaxValue => (long)b,
        _ => throw new ConversionException(ConversionErrorKind.InvalidFormat, $"Expected an integer in a tensor's description, found {o?.GetType().Name ?? "None"}."),
    };

    private static int[] Ints(object o)
    {
        if (o is not object[] a)
        {
            throw new ConversionException(ConversionErrorKind.InvalidFormat, "A tensor's size or stride is not a tuple.");
        }

        var r = new int[a.Length];
        for (int i = 0; i < a.Length; i++)
        {
            long v = ToLong(a[i]);
            if (v < 0 || v > int.MaxValue)
            {
                throw new ConversionException(ConversionErrorKind.InvalidFormat, $"A tensor has an invalid size or stride {v}.");
            }

            r[i] = (int)v;
        }

        return r;
    }

    private sealed class CheckpointUnpickler : Unpickler
    {
        private readonly StorageReader _storages;

        public CheckpointUnpickler(StorageReader storages) => _storages = storages;

        protected override object persistentLoad(object pid)
        {
            if (pid is not object[] { Length: >= 5 } t || t[0] is not string tag || tag != "storage" || t[1] is not StorageTypeConstructor type || t[2] is not string key)
            {
                throw new ConversionException(ConversionErrorKind.InvalidFormat, "The pickle has a persistent id that is not ('storage', torch.XStorage, key, location, numel).");
            }

            return _storages.Get(key, type.DType, ToLong(t[4]));
        }
    }

    private sealed class StorageReader
    {
        private readonly ZipArchive _zip;
        private readonly string _prefix;
        private readonly string _source;
        private readonly Dictionary<string, TorchStorage> _cache = new(StringComparer.Ordinal);

        public StorageReader(ZipArchive zip, string prefix, string source)
        {
            _zip = zip;
            _prefix = prefix;
            _source = source;
        }

        public TorchStorage Get(string key, string dtype, long numel)
        {
            if (_cache.TryGetValue(key, out TorchStorage? s))
            {
                return s;
            }

            string name = _prefix + "data/" + key;
            ZipArchiveEntry entry = _zip.GetEntry(name)
                ?? throw new ConversionException(ConversionErrorKind.Truncated, $"{_source} has no storage entry '{name}' that its pickle refers to (truncated or incomplete file?).");
            byte[] bytes = ReadEntry(entry, _source);
            long need = numel * DTypes.Size(dtype);
            if (bytes.LongLength < need)
            {
                throw new ConversionException(ConversionErrorKind.Truncated, $"Storage '{name}' of {_source} has {bytes.LongLength} bytes but holds {numel} {dtype} elements ({need} bytes) (truncated file?).");
            }

            s = new TorchStorage(key, dtype, numel, bytes, _source);
            _cache[key] = s;
            return s;
        }
    }
}

/// <summary>One storage of a torch.save zip: raw little-endian elements.</summary>
internal sealed class TorchStorage
{
    private readonly byte[] _bytes;
    private readonly string _source;

    public TorchStorage(string key, string dtype, long numel, byte[] bytes, string source)
    {
        Key = key;
        DType = dtype;
        Numel = numel;
        _bytes = bytes;
        _source = source;
    }

    public string Key { get; }

    public string DType { get; }

    public long Numel { get; }

    /// <summary>A strided view as a dense row-major tensor.</summary>
    public Tensor View(long offset, int[] size, int[] stride)
    {
        if (size.Length != stride.Length)
        {
            throw new ConversionException(ConversionErrorKind.InvalidFormat, $"A tensor on storage {Key} of {_source} has {size.Length} sizes but {stride.Length} strides.");
        }

        long count = Tensor.ElementCountOf(size);
        long last = offset;
        for (int i = 0; i < size.Length; i++)
        {
            last += size[i] == 0 ? 0 : (long)(size[i] - 1) * stride[i];
        }

        if (count > 0 && (offset < 0 || last >= Numel))
        {
            throw new ConversionException(ConversionErrorKind.InvalidFormat, $"A tensor of shape {Tensor.FormatShape(size)} reaches element {last} of storage {Key} of {_source}, which has {Numel}.");
        }

        if (count > int.MaxValue)
        {
            throw new ConversionException(ConversionErrorKind.InvalidFormat, $"A tensor of shape {Tensor.FormatShape(size)} is too large.");
        }

        int elem = DTypes.Size(DType);
        bool contiguous = true;
        long expect = 1;
        for (int i = size.Length - 1; i >= 0; i--)
        {
            if (size[i] != 1 && stride[i] != expect)
            {
                contiguous = false;
            }

            expect *= size[i];
        }

        float[] values;
        if (contiguous)
        {
            values = DTypes.Widen(_bytes.AsSpan((int)(offset * elem), (int)(count * elem)), DType, (int)count);
        }
        else
        {
            values = new float[count];
            var index = new int[size.Length];
            for (long n = 0; n < count; n++)
            {
                long at = offset;
                for (int d = 0; d < size.Length; d++)
                {
                    at += (long)index[d] * stride[d];
                }

                values[n] = DTypes.Widen(_bytes.AsSpan((int)(at * elem), elem), DType, 1)[0];
                for (int d = size.Length - 1; d >= 0; d--)
                {
                    if (++index[d] < size[d])
                    {
                        break;
                    }

                    index[d] = 0;
                }
            }
        }

        return new Tensor(string.Empty, DType, size, values);
    }
}
