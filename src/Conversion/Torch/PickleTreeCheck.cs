using System.Collections;
using System.Collections.Generic;
using System.Numerics;
using Razorvine.Pickle;

namespace MobileOne.Conversion;

/// <summary>
/// Defence in depth, after unpickling: the tree may only hold our own types, primitives and plain containers (no object
/// of another type, no reference to a global but through our own constructors), nested at most
/// <see cref="CheckpointLimits.MaxNesting"/> levels deep.
/// </summary>
internal static class PickleTreeCheck
{
    /// <summary>
    /// Checks the tree under <paramref name="root"/>; orders the keys of its OrderedDicts by where they first appear in
    /// the pickle (<paramref name="positions"/>, recorded by <see cref="PickleAllowlist"/>) on the way.
    /// </summary>
    /// <exception cref="ConversionException">Nested too deep, or an object or a global that is not on the allowlist.</exception>
    public static void Check(object? root, string source, Dictionary<string, int> positions) =>
        CheckTree(root, source, 0, positions, new HashSet<object>(ReferenceEqualityComparer.Instance));

    /// <summary>Defence in depth: the tree may only hold our own types, primitives and plain containers.</summary>
    private static void CheckTree(object? o, string source, int depth, Dictionary<string, int> positions, HashSet<object> visited)
    {
        if (depth > CheckpointLimits.MaxNesting)
        {
            throw new ConversionException(ConversionErrorKind.InvalidFormat, $"The pickle in {source} nests deeper than {CheckpointLimits.MaxNesting} levels.");
        }

        // A container reached twice (shared by memo, or holding itself) is checked once: the walk stays linear in the
        // pickle's size even for a tree that shares each level twice (2^depth paths).
        if (o is Hashtable or object[] or ArrayList or HashSet<object> && !visited.Add(o))
        {
            return;
        }

        switch (o)
        {
            case null or string or bool or int or long or double or BigInteger or byte[] or Tensor or TorchStorage:
                return;
            case Hashtable h:
                if (h is TorchCheckpoint.OrderedHashtable ordered)
                {
                    ordered.OrderByFirstAppearance(positions);
                }

                foreach (DictionaryEntry e in h)
                {
                    CheckTree(e.Key, source, depth + 1, positions, visited);
                    CheckTree(e.Value, source, depth + 1, positions, visited);
                }

                return;
            case object[] a:
                foreach (object x in a)
                {
                    CheckTree(x, source, depth + 1, positions, visited);
                }

                return;
            case ArrayList l:
                foreach (object x in l)
                {
                    CheckTree(x, source, depth + 1, positions, visited);
                }

                return;
            case HashSet<object> s:
                foreach (object x in s)
                {
                    CheckTree(x, source, depth + 1, positions, visited);
                }

                return;
            case IObjectConstructor c:
                if (c is not AllowedConstructor)
                {
                    throw new ConversionException(ConversionErrorKind.UnsafePickle, $"{source} is refused: its pickle holds a reference to a global that is not on the allowlist ({c.GetType().Name}).");
                }

                return;
            default:
                throw new ConversionException(ConversionErrorKind.UnsafePickle, $"{source} is refused: its pickle builds an object of type {o.GetType().FullName}, which is not on the allowlist.");
        }
    }
}
