using System;
using System.Buffers.Binary;
using System.Collections.Generic;
using System.Linq;
using System.Text;

namespace MobileOne.Conversion;

/// <summary>
/// The globals a checkpoint's pickle may name, and a scan of the opcode stream that finds every global it names before
/// anything is unpickled. A pickle can only run code through a global (GLOBAL, STACK_GLOBAL, INST, EXT*): refusing all
/// but these means loading a checkpoint never executes code from it. The allowed globals are never called either: each
/// maps to our own constructor that builds plain data. The globals and their constructors are one table,
/// <see cref="PickleGlobals"/>: the lists here are views of it, and it is what the unpickler registers.
/// </summary>
public static class PickleAllowlist
{
    /// <summary>torch storage type → safetensors dtype.</summary>
    public static IReadOnlyDictionary<string, string> StorageTypes { get; } = PickleGlobals.Table
        .Where(g => g.Kind == PickleGlobalKind.StorageType)
        .Select(g => (StorageTypeConstructor)g.Constructor)
        .ToDictionary(c => c.Name, c => c.DType, StringComparer.Ordinal);

    /// <summary>The tensor-rebuild functions (read, never called).</summary>
    public static IReadOnlyList<string> RebuildFunctions { get; } = Names(PickleGlobalKind.RebuildFunction);

    /// <summary>Plain containers.</summary>
    public static IReadOnlyList<string> Containers { get; } = Names(PickleGlobalKind.Container);

    /// <summary>Every allowed <c>module.name</c>.</summary>
    public static IReadOnlySet<string> Allowed { get; } = BuildAllowed();

    /// <summary>
    /// Walks the opcodes of <paramref name="pickle"/> and throws <see cref="ConversionException"/> (kind
    /// <see cref="ConversionErrorKind.UnsafePickle"/>) naming the first global outside the allowlist. Returns the globals seen.
    /// </summary>
    public static IReadOnlyList<string> Check(ReadOnlySpan<byte> pickle, string source) => Check(pickle, source, null);

    /// <summary>As <see cref="Check(ReadOnlySpan{byte}, string)"/>; also records where each string literal first appears.</summary>
    internal static IReadOnlyList<string> Check(ReadOnlySpan<byte> pickle, string source, Dictionary<string, int>? stringPositions)
    {
        var seen = new List<string>();
        var memo = new Dictionary<long, string?>();
        string? last = null, beforeLast = null; // the last two values pushed, when they are literal strings
        int pos = 0;
        while (true)
        {
            if (pos >= pickle.Length)
            {
                throw new ConversionException(ConversionErrorKind.Truncated, $"The pickle in {source} ends before its STOP opcode (truncated file?).");
            }

            byte op = pickle[pos++];
            string? pushed = null;
            bool pushesValue = true;
            switch (op)
            {
                case (byte)'.': // STOP
                    return seen;
                case (byte)'c': // GLOBAL module\nname\n
                case (byte)'i': // INST module\nname\n
                {
                    string module = Line(pickle, ref pos, source), name = Line(pickle, ref pos, source);
                    Require(module, name, seen, source);
                    break;
                }

                case 0x93: // STACK_GLOBAL
                    if (beforeLast == null || last == null)
                    {
                        throw new ConversionException(ConversionErrorKind.UnsafePickle,
                            $"{source} is refused: its pickle builds a global name at run time (STACK_GLOBAL without literal strings), so the name cannot be checked. Nothing was executed.");
                    }

                    Require(beforeLast, last, seen, source);
                    break;
                case 0x82:
                case 0x83:
                case 0x84: // EXT1/2/4: globals from the copyreg extension registry
                    throw new ConversionException(ConversionErrorKind.UnsafePickle,
                        $"{source} is refused: its pickle names a global through the copyreg extension registry (EXT opcode), which is not allowed. Nothing was executed.");
                case (byte)'S': // STRING 'text'\n
                {
                    string s = Line(pickle, ref pos, source);
                    pushed = s.Length >= 2 ? s[1..^1] : s;
                    break;
                }

                case (byte)'V': // UNICODE text\n
                    pushed = Line(pickle, ref pos, source);
                    break;
                case (byte)'X': // BINUNICODE
                case (byte)'T': // BINSTRING
                    pushed = Utf8(pickle, ref pos, Length(pickle, ref pos, 4, source), source);
                    break;
                case 0x8c: // SHORT_BINUNICODE
                case (byte)'U': // SHORT_BINSTRING
                    pushed = Utf8(pickle, ref pos, Length(pickle, ref pos, 1, source), source);
                    break;
                case 0x8d: // BINUNICODE8
                    pushed = Utf8(pickle, ref pos, Length(pickle, ref pos, 8, source), source);
                    break;
                case (byte)'B': // BINBYTES
                    Skip(pickle, ref pos, Length(pickle, ref pos, 4, source), source);
                    break;
                case (byte)'C': // SHORT_BINBYTES
                case 0x8a: // LONG1
                    Skip(pickle, ref pos, Length(pickle, ref pos, 1, source), source);
                    break;
                case 0x8b: // LONG4
                    Skip(pickle, ref pos, Length(pickle, ref pos, 4, source), source);
                    break;
                case 0x8e: // BINBYTES8
                case 0x96: // BYTEARRAY8
                    Skip(pickle, ref pos, Length(pickle, ref pos, 8, source), source);
                    break;
                case (byte)'F': // FLOAT
                case (byte)'I': // INT
                case (byte)'L': // LONG
                case (byte)'P': // PERSID
                    Line(pickle, ref pos, source);
                    break;
                case (byte)'J': // BININT
                    Skip(pickle, ref pos, 4, source);
                    break;
                case (byte)'K': // BININT1
                    Skip(pickle, ref pos, 1, source);
                    break;
                case (byte)'M': // BININT2
                    Skip(pickle, ref pos, 2, source);
                    break;
                case (byte)'G': // BINFLOAT
                    Skip(pickle, ref pos, 8, source);
                    break;
                case 0x80: // PROTO
                    Skip(pickle, ref pos, 1, source);
                    pushesValue = false;
                    break;
                case 0x95: // FRAME
                    Skip(pickle, ref pos, 8, source);
                    pushesValue = false;
                    break;
                case (byte)'g': // GET
                    pushed = Lookup(memo, long.TryParse(Line(pickle, ref pos, source), out long g) ? g : -1);
                    break;
                case (byte)'h': // BINGET
                    pushed = Lookup(memo, Length(pickle, ref pos, 1, source));
                    break;
                case (byte)'j': // LONG_BINGET
                    pushed = Lookup(memo, Length(pickle, ref pos, 4, source));
                    break;
                case (byte)'p': // PUT
                    memo[long.TryParse(Line(pickle, ref pos, source), out long p) ? p : -1] = last;
                    pushesValue = false;
                    break;
                case (byte)'q': // BINPUT
                    memo[Length(pickle, ref pos, 1, source)] = last;
                    pushesValue = false;
                    break;
                case (byte)'r': // LONG_BINPUT
                    memo[Length(pickle, ref pos, 4, source)] = last;
                    pushesValue = false;
                    break;
                case 0x94: // MEMOIZE
                    memo[memo.Count] = last;
                    pushesValue = false;
                    break;
                case (byte)'(': case (byte)'0': case (byte)'1': case (byte)'2': case (byte)'N': case (byte)'Q': case (byte)'R':
                case (byte)'a': case (byte)'b': case (byte)'d': case (byte)'}': case (byte)'e': case (byte)'l': case (byte)']':
                case (byte)'o': case (byte)'s': case (byte)'t': case (byte)')': case (byte)'u': case 0x81: case 0x85: case 0x86:
                case 0x87: case 0x88: case 0x89: case 0x8f: case 0x90: case 0x91: case 0x92: case 0x97: case 0x98:
                    break;
                default:
                    throw new ConversionException(ConversionErrorKind.InvalidFormat, $"The pickle in {source} has an unknown opcode 0x{op:x2} at byte {pos - 1}.");
            }

            if (pushed != null && stringPositions != null)
            {
                stringPositions.TryAdd(pushed, pos);
            }

            if (pushesValue)
            {
                beforeLast = last;
                last = pushed;
            }
        }
    }

