using System;
using System.Buffers;

namespace MobileOne.Server.Http;

/// <summary>Bytes in an array rented from <see cref="ArrayPool{T}.Shared"/>, returned on dispose.</summary>
public sealed class PooledBuffer : IDisposable
{
    private byte[]? _array;

    /// <summary>Initializes a new instance of the <see cref="PooledBuffer"/> class with an empty rented array.</summary>
    /// <param name="capacity">The least capacity.</param>
    public PooledBuffer(int capacity)
    {
        _array = ArrayPool<byte>.Shared.Rent(Math.Max(capacity, 1));
    }

    /// <summary>Gets the number of bytes held.</summary>
    public int Length { get; private set; }

    /// <summary>Gets the bytes held.</summary>
    public ArraySegment<byte> Bytes => new(Array, 0, Length);

    /// <summary>Gets the free space after the bytes held.</summary>
    public Memory<byte> Free => Array.AsMemory(Length);

    private byte[] Array => _array ?? throw new ObjectDisposedException(nameof(PooledBuffer));

    /// <summary>Counts <paramref name="count"/> bytes written into <see cref="Free"/>.</summary>
    /// <param name="count">The bytes written.</param>
    public void Advance(int count) => Length += count;

    /// <summary>Moves the bytes into a rented array of at least <paramref name="capacity"/> bytes.</summary>
    /// <param name="capacity">The least new capacity.</param>
    public void Grow(int capacity)
    {
        byte[] bigger = ArrayPool<byte>.Shared.Rent(capacity);
        Array.AsSpan(0, Length).CopyTo(bigger);
        ArrayPool<byte>.Shared.Return(Array);
        _array = bigger;
    }

    /// <inheritdoc />
    public void Dispose()
    {
        if (_array != null)
        {
            ArrayPool<byte>.Shared.Return(_array);
            _array = null;
        }
    }
}
