using System;
using System.IO;
using Microsoft.Build.Framework;
using MobileOne.Runtime;

namespace MobileOne.Tasks;

/// <summary>
/// Packs each embedded MobileOne weight file (a fused safetensors AdditionalFile) into the layout its generated class
/// streams (<see cref="PackedWeightFile.Pack"/>, the runtime's own packing code), so that the build embeds the packed
/// blob and <c>Load</c> maps it instead of parsing and repacking at every process start. A file that cannot be packed
/// is reported as a warning and embedded as it is (the generator reports why it is not a MobileOne; <c>Load</c> packs
/// an embedded safetensors file at run time as before).
/// </summary>
public sealed class PackMobileOneWeights : MobileOneTask
{
    /// <summary>Gets or sets the weight files; each has <c>PackedPath</c> metadata: where its packed blob goes.</summary>
    [Required]
    public ITaskItem[] Weights { get; set; } = Array.Empty<ITaskItem>();

    /// <inheritdoc/>
    public override bool Execute()
    {
        foreach (ITaskItem item in Weights)
        {
            string source = item.GetMetadata("FullPath");
            string target = item.GetMetadata("PackedPath");
            if (string.IsNullOrEmpty(target))
            {
                LogMessage(MessageImportance.High, $"MobileOne: {source} has no PackedPath metadata; it is embedded unpacked.");
                continue;
            }

            var watch = System.Diagnostics.Stopwatch.StartNew();
            try
            {
                PackedWeightFile.Pack(source, target);
                LogMessage(MessageImportance.Normal, $"MobileOne: packed {Path.GetFileName(source)} into {target} in {watch.ElapsedMilliseconds} ms.");
            }
            catch (Exception e) when (e is WeightFileException or IOException or UnauthorizedAccessException or OverflowException or ArgumentException)
            {
                // The generator validates the same file and reports a compiler diagnostic (MO0001-MO0020) when it is not a
                // MobileOne it can compile; this warning only says why it is not packed at build time. A blob packed from an
                // earlier version of the file must not be embedded in its place.
                File.Delete(target);
                LogWarning("MOPACK001", source, $"MobileOne: {Path.GetFileName(source)} is not packed at build time ({e.Message}); it is embedded as it is and packed by Load at run time.");
            }
        }

        return true;
    }
}
