using System;
using System.Collections;
using System.Collections.Generic;
using System.IO;
using System.IO.Compression;
using System.Linq;
using System.Text;
using MobileOne.Conversion;
using Razorvine.Pickle;
using Xunit;

namespace MobileOne.Conversion.Tests;

/// <summary>
/// The globals the opcode scan lets through (<see cref="PickleAllowlist.Allowed"/>) and the constructors the unpickler
/// resolves them to (Razorvine's process-wide registry, as <see cref="CheckpointUnpickler"/> leaves it) are the same set:
/// a global allowed without a constructor falls through to Razorvine's ClassDict fallback, and a constructor registered
/// without being allowed is dead code that the next allowlist edit may expose unreviewed.
/// </summary>
public class PickleTableTests
{
    /// <summary>
    /// What Razorvine.Pickle 1.5.0 registers by itself (data-only constructors). A pickle reaches one of these only if the
    /// allowlist names it; the others stay refused by the scan. A Razorvine upgrade that changes this list fails
    /// <see cref="EveryRegisteredConstructorIsAllowedOrRazorvinesOwn"/> on purpose: review what it adds.
    /// </summary>
    private static readonly string[] RazorvineDefaults =
    {
        "__builtin__.complex", "builtins.complex", "array.array", "array._array_reconstructor", "__builtin__.bytearray", "builtins.bytearray",
        "__builtin__.bytes", "__builtin__.set", "builtins.set", "datetime.datetime", "datetime.time", "datetime.date", "datetime.timedelta",
        "decimal.Decimal", "_codecs.encode",
    };

    [Fact]
    public void EveryAllowedGlobalHasARegisteredConstructor()
    {
        Dictionary<string, IObjectConstructor> registry = CheckpointUnpickler.RegisteredConstructors();
        string[] missing = PickleAllowlist.Allowed.Where(g => !registry.ContainsKey(g)).OrderBy(g => g, StringComparer.Ordinal).ToArray();
        Assert.True(missing.Length == 0, $"Allowed by the scan but without a registered constructor: {string.Join(", ", missing)}");
    }

    [Fact]
    public void EveryRegisteredConstructorIsAllowedOrRazorvinesOwn()
    {
        Dictionary<string, IObjectConstructor> registry = CheckpointUnpickler.RegisteredConstructors();
        string[] ours = registry.Where(kv => kv.Value is AllowedConstructor).Select(kv => kv.Key).ToArray();
        string[] notAllowed = ours.Where(g => !PickleAllowlist.Allowed.Contains(g)).OrderBy(g => g, StringComparer.Ordinal).ToArray();
        Assert.True(notAllowed.Length == 0, $"Registered with our own constructor but refused by the scan: {string.Join(", ", notAllowed)}");
        string[] unknown = registry.Keys.Where(g => !PickleAllowlist.Allowed.Contains(g) && !RazorvineDefaults.Contains(g)).OrderBy(g => g, StringComparer.Ordinal).ToArray();
        Assert.True(unknown.Length == 0, $"Registered, neither allowed nor one of Razorvine's own: {string.Join(", ", unknown)}");
    }

    [Fact]
    public void TheScanLetsThroughExactlyTheAllowedRegisteredGlobals()
    {
        // Through the scan's own code path (GLOBAL module\nname\n), not just its set: every registered global is let
        // through if and only if it is allowed, and each allowed global is reported by name.
        foreach (string global in CheckpointUnpickler.RegisteredConstructors().Keys.Concat(PickleAllowlist.Allowed).Distinct())
        {
            int dot = global.LastIndexOf('.');
            byte[] pickle = Encoding.UTF8.GetBytes($"c{global[..dot]}\n{global[(dot + 1)..]}\n.");
            if (PickleAllowlist.Allowed.Contains(global))
            {
                Assert.Equal(new[] { global }, PickleAllowlist.Check(pickle, global));
            }
            else
            {
                var e = Assert.Throws<ConversionException>(() => PickleAllowlist.Check(pickle, global));
                Assert.Equal(ConversionErrorKind.UnsafePickle, e.Kind);
            }
        }
    }

