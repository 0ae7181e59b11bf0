using System;

namespace MobileOne.Runtime;

/// <summary>
/// A pinned float array whose usable region starts on a 64-byte boundary (one cache line, one
/// <c>Vector512</c>). Used for packed weights, activations and per-thread scratch. The memory lives on the
/// pinned object heap, so <see cref="Pointer"/> stays valid for the buffer's lifetime; keep a reference to the
/// buffer while the pointer is in use.
/// </summary>
public sealed unsafe class AlignedFloatBuffer
{
    /// <summary>Alignment of <see cref="Pointer"/> in bytes.</summary>
    public const int AlignmentBytes = 64;

    private const int SlackFloats = AlignmentBytes / sizeof(float);

    private readonly float[]? _array;
    private readonly int _offset;

    /// <summary>What keeps external memory alive (the assembly whose image holds it); null for an array.</summary>
    private readonly object? _owner;

    /// <summary>Allocates <paramref name="length"/> zeroed floats aligned to 64 bytes.</summary>
    /// <param name="length">Number of usable floats (may be 0).</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="length"/> is negative or too large.</exception>
    public AlignedFloatBuffer(int length)
        : this(length, zeroed: true)
    {
    }

    /// <summary>Allocates <paramref name="length"/> floats aligned to 64 bytes, zeroed or not.</summary>
    /// <param name="length">Number of usable floats (may be 0).</param>
    /// <param name="zeroed">False when every float will be written before it is read (saves touching the pages twice).</param>
    internal AlignedFloatBuffer(int length, bool zeroed)
    {
        if (length < 0 || length > int.MaxValue - SlackFloats)
        {
            throw new ArgumentOutOfRangeException(nameof(length), length, "Length must be between 0 and int.MaxValue - 16.");
        }

        _array = zeroed
            ? GC.AllocateArray<float>(length + SlackFloats, pinned: true)
            : GC.AllocateUninitializedArray<float>(length + SlackFloats, pinned: true);
        fixed (float* p = _array)
        {
            nuint address = (nuint)p;
            nuint misalignment = address % AlignmentBytes;
            _offset = misalignment == 0 ? 0 : (int)((AlignmentBytes - misalignment) / sizeof(float));
            Pointer = p + _offset;
        }

        Length = length;
    }

    /// <summary>
    /// Wraps memory that is already 64-byte aligned and lives as long as <paramref name="owner"/>: weights packed at build
    /// time, where they lie in the assembly's image (no copy; the memory may be read-only: only the kernels read it) or in
    /// the native block they were copied to once.
    /// </summary>
    /// <param name="pointer">The first float, 64-byte aligned.</param>
    /// <param name="length">Number of floats.</param>
    /// <param name="owner">What keeps the memory alive (the assembly).</param>
    internal AlignedFloatBuffer(float* pointer, int length, object owner)
    {
        if ((nuint)pointer % AlignmentBytes != 0)
        {
            throw new ArgumentException("The memory must be 64-byte aligned.", nameof(pointer));
        }

        Pointer = pointer;
        Length = length;
        _owner = owner ?? throw new ArgumentNullException(nameof(owner));
    }

    /// <summary>Gets what keeps mapped memory alive, or null for an array.</summary>
    internal object? Owner => _owner;

    /// <summary>Gets the 64-byte-aligned address of the first usable float.</summary>
    public float* Pointer { get; }

    /// <summary>Gets the number of usable floats.</summary>
    public int Length { get; }

    /// <summary>Gets the usable floats as a span (starts at <see cref="Pointer"/>).</summary>
    public Span<float> Span => _array != null ? _array.AsSpan(_offset, Length) : new Span<float>(Pointer, Length);
}
