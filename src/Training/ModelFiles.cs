using System;
using System.Collections.Generic;
using System.Linq;
using MobileOne.Conversion;

namespace MobileOne.Training;

/// <summary>
/// Train-time and fused weight files. The train-time file is Apple's unfused state dict (docs/mobileone.md, "Tensor names") in safetensors;
/// the fusion is MobileOne.Conversion's <see cref="Reparameterizer"/> — the code <c>mobileone fuse</c> runs — and the
/// fused file carries the architecture JSON (input size, mean/std, labels) in <c>__metadata__["mobileone.architecture"]</c>.
/// </summary>
public static class ModelFiles
{
    /// <summary>Writes the train-time state dict (conv weights, BN γ/β/running statistics, SE, linear) as F32 safetensors.</summary>
    public static void SaveTrainTime(MobileOneNet net, string path, IReadOnlyList<float>? mean = null, IReadOnlyList<float>? std = null, IReadOnlyList<string>? labels = null)
    {
        ArgumentNullException.ThrowIfNull(net);
        var metadata = new Dictionary<string, string>
        {
            ["format"] = "pt",
            [FusedNetwork.ArchitectureMetadataKey] = net.Architecture.ToArchitectureJson(mean, std, labels),
            ["mobileone.num_conv_branches"] = net.Architecture.ConvBranches.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["mobileone.producer"] = "MobileOne.Training",
        };
        SafetensorsFile.Write(path, net.StateTensors().Select(t => (t.Name, t.Shape, t.Values)), "F32", metadata);
    }

    /// <summary>Reads a train-time file written by <see cref="SaveTrainTime"/> into a new net of <paramref name="architecture"/>.</summary>
    public static MobileOneNet LoadTrainTime(string path, TrainingArchitecture architecture)
    {
        StateDict state = Checkpoint.Load(path);
        var net = new MobileOneNet(architecture);
        net.LoadState(state.Tensors.ToDictionary(t => t.Name, t => t.Values, StringComparer.Ordinal));
        return net;
    }

    /// <summary>Fuses a train-time file with MobileOne.Conversion (BN folding in double, docs/mobileone.md, "Fusion").</summary>
    public static FusedNetwork Fuse(string trainTimePath, TrainingArchitecture architecture)
    {
        ArgumentNullException.ThrowIfNull(architecture);
        MobileOneCheckpoint checkpoint = MobileOneCheckpoint.Analyze(Checkpoint.Load(trainTimePath), architecture.InputHeight, architecture.InputWidth);
        if (checkpoint.Form != CheckpointForm.TrainTime)
        {
            throw new ArgumentException($"{trainTimePath} is not a train-time checkpoint.", nameof(trainTimePath));
        }

        return Reparameterizer.Fuse(checkpoint, BatchNorm.DefaultEps);
    }

    /// <summary>Writes a fused network as F32 safetensors with the architecture JSON (plus normalisation and labels) in its metadata.</summary>
    public static void SaveFused(FusedNetwork fused, TrainingArchitecture architecture, string path, IReadOnlyList<float>? mean = null, IReadOnlyList<float>? std = null, IReadOnlyList<string>? labels = null)
    {
        ArgumentNullException.ThrowIfNull(fused);
        ArgumentNullException.ThrowIfNull(architecture);
        var metadata = new Dictionary<string, string>(fused.Metadata("MobileOne.Training via MobileOne.Conversion.Reparameterizer"))
        {
            [FusedNetwork.ArchitectureMetadataKey] = architecture.ToArchitectureJson(mean, std, labels),
        };
        SafetensorsFile.Write(path, fused.Tensors(), "F32", metadata);
    }
}
