using System;
using System.Collections.Generic;
using System.IO.Compression;

namespace MobileOne.Conversion;

/// <summary>
/// The storages a checkpoint's pickle points at (<c>ARCHIVE/data/KEY</c>): each is read once, after its element count is
/// checked against the entry's declared size.
/// </summary>
internal sealed class StorageReader
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
            throw new ConversionException(ConversionErrorKind.InvalidFormat, $"Storage '{TorchCheckpoint.Printable(name)}' of {_source} has a negative element count {numel}.");
        }

        // Every entry name was checked when the zip was opened, so a key such as '../x' matches no entry.
        ZipArchiveEntry entry = _zip.GetEntry(name)
            ?? throw new ConversionException(ConversionErrorKind.Truncated, $"{_source} has no storage entry '{TorchCheckpoint.Printable(name)}' that its pickle refers to (truncated or incomplete file?).");
        int elementSize = DTypes.Size(dtype);

        // Checked against the entry's declared size before it is read: a numel of 10^12 allocates nothing.
        long need = numel > CheckpointLimits.MaxEntryBytes ? long.MaxValue : numel * elementSize;
        if (entry.Length < need)
        {
            throw new ConversionException(ConversionErrorKind.Truncated, $"Storage '{TorchCheckpoint.Printable(name)}' of {_source} has {entry.Length} bytes but holds {numel} {dtype} elements ({(need == long.MaxValue ? "more than " + CheckpointLimits.MaxEntryBytes : need.ToString(System.Globalization.CultureInfo.InvariantCulture))} bytes) (truncated file?).");
        }

        byte[] bytes = TorchZipReader.ReadEntry(entry, _source, _budget);
        if (bytes.LongLength < need)
        {
            throw new ConversionException(ConversionErrorKind.Truncated, $"Storage '{TorchCheckpoint.Printable(name)}' of {_source} has {bytes.LongLength} bytes but holds {numel} {dtype} elements ({need} bytes) (truncated file?).");
        }

        _budget.AddStorage(numel);
        s = new TorchStorage(key, dtype, numel, bytes, _source, _budget);
        _cache[key] = s;
        return s;
    }
}

/// <summary>One storage of a torch.save zip: raw little-endian elements.</summary>
internal sealed class TorchStorage
{
    private readonly byte[] _bytes;
    private readonly string _source;
    private readonly ReadBudget _budget;

    public TorchStorage(string key, string dtype, long numel, byte[] bytes, string source, ReadBudget budget)
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
