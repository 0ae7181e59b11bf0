using System;
using System.Collections.Generic;
using System.IO;
using System.Reflection.Metadata;
using System.Reflection.PortableExecutable;
using Microsoft.Build.Framework;
using MobileOne.Runtime;

namespace MobileOne.Tasks;

/// <summary>
/// After the compiler has written the assembly: moves the packed data of each embedded packed weight blob within the
/// blob's slack so that it lies on a 64-byte boundary of the image (<see cref="PackedWeightFile.AlignInPlace"/>), where
/// <c>Load</c> then uses it without a copy. Manifest resources are only 8-byte aligned and their place is known only
/// once the assembly is written, hence a step after compiling. Idempotent: an aligned blob is left as it is.
/// </summary>
public sealed class AlignMobileOneWeights : MobileOneTask
{
    /// <summary>Gets or sets the compiled assembly (obj/), patched in place.</summary>
    [Required]
    public string Assembly { get; set; } = string.Empty;

    /// <summary>Gets or sets the manifest resource names of the packed weight blobs.</summary>
    [Required]
    public ITaskItem[] Resources { get; set; } = Array.Empty<ITaskItem>();

    /// <inheritdoc/>
    public override bool Execute()
    {
        var wanted = new HashSet<string>(StringComparer.Ordinal);
        foreach (ITaskItem item in Resources)
        {
            wanted.Add(item.ItemSpec);
        }

        var found = new List<(string Name, long Position, long Rva, long Length)>();
        using (var stream = new FileStream(Assembly, FileMode.Open, FileAccess.ReadWrite, FileShare.Read))
        {
            using (var pe = new PEReader(stream, PEStreamOptions.LeaveOpen))
            {
                CorHeader? cor = pe.PEHeaders.CorHeader;
                if (cor == null || !pe.HasMetadata || !pe.PEHeaders.TryGetDirectoryOffset(cor.ResourcesDirectory, out int resourcesFileOffset))
                {
                    return true; // no managed resources
                }

                MetadataReader metadata = pe.GetMetadataReader();
                foreach (ManifestResourceHandle handle in metadata.ManifestResources)
                {
                    ManifestResource resource = metadata.GetManifestResource(handle);
                    string name = metadata.GetString(resource.Name);
                    if (!resource.Implementation.IsNil || !wanted.Contains(name))
                    {
                        continue;
                    }

                    // Each embedded resource: a 4-byte length, then the bytes.
                    long at = resourcesFileOffset + resource.Offset;
                    var prefix = new byte[4];
                    stream.Position = at;
                    stream.ReadExactly(prefix);
                    long length = BitConverter.ToUInt32(prefix, 0);
                    found.Add((name, at + 4, cor.ResourcesDirectory.RelativeVirtualAddress + resource.Offset + 4, length));
                }
            }

            foreach (var (name, position, rva, length) in found)
            {
                var head = new byte[8];
                stream.Position = position;
                stream.ReadExactly(head);
                if (!PackedWeightFile.IsPackedWeightFile(head))
                {
                    continue; // embedded as it is (packing turned off or failed): nothing to align
                }

                try
                {
                    bool moved = PackedWeightFile.AlignInPlace(stream, position, rva, length);
                    LogMessage(MessageImportance.Normal, $"MobileOne: {name} {(moved ? "aligned" : "already aligned")} to 64 bytes in {Path.GetFileName(Assembly)}.");
                }
                catch (WeightFileException e)
                {
                    LogWarning("MOPACK002", Assembly, $"MobileOne: {name} was not aligned ({e.Message}); Load copies it once instead.");
                }
            }
        }

        return true;
    }
}
