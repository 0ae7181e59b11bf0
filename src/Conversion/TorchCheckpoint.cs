using System;
using System.Collections;
using System.Collections.Generic;
using System.IO.Compression;
using System.Linq;

namespace MobileOne.Conversion;

/// <summary>
/// Reads PyTorch <c>torch.save</c> zip files (<c>.pth</c>, <c>.pth.tar</c>, <c>.pt</c>, PyTorch ≥ 1.6): <c>ARCHIVE/data.pkl</c>
/// (a pickle whose tensors point at storages through persistent ids <c>('storage', torch.FloatStorage, key, location,
/// numel)</c>) and <c>ARCHIVE/data/KEY</c> (the storages' raw little-endian bytes). The pickle is first scanned by
/// <see cref="PickleAllowlist"/>, then read by Razorvine.Pickle with our own constructors for the allowed globals.
/// </summary>
/// <remarks>
/// The entry point only composes the steps, each in its own file under <c>Torch/</c>: <see cref="TorchZipReader"/> (entry
/// names, sizes, the pickle entry), <see cref="PickleAllowlist"/> (the opcode scan), <see cref="CheckpointUnpickler"/>
/// (the unpickler and the constructors of <see cref="PickleGlobals"/>), <see cref="TorchStorage"/> (strided storages to
/// tensor values) and <see cref="PickleTreeCheck"/> (the checks of the unpickled tree).
/// </remarks>
public static class TorchCheckpoint
{
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
        (ZipArchive zip, ZipArchiveEntry pkl) = TorchZipReader.Open(file, source);
        using (zip)
        {
            string prefix = pkl.FullName[..^"data.pkl".Length];
            var budget = new ReadBudget(file.LongLength, source);
            byte[] pickle = TorchZipReader.ReadEntry(pkl, source, budget);
            var positions = new Dictionary<string, int>(StringComparer.Ordinal);
            PickleAllowlist.Check(pickle, source, positions);
            object? result = CheckpointUnpickler.Load(pickle, new StorageReader(zip, prefix, source, budget), source);
            PickleTreeCheck.Check(result, source, positions);
            return result;
        }
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
}
