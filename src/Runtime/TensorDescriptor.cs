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

    /// <summary>Gets the shape as text, e.g. <c>[64, 3, 3, 3]</c>.</summary>
    public string ShapeText => "[" + string.Join(", ", Shape) + "]";
}
