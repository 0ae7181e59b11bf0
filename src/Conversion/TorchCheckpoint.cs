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
    /// <exception cref="ConversionException">Truncated or malformed file, a refused global, or a limit of <see cref="CheckpointLimits"/> exceeded.</exception>
    public static object? ReadObject(byte[] file, string source)
    {
        ArgumentNullException.ThrowIfNull(file);
        CheckpointLimits.CheckFileLength(file.LongLength, source);
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

        using (zip)
        {
            string prefix = pkl.FullName[..^"data.pkl".Length];
            var budget = new ReadBudget(file.LongLength, source);
            byte[] pickle = ReadEntry(pkl, source, budget);
            var positions = new Dictionary<string, int>(StringComparer.Ordinal);
            PickleAllowlist.Check(pickle, source, positions);
            EnsureRegistered();
            var storages = new StorageReader(zip, prefix, source, budget);
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
            catch (Exception e) when (e is PickleException or InvalidCastException or InvalidOperationException or ArgumentException or IndexOutOfRangeException or FormatException or OverflowException or KeyNotFoundException or InvalidDataException or IOException)
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

            CheckTree(result, source, 0, positions, new HashSet<object>(ReferenceEqualityComparer.Instance));
            return result;
        }
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
                    $"{source} is refused: its zip entry '{Printable(name)}' has an unsafe path ({problem}); torch.save never writes such a name. Nothing was extracted or written.");
            }

            if (!names.Add(name))
            {
                throw new ConversionException(ConversionErrorKind.InvalidFormat,
                    $"{source} is refused: it has two zip entries named '{Printable(name)}', so which one is meant is ambiguous.");
            }

            if (pkl == null && (name == "data.pkl" || (name.EndsWith("/data.pkl", StringComparison.Ordinal) && name.Count(c => c == '/') == 1)))
            {
                pkl = e;
            }
        }

        return pkl ?? throw new ConversionException(ConversionErrorKind.InvalidFormat,
            $"{source} is a zip file but not a PyTorch checkpoint: it has no 'ARCHIVE/data.pkl' entry (entries: {string.Join(", ", zip.Entries.Take(5).Select(e => "'" + Printable(e.FullName) + "'"))}).");
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

    /// <summary>A name with control characters escaped, for messages.</summary>
    internal static string Printable(string s)
    {
        var sb = new System.Text.StringBuilder(s.Length);
        foreach (char c in s.Length > 200 ? s[..200] + "…" : s)
        {
            sb.Append(char.IsControl(c) ? $"\\u{(int)c:x4}" : c.ToString());
        }

        return sb.ToString();
    }

    /// <summary>
    /// Reads one entry with a bounded stream: its declared size is checked against <see cref="CheckpointLimits"/> first
    /// (size, compression ratio, total inflated from this file), then at most that many bytes are inflated; an entry that
    /// holds more than it declares is refused, not read on.
    /// </summary>
    internal static byte[] ReadEntry(ZipArchiveEntry entry, string source, ReadBudget budget)
    {
        string name = Printable(entry.FullName);
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

    /// <summary>What one file may cost: bytes inflated from its zip, and elements materialised by its tensors.</summary>
    internal sealed class ReadBudget
    {
        private readonly string _source;
        private long _inflated;
        private long _storageElements;
        private long _viewedElements;

        public ReadBudget(long fileLength, string source)
        {
            FileLength = fileLength;
            _source = source;
        }

        public long FileLength { get; }

        /// <summary>Counts <paramref name="bytes"/> more inflated bytes against the file's total.</summary>
        public void Take(long bytes, string entry)
        {
            _inflated += bytes;
            long limit = Math.Max(CheckpointLimits.CompressionSlackBytes, (long)CheckpointLimits.MaxCompressionRatio * FileLength);
            if (_inflated > limit)
            {
                throw new ConversionException(ConversionErrorKind.InvalidFormat,
                    $"{_source} is refused as a decompression bomb: reading entry '{entry}' brings the bytes inflated from this {FileLength}-byte file to {CheckpointLimits.Bytes(_inflated)}, more than {CheckpointLimits.MaxCompressionRatio} times its size (entries sharing compressed data?). Nothing more was inflated.");
            }
        }

        /// <summary>Counts a storage of <paramref name="elements"/> elements.</summary>
        public void AddStorage(long elements) => _storageElements += elements;

        /// <summary>Counts a tensor of <paramref name="elements"/> elements before it is materialised.</summary>
        public void View(long elements, string what)
        {
            long limit = (CheckpointLimits.MaxViewsPerStorageElement * _storageElements) + CheckpointLimits.ViewSlackElements;
            if (elements > limit - _viewedElements)
            {
                throw new ConversionException(ConversionErrorKind.InvalidFormat,
                    $"{_source} is refused: {what} would bring the tensors' elements to {_viewedElements + elements}, more than {CheckpointLimits.MaxViewsPerStorageElement} times the {_storageElements} elements of the storages they view (plus {CheckpointLimits.ViewSlackElements}); a state dict does not view its storages that often.");
            }

            _viewedElements += elements;
        }
    }

    /// <summary>Defence in depth: the tree may only hold our own types, primitives and plain containers.</summary>
    private static void CheckTree(object? o, string source, int depth, Dictionary<string, int> positions, HashSet<object> visited)
    {
        if (depth > CheckpointLimits.MaxNesting)
        {
            throw new ConversionException(ConversionErrorKind.InvalidFormat, $"The pickle in {source} nests deeper than {CheckpointLimits.MaxNesting} levels.");
        }

        // A container reached twice (shared by memo, or holding itself) is checked once: the walk stays linear in the
        // pickle's size even for a tree that shares each level twice (2^depth paths).
        if (o is Hashtable or object[] or ArrayList or HashSet<object> && !visited.Add(o))
        {
            return;
        }

        switch (o)
        {
            case null or string or bool or int or long or double or BigInteger or byte[] or Tensor or TorchStorage:
                return;
            case Hashtable h:
                if (h is OrderedHashtable ordered)
                {
                    ordered.OrderByFirstAppearance(positions);
                }

                foreach (DictionaryEntry e in h)
                {
                    CheckTree(e.Key, source, depth + 1, positions, visited);
                    CheckTree(e.Value, source, depth + 1, positions, visited);
                }

                return;
            case object[] a:
                foreach (object x in a)
                {
                    CheckTree(x, source, depth + 1, positions, visited);
                }

                return;
            case ArrayList l:
                foreach (object x in l)
                {
                    CheckTree(x, source, depth + 1, positions, visited);
                }

                return;
            case HashSet<object> s:
                foreach (object x in s)
                {
                    CheckTree(x, source, depth + 1, positions, visited);
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
        public IReadOnlyList<object> OrderedKeys => _sorted ?? _order;

        private List<object>? _sorted;

        /// <summary>Orders the keys, once the dict is complete, by where each string key first appears in the pickle.</summary>
        public void OrderByFirstAppearance(Dictionary<string, int> positions) =>
            _sorted = _order.Select((k, i) => (k, i)).OrderBy(p => p.k is string s && positions.TryGetValue(s, out int at) ? at : int.MaxValue).ThenBy(p => p.i).Select(p => p.k).ToList();

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

        private readonly ReadBudget _budget;

        public StorageReader(ZipArchive zip, string prefix, string source, ReadBudget budget)
        {
            _zip = zip;
            _prefix = prefix;
            _source = source;
            _budget = budget;
        }

        public TorchStorage Get(string key, string dtype, long numel)
        {
            if (_cache.TryGetValue(key, out TorchStorage? s))
            {
                return s;
            }

            string name = _prefix + "data/" + key;
            if (numel < 0)
            {
                throw new ConversionException(ConversionErrorKind.InvalidFormat, $"Storage '{Printable(name)}' of {_source} has a negative element count {numel}.");
            }

            // Every entry name was checked when the zip was opened, so a key such as '../x' matches no entry.
            ZipArchiveEntry entry = _zip.GetEntry(name)
                ?? throw new ConversionException(ConversionErrorKind.Truncated, $"{_source} has no storage entry '{Printable(name)}' that its pickle refers to (truncated or incomplete file?).");
            int elementSize = DTypes.Size(dtype);

            // Checked against the entry's declared size before it is read: a numel of 10^12 allocates nothing.
            long need = numel > CheckpointLimits.MaxEntryBytes ? long.MaxValue : numel * elementSize;
            if (entry.Length < need)
            {
                throw new ConversionException(ConversionErrorKind.Truncated, $"Storage '{Printable(name)}' of {_source} has {entry.Length} bytes but holds {numel} {dtype} elements ({(need == long.MaxValue ? "more than " + CheckpointLimits.MaxEntryBytes : need.ToString(System.Globalization.CultureInfo.InvariantCulture))} bytes) (truncated file?).");
            }

            byte[] bytes = ReadEntry(entry, _source, _budget);
            if (bytes.LongLength < need)
            {
                throw new ConversionException(ConversionErrorKind.Truncated, $"Storage '{Printable(name)}' of {_source} has {bytes.LongLength} bytes but holds {numel} {dtype} elements ({need} bytes) (truncated file?).");
            }

            _budget.AddStorage(numel);
            s = new TorchStorage(key, dtype, numel, bytes, _source, _budget);
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
    private readonly TorchCheckpoint.ReadBudget _budget;

    public TorchStorage(string key, string dtype, long numel, byte[] bytes, string source, TorchCheckpoint.ReadBudget budget)
    {
        Key = key;
        DType = dtype;
        Numel = numel;
        _bytes = bytes;
        _source = source;
        _budget = budget;
    }

    public string Key { get; }

    public string DType { get; }

    public long Numel { get; }

    /// <summary>A strided view as a dense row-major tensor.</summary>
    /// <exception cref="ConversionException">The view reaches outside the storage, or would hold too many elements.</exception>
    public Tensor View(long offset, int[] size, int[] stride)
    {
        string key = TorchCheckpoint.Printable(Key);
        if (size.Length != stride.Length)
        {
            throw new ConversionException(ConversionErrorKind.InvalidFormat, $"A tensor on storage {key} of {_source} has {size.Length} sizes but {stride.Length} strides.");
        }

        if (size.Length > CheckpointLimits.MaxRank)
        {
            throw new ConversionException(ConversionErrorKind.InvalidFormat, $"A tensor on storage {key} of {_source} has {size.Length} dimensions, more than the {CheckpointLimits.MaxRank} accepted.");
        }

        // Element count, capped so that it cannot overflow (8 dimensions of 2^31 - 1 would).
        long count = 1;
        foreach (int d in size)
        {
            count = d == 0 || count == 0 ? 0 : count > long.MaxValue / d ? long.MaxValue : count * d;
        }

        if (count > int.MaxValue)
        {
            throw new ConversionException(ConversionErrorKind.InvalidFormat, $"A tensor of shape {Tensor.FormatShape(size)} on storage {key} of {_source} is too large ({count} elements).");
        }

        if (count > 0)
        {
            // The last element reached; sizes and strides are non-negative and each step is below 2^62, so checking
            // against Numel after every step keeps the sum from overflowing.
            long last = offset;
            bool inside = offset >= 0 && offset < Numel;
            for (int i = 0; i < size.Length && inside; i++)
            {
                last += (long)(size[i] - 1) * stride[i];
                inside = last < Numel;
            }

            if (!inside)
            {
                throw new ConversionException(ConversionErrorKind.InvalidFormat, $"A tensor of shape {Tensor.FormatShape(size)} at offset {offset} with strides {Tensor.FormatShape(stride)} reaches outside storage {key} of {_source}, which has {Numel} elements.");
            }
        }

        _budget.View(count, $"a tensor of shape {Tensor.FormatShape(size)} on storage {key}");
        if (count == 0)
        {
            return new Tensor(string.Empty, DType, size, Array.Empty<float>());
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

                values[n] = DTypes.WidenOne(_bytes.AsSpan((int)(at * elem), elem), DType);
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