    [Fact]
    public void ThePublicListsArePartsOfOneTable()
    {
        string[] table = PickleGlobals.Table.Select(g => g.FullName).ToArray();
        Assert.Equal(table.Length, table.Distinct(StringComparer.Ordinal).Count());
        Assert.Equal(table.OrderBy(g => g, StringComparer.Ordinal), PickleAllowlist.Allowed.OrderBy(g => g, StringComparer.Ordinal));
        string[] parts = PickleAllowlist.Containers.Concat(PickleAllowlist.RebuildFunctions).Concat(PickleAllowlist.StorageTypes.Keys.Select(s => "torch." + s)).ToArray();
        Assert.Equal(table.OrderBy(g => g, StringComparer.Ordinal), parts.OrderBy(g => g, StringComparer.Ordinal));
        Dictionary<string, IObjectConstructor> registry = CheckpointUnpickler.RegisteredConstructors();
        Assert.All(PickleGlobals.Table, g => Assert.Same(g.Constructor, registry[g.FullName]));
    }

    [Fact]
    public void ProtocolTwoContainersAreReadAsPlainData()
    {
        // CPython 3: pickle.dumps(OrderedDict(s=frozenset([1, 2]), t={3}, b=b'ab', ba=bytearray(b'cd')), protocol=2), the
        // protocol torch.save writes: each container is a REDUCE of an allowed global (__builtin__.frozenset / set /
        // bytearray, _codecs.encode).
        byte[] pickle =
        {
            128, 2, 99, 99, 111, 108, 108, 101, 99, 116, 105, 111, 110, 115, 10, 79, 114, 100, 101, 114, 101, 100, 68, 105, 99, 116, 10, 113, 0, 41, 82, 113,
            1, 40, 88, 1, 0, 0, 0, 115, 113, 2, 99, 95, 95, 98, 117, 105, 108, 116, 105, 110, 95, 95, 10, 102, 114, 111, 122, 101, 110, 115, 101, 116, 10,
            113, 3, 93, 113, 4, 40, 75, 1, 75, 2, 101, 133, 113, 5, 82, 113, 6, 88, 1, 0, 0, 0, 116, 113, 7, 99, 95, 95, 98, 117, 105, 108, 116, 105, 110,
            95, 95, 10, 115, 101, 116, 10, 113, 8, 93, 113, 9, 75, 3, 97, 133, 113, 10, 82, 113, 11, 88, 1, 0, 0, 0, 98, 113, 12, 99, 95, 99, 111, 100, 101,
            99, 115, 10, 101, 110, 99, 111, 100, 101, 10, 113, 13, 88, 2, 0, 0, 0, 97, 98, 113, 14, 88, 6, 0, 0, 0, 108, 97, 116, 105, 110, 49, 113, 15,
            134, 113, 16, 82, 113, 17, 88, 2, 0, 0, 0, 98, 97, 113, 18, 99, 95, 95, 98, 117, 105, 108, 116, 105, 110, 95, 95, 10, 98, 121, 116, 101, 97,
            114, 114, 97, 121, 10, 113, 19, 104, 13, 88, 2, 0, 0, 0, 99, 100, 113, 20, 104, 15, 134, 113, 21, 82, 113, 22, 133, 113, 23, 82, 113, 24, 117,
            46,
        };
        var d = Assert.IsAssignableFrom<Hashtable>(TorchCheckpoint.ReadObject(Zip(pickle), "containers.pth"));
        Assert.Equal(new object[] { 1, 2 }, Assert.IsType<HashSet<object>>(d["s"]).OrderBy(x => (int)x));
        Assert.Equal(new object[] { 3 }, Assert.IsType<HashSet<object>>(d["t"]));
        Assert.Equal("ab"u8.ToArray(), Assert.IsType<byte[]>(d["b"]));
        Assert.Equal("cd"u8.ToArray(), Assert.IsType<byte[]>(d["ba"]));
    }

    /// <summary>A torch.save-shaped zip holding only <c>archive/data.pkl</c>.</summary>
    private static byte[] Zip(byte[] pickle)
    {
        var ms = new MemoryStream();
        using (var zip = new ZipArchive(ms, ZipArchiveMode.Create, leaveOpen: true))
        {
            using Stream s = zip.CreateEntry("archive/data.pkl", CompressionLevel.NoCompression).Open();
            s.Write(pickle);
        }

        return ms.ToArray();
    }
}
