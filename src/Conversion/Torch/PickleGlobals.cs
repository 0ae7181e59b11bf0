using System.Collections.Generic;
using Razorvine.Pickle;
using Razorvine.Pickle.Objects;

namespace MobileOne.Conversion;

/// <summary>Which public list of <see cref="PickleAllowlist"/> an allowed global belongs to.</summary>
internal enum PickleGlobalKind
{
    /// <summary>A plain container (<see cref="PickleAllowlist.Containers"/>).</summary>
    Container,

    /// <summary>A tensor-rebuild function (<see cref="PickleAllowlist.RebuildFunctions"/>).</summary>
    RebuildFunction,

    /// <summary>A storage type (<see cref="PickleAllowlist.StorageTypes"/>); its constructor is a <see cref="StorageTypeConstructor"/>.</summary>
    StorageType,
}

/// <summary>One global a checkpoint's pickle may name, and the constructor that stands for it when the pickle is read.</summary>
internal sealed record PickleGlobal(string Module, string Name, PickleGlobalKind Kind, IObjectConstructor Constructor)
{
    /// <summary><c>module.name</c>, as the scan reports it and as Razorvine's registry keys it.</summary>
    public string FullName => Module + "." + Name;
}

/// <summary>
/// The one table of allowed globals. <see cref="PickleAllowlist"/> derives what the opcode scan lets through from it, and
/// <see cref="CheckpointUnpickler"/> registers exactly its constructors, so a global is allowed if and only if it has a
/// constructor: add or remove a global here and nowhere else. The Python callables are never called: each global maps to
/// our own constructor that builds plain data, or to one of Razorvine's data-only ones (sets, bytes).
/// </summary>
internal static class PickleGlobals
{
    /// <summary>Every allowed global; within a kind, in the order of the public lists.</summary>
    public static IReadOnlyList<PickleGlobal> Table { get; } = Build();

    private static PickleGlobal[] Build()
    {
        var set = new SetConstructor(); // ArrayList → HashSet<object>; serves frozenset too (Razorvine registers no frozenset)
        var bytes = new ByteArrayConstructor(); // bytearray(...) and _codecs.encode(str, 'latin1'), protocol 2's bytes
        var rebuild = new RebuildTensorConstructor();
        var parameter = new RebuildParameterConstructor();
        var table = new List<PickleGlobal>
        {
            new("collections", "OrderedDict", PickleGlobalKind.Container, new OrderedDictConstructor()),
            new("builtins", "set", PickleGlobalKind.Container, set),
            new("__builtin__", "set", PickleGlobalKind.Container, set),
            new("builtins", "frozenset", PickleGlobalKind.Container, set),
            new("__builtin__", "frozenset", PickleGlobalKind.Container, set),
            new("builtins", "bytearray", PickleGlobalKind.Container, bytes),
            new("__builtin__", "bytearray", PickleGlobalKind.Container, bytes),
            new("_codecs", "encode", PickleGlobalKind.Container, bytes),
            new("torch._utils", "_rebuild_tensor_v2", PickleGlobalKind.RebuildFunction, rebuild),
            new("torch._utils", "_rebuild_tensor", PickleGlobalKind.RebuildFunction, rebuild),
            new("torch._utils", "_rebuild_parameter", PickleGlobalKind.RebuildFunction, parameter),
            new("torch._utils", "_rebuild_parameter_with_state", PickleGlobalKind.RebuildFunction, parameter),
        };

        // torch storage type → safetensors dtype.
        foreach (var (name, dtype) in new[]
        {
            ("FloatStorage", "F32"), ("HalfStorage", "F16"), ("BFloat16Storage", "BF16"), ("DoubleStorage", "F64"), ("LongStorage", "I64"),
            ("IntStorage", "I32"), ("ShortStorage", "I16"), ("CharStorage", "I8"), ("ByteStorage", "U8"), ("BoolStorage", "BOOL"),
        })
        {
            table.Add(new("torch", name, PickleGlobalKind.StorageType, new StorageTypeConstructor(name, dtype)));
        }

        return table.ToArray();
    }
}
