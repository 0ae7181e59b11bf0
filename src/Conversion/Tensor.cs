using System;
using System.Collections.Generic;
using System.Linq;

namespace MobileOne.Conversion;

/// <summary>One tensor of a checkpoint, widened to float, row-major.</summary>
public sealed class Tensor
{
    /// <summary>Creates a tensor; <paramref name="values"/> must hold the product of <paramref name="shape"/> elements.</summary>
    public Tensor(string name, string dtype, int[] shape, float[] values)
    {
        ArgumentNullException.ThrowIfNull(name);
        ArgumentNullException.ThrowIfNull(dtype);
        ArgumentNullException.ThrowIfNull(shape);
        ArgumentNullException.ThrowIfNull(values);
        long n = ElementCountOf(shape);
        if (n != values.Length)
        {
            throw new ArgumentException($"Tensor '{name}' of shape {FormatShape(shape)} needs {n} values, not {values.Length}.", nameof(values));
        }

        Name = name;
        DType = dtype;
        Shape = shape;
        Values = values;
    }

    /// <summary>The name in the file (after removing a <c>module.</c> prefix).</summary>
    public string Name { get; }

    /// <summary>The stored dtype, in safetensors spelling (F32, F16, BF16, F64, I64, …).</summary>
    public string DType { get; }

    /// <summary>The shape.</summary>
    public int[] Shape { get; }

    /// <summary>The values, widened to float.</summary>
    public float[] Values { get; }

    /// <summary>Number of elements.</summary>
    public long ElementCount => Values.LongLength;

    /// <summary>The shape as <c>[a, b, c]</c>.</summary>
    public string ShapeText => FormatShape(Shape);

    /// <summary>A copy with another name.</summary>
    public Tensor WithName(string name) => new(name, DType, Shape, Values);

    /// <summary>Product of the dimensions.</summary>
    public static long ElementCountOf(IReadOnlyList<int> shape)
    {
        ArgumentNullException.ThrowIfNull(shape);
        long n = 1;
        foreach (int d in shape)
        {
            n *= d;
        }

        return n;
    }

    /// <summary><c>[a, b, c]</c>, as the generator and runtime print shapes.</summary>
    public static string FormatShape(IReadOnlyList<int> shape)
    {
        ArgumentNullException.ThrowIfNull(shape);
        return MobileOne.Model.TensorShape.Format(shape);
    }

    /// <inheritdoc/>
    public override string ToString() => $"{Name} {DType} {ShapeText}";
}

/// <summary>The tensors of a checkpoint in file order, and where they came from.</summary>
public sealed class StateDict
{
    private readonly List<Tensor> _tensors;
    private readonly Dictionary<string, Tensor> _byName;

    /// <summary>Creates a state dict; names must be unique.</summary>
    public StateDict(IEnumerable<Tensor> tensors, string source, string container, IReadOnlyDictionary<string, string>? metadata = null)
    {
        ArgumentNullException.ThrowIfNull(tensors);
        _tensors = tensors.ToList();
        _byName = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        foreach (Tensor t in _tensors)
        {
            if (!_byName.TryAdd(t.Name, t))
            {
                throw new ConversionException(ConversionErrorKind.InvalidFormat, $"{source} holds two tensors named '{t.Name}'.");
            }
        }

        Source = source;
        Container = container;
        Metadata = metadata ?? new Dictionary<string, string>();
    }

    /// <summary>The tensors in file order.</summary>
    public IReadOnlyList<Tensor> Tensors => _tensors;

    /// <summary>The file name, for messages.</summary>
    public string Source { get; }

    /// <summary>"safetensors" or "PyTorch zip (torch.save)".</summary>
    public string Container { get; }

    /// <summary>safetensors <c>__metadata__</c> (empty for other containers).</summary>
    public IReadOnlyDictionary<string, string> Metadata { get; }

    /// <summary>The key of the dict that wrapped the state dict (<c>state_dict</c>, <c>model</c>), or null.</summary>
    public string? WrapperKey { get; init; }

    /// <summary>Whether a DataParallel <c>module.</c> prefix was removed from the keys.</summary>
    public bool RemovedModulePrefix { get; init; }

    /// <summary>Entries of the state dict that were not tensors and were skipped.</summary>
    public int SkippedNonTensors { get; init; }

    /// <summary>Number of tensors.</summary>
    public int Count => _tensors.Count;

    /// <summary>The tensor named <paramref name="name"/>, or null.</summary>
    public Tensor? Find(string name) => _byName.TryGetValue(name, out Tensor? t) ? t : null;
}
