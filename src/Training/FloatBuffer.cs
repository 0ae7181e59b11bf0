using System;
using System.Runtime.InteropServices;

namespace MobileOne.Training;

/// <summary>A 64-byte-aligned native float buffer that grows on demand (activations, gradients, scratch).</summary>
public sealed unsafe class FloatBuffer : IDisposable
{
    private float* _ptr;

    /// <summary>Creates a buffer of <paramref name="length"/> zeros.</summary>
    public FloatBuffer(long length = 0) => Ensure(length);

    /// <summary>Finalizer: frees the native memory.</summary>
    ~FloatBuffer() => Free();

    /// <summary>Start of the buffer.</summary>
    public float* Ptr => _ptr;

    /// <summary>Capacity in floats.</summary>
    public long Capacity { get; private set; }

    /// <summary>The first <paramref name="length"/> floats as a span.</summary>
    public Span<float> AsSpan(long length) => length <= Capacity ? new Span<float>(_ptr, checked((int)length)) : throw new ArgumentOutOfRangeException(nameof(length));

    /// <summary>Makes room for <paramref name="length"/> floats (contents are zeroed when the buffer grows).</summary>
    public void Ensure(long length)
    {
        if (length <= Capacity)
        {
            return;
        }

        Free();
        nuint bytes = (nuint)(Math.Max(length, 16) * sizeof(float));
        _ptr = (float*)NativeMemory.AlignedAlloc(bytes, 64);
        NativeMemory.Clear(_ptr, bytes);
        Capacity = length;
    }

    /// <summary>Zeroes the first <paramref name="length"/> floats.</summary>
    public void Clear(long length) => NativeMemory.Clear(_ptr, (nuint)(length * sizeof(float)));

    /// <inheritdoc/>
    public void Dispose()
    {
        Free();
        GC.SuppressFinalize(this);
    }

    private void Free()
    {
        if (_ptr != null)
        {
            NativeMemory.AlignedFree(_ptr);
            _ptr = null;
        }

        Capacity = 0;
    }
}
