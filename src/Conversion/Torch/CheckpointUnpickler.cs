using System;
using System.Collections;
using System.Collections.Generic;
using System.IO;
using System.Numerics;
using Razorvine.Pickle;

namespace MobileOne.Conversion;

/// <summary>
/// Razorvine's unpickler with the constructors of <see cref="PickleGlobals"/> for the allowed globals, and persistent ids
/// resolved to storages of the zip. It only ever runs on a pickle that
/// <see cref="PickleAllowlist.Check(ReadOnlySpan{byte}, string)"/> passed. Our own constructors follow it in this file.
/// </summary>
internal sealed class CheckpointUnpickler : Unpickler
{
    private static readonly object RegisterLock = new();
    private static bool _registered;

    private readonly StorageReader _storages;

    private CheckpointUnpickler(StorageReader storages) => _storages = storages;

    /// <summary>Unpickles <paramref name="pickle"/>, whose storages <paramref name="storages"/> reads.</summary>
    /// <exception cref="ConversionException">The unpickler or one of our constructors failed.</exception>
    public static object? Load(byte[] pickle, StorageReader storages, string source)
    {
        EnsureRegistered();
        object? result;
        try
        {
            using var unpickler = new CheckpointUnpickler(storages);
            result = unpickler.loads(pickle);
        }
        catch (ConversionException)
        {
            throw;
        }
        catch (Exception e) when (e is PickleException or InvalidCastException or InvalidOperationException or ArgumentException or IndexOutOfRangeException or FormatException or OverflowException or KeyNotFoundException or InvalidDataException or IOException)
        {
            if (e.InnerException is ConversionException ce)
            {
                throw new ConversionException(ce.Kind, ce.Message, ce);
            }

            throw new ConversionException(ConversionErrorKind.InvalidFormat, $"The pickle in {source} could not be read: {e.Message}", e);
        }
        catch (System.Reflection.TargetInvocationException e) when (e.InnerException is ConversionException ce)
        {
            throw new ConversionException(ce.Kind, ce.Message, ce);
        }

        return result;
    }

    /// <summary>
    /// A copy of Razorvine's process-wide registry (<c>module.name</c> → constructor) once ours are registered: what a
    /// GLOBAL in a pickle actually resolves to. For the test that it agrees with <see cref="PickleAllowlist.Allowed"/>.
    /// </summary>
    internal static Dictionary<string, IObjectConstructor> RegisteredConstructors()
    {
        EnsureRegistered();
        lock (RegisterLock)
        {
            return new Dictionary<string, IObjectConstructor>(objectConstructors, StringComparer.Ordinal);
        }
    }

    protected override object persistentLoad(object pid)
    {
        if (pid is not object[] { Length: >= 5 } t || t[0] is not string tag || tag != "storage" || t[1] is not StorageTypeConstructor type || t[2] is not string key)
        {
            throw new ConversionException(ConversionErrorKind.InvalidFormat, "The pickle has a persistent id that is not ('storage', torch.XStorage, key, location, numel).");
        }

        return _storages.Get(key, type.DType, ToLong(t[4]));
    }

    private static void EnsureRegistered()
    {
        lock (RegisterLock)
        {
            if (_registered)
            {
                return;
            }

            // Razorvine's registry is process-wide; these keys are only ever resolved after PickleAllowlist.Check passed,
            // which lets through exactly the globals of the same table.
            foreach (PickleGlobal g in PickleGlobals.Table)
            {
                Unpickler.registerConstructor(g.Module, g.Name, g.Constructor);
            }

            _registered = true;
        }
    }

    internal static long ToLong(object o) => o switch
    {
        int i => i,
        long l => l,
        BigInteger b when b >= long.MinValue && b <= long.MaxValue => (long)b,
        _ => throw new ConversionException(ConversionErrorKind.InvalidFormat, $"Expected an integer in a tensor's description, found {o?.GetType().Name ?? "None"}."),
    };

    internal static int[] Ints(object o)
    {
        if (o is not object[] a)
        {
            throw new ConversionException(ConversionErrorKind.InvalidFormat, "A tensor's size or stride is not a tuple.");
        }

        var r = new int[a.Length];
        for (int i = 0; i < a.Length; i++)
        {
            long v = ToLong(a[i]);
            if (v < 0 || v > int.MaxValue)
            {
                throw new ConversionException(ConversionErrorKind.InvalidFormat, $"A tensor has an invalid size or stride {v}.");
            }

            r[i] = (int)v;
        }

        return r;
    }
}

/// <summary>Marker for constructors we registered ourselves.</summary>
internal abstract class AllowedConstructor : IObjectConstructor
{
    public abstract object construct(object[] args);
}

/// <summary><c>collections.OrderedDict</c> → a Hashtable that remembers insertion order.</summary>
internal sealed class OrderedDictConstructor : AllowedConstructor
{
    public override object construct(object[] args)
    {
        var d = new TorchCheckpoint.OrderedHashtable();
        if (args.Length == 1 && args[0] is ArrayList items)
        {
            foreach (object item in items)
            {
                if (item is object[] { Length: 2 } kv)
                {
                    d[kv[0]] = kv[1];
                }
            }
        }

        return d;
    }
}

/// <summary>A storage type such as <c>torch.FloatStorage</c>; only ever appears inside a persistent id.</summary>
internal sealed class StorageTypeConstructor : AllowedConstructor
{
    public StorageTypeConstructor(string name, string dtype)
    {
        Name = name;
        DType = dtype;
    }

    public string Name { get; }

    public string DType { get; }

    public override object construct(object[] args) =>
        throw new ConversionException(ConversionErrorKind.InvalidFormat, $"The pickle calls torch.{Name}(...) directly; torch.save never does that.");
}

/// <summary><c>_rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad, backward_hooks[, metadata])</c>.</summary>
internal sealed class RebuildTensorConstructor : AllowedConstructor
{
    public override object construct(object[] args)
    {
        if (args.Length < 4 || args[0] is not TorchStorage storage)
        {
            throw new ConversionException(ConversionErrorKind.InvalidFormat, "A tensor in the pickle is not rebuilt from a storage (unexpected _rebuild_tensor arguments).");
        }

        long offset = CheckpointUnpickler.ToLong(args[1]);
        int[] size = CheckpointUnpickler.Ints(args[2]);
        int[] stride = CheckpointUnpickler.Ints(args[3]);
        return storage.View(offset, size, stride);
    }
}

/// <summary><c>_rebuild_parameter(data, requires_grad, backward_hooks)</c>: the parameter is its data.</summary>
internal sealed class RebuildParameterConstructor : AllowedConstructor
{
    public override object construct(object[] args) =>
        args.Length >= 1 && args[0] is Tensor t
            ? t
            : throw new ConversionException(ConversionErrorKind.InvalidFormat, "A parameter in the pickle does not wrap a tensor.");
}