    private static string[] Names(PickleGlobalKind kind) => PickleGlobals.Table.Where(g => g.Kind == kind).Select(g => g.FullName).ToArray();

    private static HashSet<string> BuildAllowed() => new(PickleGlobals.Table.Select(g => g.FullName), StringComparer.Ordinal);

    private static void Require(string module, string name, List<string> seen, string source)
    {
        string full = module + "." + name;
        if (!Allowed.Contains(full))
        {
            string hint = module is "os" or "posix" or "nt" or "subprocess" or "builtins" or "__builtin__" or "sys" or "shutil" or "socket" or "runpy" or "importlib"
                ? " This is what a malicious checkpoint looks like."
                : module.StartsWith("torch", StringComparison.Ordinal) || module.StartsWith("numpy", StringComparison.Ordinal) || module == "argparse"
                    ? " Save only the state dict (torch.save(model.state_dict(), path)) or convert it to safetensors in Python."
                    : " It looks like a pickled Python object (a whole model or a training-script class): save only the state dict (torch.save(model.state_dict(), path)).";
            throw new ConversionException(ConversionErrorKind.UnsafePickle,
                $"{source} is refused: its pickle references the global '{TorchCheckpoint.Printable(full)}', which is not on the allowlist (collections.OrderedDict, torch._utils._rebuild_tensor_v2 / _rebuild_parameter, torch.*Storage, plain containers). Nothing was executed.{hint}");
        }

        if (!seen.Contains(full))
        {
            seen.Add(full);
        }
    }

    private static string? Lookup(Dictionary<long, string?> memo, long key) => memo.TryGetValue(key, out string? s) ? s : null;

    private static string Line(ReadOnlySpan<byte> p, ref int pos, string source)
    {
        int end = p.Slice(pos).IndexOf((byte)'\n');
        if (end < 0)
        {
            throw new ConversionException(ConversionErrorKind.Truncated, $"The pickle in {source} ends inside an opcode (truncated file?).");
        }

        string s = Encoding.UTF8.GetString(p.Slice(pos, end)).TrimEnd('\r');
        pos += end + 1;
        return s;
    }

    private static long Length(ReadOnlySpan<byte> p, ref int pos, int bytes, string source)
    {
        if (pos + bytes > p.Length)
        {
            throw new ConversionException(ConversionErrorKind.Truncated, $"The pickle in {source} ends inside an opcode (truncated file?).");
        }

        long v = bytes switch
        {
            1 => p[pos],
            4 => BinaryPrimitives.ReadUInt32LittleEndian(p.Slice(pos)),
            _ => BinaryPrimitives.ReadInt64LittleEndian(p.Slice(pos)),
        };
        pos += bytes;
        return v;
    }

    private static void Skip(ReadOnlySpan<byte> p, ref int pos, long count, string source)
    {
        if (count < 0 || pos + count > p.Length)
        {
            throw new ConversionException(ConversionErrorKind.Truncated, $"The pickle in {source} ends inside an opcode (truncated file?).");
        }

        pos += (int)count;
    }

    private static string Utf8(ReadOnlySpan<byte> p, ref int pos, long count, string source)
    {
        int start = pos;
        Skip(p, ref pos, count, source);
        return Encoding.UTF8.GetString(p.Slice(start, (int)count));
    }
}
