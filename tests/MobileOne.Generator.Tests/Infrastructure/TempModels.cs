using System;
using System.Collections.Generic;
using System.IO;
using MobileOne.TestSupport;

namespace MobileOne.Generator.Tests.Infrastructure;

/// <summary>Writes model files for one test into a fresh temporary folder, deleted on dispose.</summary>
public sealed class TempModels : IDisposable
{
    public TempModels()
    {
        Directory = System.IO.Directory.CreateTempSubdirectory("mobileone-tests-").FullName;
        System.IO.Directory.CreateDirectory(Directory);
    }

    public string Directory { get; }

    public string PathOf(string fileName) => Path.Combine(Directory, fileName);

    public string WriteWeights(string fileName, MobileOneArchitecture arch, FusedWeights weights, TensorNaming naming = TensorNaming.Apple, string dtype = "F32", IDictionary<string, string>? metadata = null)
    {
        string path = PathOf(fileName);
        SafetensorsWriter.Write(path, weights, arch, naming, dtype, metadata);
        return path;
    }

    public string WriteText(string fileName, string text)
    {
        string path = PathOf(fileName);
        File.WriteAllText(path, text);
        return path;
    }

    public void Dispose()
    {
        try
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
