// Apple's and timm's names for the same MobileOne tensors (MOBILEONE-SPEC.md §3). Everything inside
// MobileOne.Generator works on Apple's names ("canonical"); timm's are mapped on the way in.
using System;
using System.Globalization;

namespace MobileOne.Formats
{
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
    }
}
