using System;
using System.Collections;
using System.Collections.Generic;
using System.IO;
using System.Linq;

namespace MobileOne.Conversion;

/// <summary>Opens a checkpoint of any supported container and returns its state dict.</summary>
public static class Checkpoint
{
    /// <summary>Keys of a wrapping dict that hold the state dict, in the order they are tried.</summary>
    public static IReadOnlyList<string> WrapperKeys { get; } = new[] { "state_dict", "model", "model_state_dict", "net" };

    /// <summary>Reads a safetensors or PyTorch zip checkpoint (the format is detected from the content, not the extension).</summary>
    /// <exception cref="ConversionException">The file cannot be read as a checkpoint.</exception>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    public static StateDict Load(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"'{path}' does not exist.", path);
        }

        CheckpointLimits.CheckFileLength(new FileInfo(path).Length, Path.GetFileName(path));
        return Load(File.ReadAllBytes(path), Path.GetFileName(path));
    }

    /// <summary>Reads a checkpoint from its bytes; <paramref name="source"/> names it in messages.</summary>
    public static StateDict Load(byte[] file, string source)
    {
        ArgumentNullException.ThrowIfNull(file);
        ArgumentNullException.ThrowIfNull(source);
        if (file.Length == 0)
        {
            throw new ConversionException(ConversionErrorKind.Truncated, $"{source} is empty.");
        }

        ReadOnlySpan<byte> prefix = file.AsSpan(0, Math.Min(16, file.Length));
        if (TorchCheckpoint.LooksLikeZip(prefix))
        {
            return FromObject(TorchCheckpoint.ReadObject(file, source), source, "PyTorch zip (torch.save)");
        }

        if (TorchCheckpoint.LooksLikeLegacy(prefix))
        {
            throw new ConversionException(ConversionErrorKind.InvalidFormat,
                $"{source} is in the legacy torch.save format of PyTorch < 1.6, which is not read. Re-save it with a newer PyTorch (torch.save(torch.load(path), path2)) or as safetensors.");
        }

        if (SafetensorsFile.LooksLikeSafetensors(prefix, file.LongLength) || file.Length < 16 && file.Length >= 8)
        {
            return SafetensorsFile.Read(file, source);
        }

        throw new ConversionException(ConversionErrorKind.InvalidFormat,
            $"{source} is neither a safetensors file nor a PyTorch zip checkpoint (it starts with bytes {Convert.ToHexString(prefix[..Math.Min(8, prefix.Length)])}).");
    }

    /// <summary>Finds the state dict inside an unpickled object: the dict itself, or a wrapper's <c>state_dict</c>/<c>model</c>.</summary>
    internal static StateDict FromObject(object? root, string source, string container)
    {
        if (root is not Hashtable top)
        {
            throw new ConversionException(ConversionErrorKind.NotMobileOne, $"{source} holds a {Describe(root)}, not a dict of tensors (a state dict).");
        }

        string? wrapper = null;
        Hashtable dict = top;
        if (top.Count > 0 && !Values(top).Any(v => v is Tensor))
        {
            foreach (string key in WrapperKeys)
            {
                if (top[key] is Hashtable inner && Values(inner).Any(v => v is Tensor))
                {
                    wrapper = key;
                    dict = inner;
                    break;
                }
            }

            if (wrapper == null)
            {
                string keys = string.Join(", ", Keys(top).Take(10).Select(k => $"'{k}'"));
                throw new ConversionException(ConversionErrorKind.NotMobileOne,
                    $"{source} holds no tensors: it is a dict with keys {(keys.Length == 0 ? "(none)" : keys)}, and none of {string.Join(", ", WrapperKeys.Select(k => $"'{k}'"))} holds a state dict.");
            }
        }

        var tensors = new List<Tensor>();
        int skipped = 0;
        List<object> keysInOrder = Keys(dict).ToList();
        bool allPrefixed = keysInOrder.Count > 0 && keysInOrder.All(k => k is string s && s.StartsWith("module.", StringComparison.Ordinal));
        foreach (object key in keysInOrder)
        {
            if (key is not string name || dict[key] is not Tensor t)
            {
                skipped++;
                continue;
            }

            if (allPrefixed)
            {
                name = name["module.".Length..];
            }

            tensors.Add(t.WithName(name));
        }

        return new StateDict(tensors, source, container) { WrapperKey = wrapper, RemovedModulePrefix = allPrefixed, SkippedNonTensors = skipped };
    }

    private static IEnumerable<object> Keys(Hashtable h) =>
        h is TorchCheckpoint.OrderedHashtable o ? o.OrderedKeys : h.Keys.Cast<object>().OrderBy(k => k?.ToString(), StringComparer.Ordinal);

    private static IEnumerable<object?> Values(Hashtable h) => Keys(h).Select(k => h[k]);

    private static string Describe(object? o) => o switch
    {
        null => "None",
        Tensor t => $"single tensor {t.ShapeText}",
        ArrayList or object[] => "list",
        _ => o.GetType().Name,
    };
}
