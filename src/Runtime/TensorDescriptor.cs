using System;

namespace MobileOne.Runtime;

/// <summary>
/// A tensor that a generated network reads: its canonical (Apple) name and shape, and, when the generator saw
/// the weight file, its dtype and byte range in the data section (so embedded weights need no header lookup).
/// </summary>
public sealed class TensorDescriptor
{
    /// <summary>Describes a tensor known only by name and shape.</summary>
    /// <param name="name">Apple's state_dict name, e.g. <c>stage1.0.reparam_conv.weight</c>.</param>
    /// <param name="shape">The shape, PyTorch order.</param>
    public TensorDescriptor(string name, int[] shape)
        : this(name, shape, string.Empty, -1, -1)
    {
    }

    /// <summary>Describes a tensor with the dtype and data offsets the generator read at build time.</summary>
    /// <param name="name">Apple's state_dict name.</param>
    /// <param name="shape">The shape, PyTorch order.</param>
    /// <param name="dtype">F32, F16 or BF16.</param>
    /// <param name="begin">First byte, relative to the start of the data section.</param>
    /// <param name="end">One past the last byte.</param>
    public TensorDescriptor(string name, int[] shape, string dtype, long begin, long end)
    {
        Name = name ?? throw new ArgumentNullException(nameof(name));
        Shape = shape ?? throw new ArgumentNullException(nameof(shape));
        DType = dtype ?? string.Empty;
        Begin = begin;
        End = end;
        long count = 1;
        foreach (int d in shape)
        {
            count *= d;
        }

        ElementCount = count;
    }

    /// <summary>Describes a tensor with its dtype and data offsets and where the generated network packs it.</summary>
    /// <param name="name">Apple's state_dict name.</param>
    /// <param name="shape">The shape, PyTorch order.</param>
    /// <param name="dtype">F32, F16 or BF16.</param>
    /// <param name="begin">First byte, relative to the start of the data section.</param>
    /// <param name="end">One past the last byte.</param>
    /// <param name="packing">How the tensor is packed for its kernel.</param>
    /// <param name="packedOffset">First float of the packed tensor in the packed weight buffer.</param>
    /// <param name="packedLength">Floats of the packed tensor.</param>
    public TensorDescriptor(string name, int[] shape, string dtype, long begin, long end, TensorPacking packing, int packedOffset, int packedLength)
        : this(name, shape, dtype, begin, end)
    {
        if (packedOffset < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(packedOffset), packedOffset, "The packed offset must not be negative.");
        }

        if (packedLength < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(packedLength), packedLength, "The packed length must not be negative.");
        }

        Packing = packing;
        PackedOffset = packedOffset;
        PackedLength = packedLength;
    }

    /// <summary>Describes a tensor known by name and shape, and where the generated network packs it.</summary>
    /// <param name="name">Apple's state_dict name.</param>
    /// <param name="shape">The shape, PyTorch order.</param>
    /// <param name="packing">How the tensor is packed for its kernel.</param>
    /// <param name="packedOffset">First float of the packed tensor in the packed weight buffer.</param>
    /// <param name="packedLength">Floats of the packed tensor.</param>
    public TensorDescriptor(string name, int[] shape, TensorPacking packing, int packedOffset, int packedLength)
        : this(name, shape, string.Empty, -1, -1, packing, packedOffset, packedLength)
    {
    }

    /// <summary>Gets Apple's name of the tensor.</summary>
    public string Name { get; }

    /// <summary>Gets the shape, PyTorch order.</summary>
    public int[] Shape { get; }

    /// <summary>Gets the dtype seen at build time, or an empty string.</summary>
    public string DType { get; }

    /// <summary>Gets the first byte in the data section seen at build time, or -1.</summary>
    public long Begin { get; }

    /// <summary>Gets one past the last byte seen at build time, or -1.</summary>
    public long End { get; }

    /// <summary>Gets the number of elements.</summary>
    public long ElementCount { get; }

    /// <summary>Gets how the tensor is packed for its kernel, or <see cref="TensorPacking.None"/>.</summary>
    public TensorPacking Packing { get; }

    /// <summary>Gets the first float of the packed tensor in the packed weight buffer, or -1 when it is not packed.</summary>
    public int PackedOffset { get; } = -1;

    /// <summary>Gets the floats of the packed tensor, or 0 when it is not packed.</summary>
    public int PackedLength { get; }

    /// <summary>For <see cref="TensorPacking.Requantize"/> and <see cref="TensorPacking.Dequantize"/>: the index of the layer's input scale in the network's activation scales (0 = the network input, i + 1 = layer i's output).</summary>
    public int InputScaleIndex { get; init; } = -1;

    /// <summary>For <see cref="TensorPacking.Requantize"/>: the index of the output's activation scale in the network's activation scales.</summary>
    public int OutputScaleIndex { get; init; } = -1;

    /// <summary>Gets the shape as text, e.g. <c>[64, 3, 3, 3]</c>.</summary>
    public string ShapeText => "[" + string.Join(", ", Shape) + "]";
}
