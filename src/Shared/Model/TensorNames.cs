// Apple's and timm's names for the same MobileOne tensors (docs/mobileone.md, "Tensor names"). Everything in this
// repository works on Apple's names ("canonical"); timm's are mapped on the way in, and back on the way out.
using System;
using System.Collections.Generic;
using System.Globalization;

namespace MobileOne.Model;

internal enum TensorNaming
{
    /// <summary>The name is neither Apple's nor timm's for a MobileOne tensor.</summary>
    Unknown,
    Apple,
    Timm,
}

internal static class TensorNames
{
    /// <summary>
    /// Maps a state_dict key to Apple's name and says which convention it used.
    /// <c>stem.</c> → <c>stage0.</c>, <c>stages.N.</c> → <c>stage{N+1}.</c>, <c>attn.fc1/fc2</c> →
    /// <c>se.reduce/expand</c>, <c>head.fc.</c> → <c>linear.</c>, and the train-time branch names
    /// <c>conv_kxk/conv_scale/identity</c> → <c>rbr_conv/rbr_scale/rbr_skip</c>.
    /// </summary>
    public static string ToCanonical(string name, out TensorNaming naming)
    {
        if (name.StartsWith("stage", StringComparison.Ordinal) && !name.StartsWith("stages.", StringComparison.Ordinal))
        {
            naming = TensorNaming.Apple;
            return name;
        }

        if (name.StartsWith("linear.", StringComparison.Ordinal))
        {
            naming = TensorNaming.Apple;
            return name;
        }

        if (name.StartsWith("head.fc.", StringComparison.Ordinal))
        {
            naming = TensorNaming.Timm;
            return "linear." + name.Substring("head.fc.".Length);
        }

        string? rest = null;
        string prefix = string.Empty;
        if (name.StartsWith("stem.", StringComparison.Ordinal))
        {
            prefix = "stage0.";
            rest = name.Substring("stem.".Length);
        }
        else if (name.StartsWith("stages.", StringComparison.Ordinal))
        {
            int dot = name.IndexOf('.', "stages.".Length);
            if (dot > 0 && int.TryParse(name.Substring(7, dot - 7), NumberStyles.None, CultureInfo.InvariantCulture, out int stage) && stage < 1000)
            {
                prefix = "stage" + (stage + 1).ToString(CultureInfo.InvariantCulture) + ".";
                rest = name.Substring(dot + 1);
            }
        }

        if (rest == null)
        {
            naming = TensorNaming.Unknown;
            return name;
        }

        naming = TensorNaming.Timm;
        rest = rest.Replace("attn.fc1.", "se.reduce.")
                   .Replace("attn.fc2.", "se.expand.")
                   .Replace("conv_kxk.", "rbr_conv.")
                   .Replace("conv_scale.", "rbr_scale.")
                   .Replace("identity.", "rbr_skip.");
        return prefix + rest;
    }

    /// <summary>The name a canonical (Apple) key has under <paramref name="naming"/>.</summary>
    public static string FromCanonical(string canonical, TensorNaming naming)
    {
        if (naming != TensorNaming.Timm)
        {
            return canonical;
        }

        if (canonical.StartsWith("linear.", StringComparison.Ordinal))
        {
            return "head.fc." + canonical.Substring("linear.".Length);
        }

        if (canonical.StartsWith("stage0.", StringComparison.Ordinal))
        {
            return "stem." + Rename(canonical.Substring("stage0.".Length));
        }

        int dot = canonical.IndexOf('.');
        if (canonical.StartsWith("stage", StringComparison.Ordinal) && dot > 5
            && int.TryParse(canonical.Substring(5, dot - 5), NumberStyles.None, CultureInfo.InvariantCulture, out int stage))
        {
            return "stages." + (stage - 1).ToString(CultureInfo.InvariantCulture) + "." + Rename(canonical.Substring(dot + 1));
        }

        return canonical;

        static string Rename(string rest) => rest.Replace("se.reduce.", "attn.fc1.")
                                                 .Replace("se.expand.", "attn.fc2.")
                                                 .Replace("rbr_conv.", "conv_kxk.")
                                                 .Replace("rbr_scale.", "conv_scale.")
                                                 .Replace("rbr_skip.", "identity.");
    }
        /// <summary>
    /// Maps every name of a file to Apple's, with the one rule every reader here applies: a file uses Apple's names or
    /// timm's, never both (<see cref="CanonicalNames.Error"/> says so), and no two names may map to the same tensor.
    /// Names that are neither Apple's nor timm's are kept as they are and listed in <see cref="CanonicalNames.Unknown"/>.
    /// </summary>
    public static CanonicalNames Canonicalize(IEnumerable<string> names)
    {
        var result = new CanonicalNames();
        bool apple = false, timm = false;
        string? firstApple = null, firstTimm = null;
        foreach (string name in names)
        {
            string canonical = ToCanonical(name, out TensorNaming n);
            if (n == TensorNaming.Unknown)
            {
                result.Unknown.Add(name);
                continue;
            }

            apple |= n == TensorNaming.Apple;
            timm |= n == TensorNaming.Timm;
            firstApple ??= n == TensorNaming.Apple ? name : null;
            firstTimm ??= n == TensorNaming.Timm ? name : null;
            if (result.ToOriginal.TryGetValue(canonical, out string? other))
            {
                result.Error ??= "two names for tensor '" + canonical + "': '" + other + "' and '" + name + "'";
                result.ErrorTensor ??= name;
                continue;
            }

            result.ToOriginal[canonical] = name;
            result.InOrder.Add(canonical);
        }

        if (apple && timm)
        {
            result.Error ??= "it mixes Apple's tensor names ('" + firstApple + "') with timm's ('" + firstTimm + "')";
            result.ErrorTensor ??= firstTimm;
        }

        result.Naming = timm ? TensorNaming.Timm : TensorNaming.Apple;
        return result;
    }
}

/// <summary>The result of <see cref="TensorNames.Canonicalize"/>.</summary>
internal sealed class CanonicalNames
{
    /// <summary>Apple's name → the name in the file.</summary>
    public Dictionary<string, string> ToOriginal { get; } = new Dictionary<string, string>(StringComparer.Ordinal);

    /// <summary>Apple's names in file order.</summary>
    public List<string> InOrder { get; } = new List<string>();

    /// <summary>Names that are neither Apple's nor timm's.</summary>
    public List<string> Unknown { get; } = new List<string>();

    /// <summary>Timm when any name is timm's, else Apple.</summary>
    public TensorNaming Naming { get; set; }

    /// <summary>Why the names cannot be used (mixed conventions, two names for one tensor), or null.</summary>
    public string? Error { get; set; }

    /// <summary>The name (as in the file) the error is about.</summary>
    public string? ErrorTensor { get; set; }
}
