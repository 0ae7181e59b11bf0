using System;
using System.Collections.Generic;
using System.Linq;

namespace MobileOne.Conversion;

/// <summary>A fused MobileOne: its architecture and its tensors by canonical (Apple) name, in file order.</summary>
public sealed class FusedNetwork
{
    /// <summary>The metadata key the generator reads the architecture JSON from.</summary>
    public const string ArchitectureMetadataKey = "mobileone.architecture";

    private readonly Dictionary<string, float[]> _tensors;

    /// <summary>Creates the network; <paramref name="tensors"/> must hold exactly <see cref="NetworkArchitecture.FusedTensors"/>.</summary>
    public FusedNetwork(NetworkArchitecture architecture, IReadOnlyDictionary<string, float[]> tensors)
    {
        ArgumentNullException.ThrowIfNull(architecture);
        ArgumentNullException.ThrowIfNull(tensors);
        Architecture = architecture;
        _tensors = new Dictionary<string, float[]>(StringComparer.Ordinal);
        Shapes = architecture.FusedTensors();
        foreach (var (name, shape) in Shapes)
        {
            if (!tensors.TryGetValue(name, out float[]? v))
            {
                throw new ArgumentException($"Tensor '{name}' is missing.", nameof(tensors));
            }

            if (v.LongLength != Tensor.ElementCountOf(shape))
            {
                throw new ArgumentException($"Tensor '{name}' has {v.Length} values; shape {Tensor.FormatShape(shape)} needs {Tensor.ElementCountOf(shape)}.", nameof(tensors));
            }

            _tensors[name] = v;
        }

        if (tensors.Count != Shapes.Count)
        {
            string extra = tensors.Keys.First(k => !_tensors.ContainsKey(k));
            throw new ArgumentException($"Tensor '{extra}' is not part of {architecture}.", nameof(tensors));
        }
    }

    /// <summary>The structure.</summary>
    public NetworkArchitecture Architecture { get; }

    /// <summary>Names and shapes in file order.</summary>
    public IReadOnlyList<(string Name, int[] Shape)> Shapes { get; }

    /// <summary>Values of a tensor by canonical name.</summary>
    public float[] this[string name] => _tensors.TryGetValue(name, out float[]? v) ? v : throw new KeyNotFoundException($"No tensor '{name}'.");

    /// <summary>(name in <paramref name="naming"/>, shape, values) in file order.</summary>
    public IEnumerable<(string Name, int[] Shape, float[] Values)> Tensors(NamingConvention naming = NamingConvention.Apple) =>
        Shapes.Select(s => (MobileOneCheckpoint.Rename(s.Name, naming), s.Shape, _tensors[s.Name]));

    /// <summary>The safetensors metadata <c>fuse</c>/<c>convert</c> write: the architecture JSON and a note of the origin.</summary>
    public IReadOnlyDictionary<string, string> Metadata(string producedBy) => new Dictionary<string, string>
    {
        ["format"] = "pt",
        [ArchitectureMetadataKey] = Architecture.ToJson(),
        ["mobileone.producer"] = producedBy,
    };

    /// <summary>Writes the network as safetensors (whole or not at all) with the architecture in <c>__metadata__</c>.</summary>
    public void WriteSafetensors(string path, string dtype = "F32", NamingConvention naming = NamingConvention.Apple, string producedBy = "MobileOne.Conversion")
        => SafetensorsFile.Write(path, Tensors(naming), dtype, Metadata(producedBy));

    /// <summary>Reads a fused network back from a fused checkpoint.</summary>
    public static FusedNetwork FromCheckpoint(MobileOneCheckpoint checkpoint)
    {
        ArgumentNullException.ThrowIfNull(checkpoint);
        if (checkpoint.Form != CheckpointForm.Fused)
        {
            throw new ConversionException(ConversionErrorKind.WrongForm, $"{checkpoint.StateDict.Source} is a train-time checkpoint; fuse it first (mobileone fuse).");
        }

        return Reparameterizer.Fuse(checkpoint);
    }
}
