using System;
using System.IO;

namespace MobileOne.Conversion.Tests;

/// <summary>The PyTorch-format fixtures (written by Fixtures/make_fixtures.py with CPython's pickle and zipfile) and temp folders.</summary>
public static class Fixture
{
    public static string Path(string name) => System.IO.Path.Combine(AppContext.BaseDirectory, "Fixtures", name);

    public static byte[] Bytes(string name) => File.ReadAllBytes(Path(name));
}

/// <summary>A fresh temporary folder, deleted on dispose.</summary>
public sealed class TempDir : IDisposable
{
    public TempDir()
    {
        Directory = System.IO.Directory.CreateTempSubdirectory("mobileone-conversion-tests-").FullName;
        System.IO.Directory.CreateDirectory(Directory);
    }

    public string Directory { get; }

    public string this[string name] => System.IO.Path.Combine(Directory, name);

    public string Write(string name, byte[] bytes)
    {
        File.WriteAllBytes(this[name], bytes);
        return this[name];
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
