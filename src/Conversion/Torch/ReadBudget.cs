using System;

namespace MobileOne.Conversion;

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
