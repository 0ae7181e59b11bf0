using System;
using System.Collections.Generic;
using System.IO;
using System.Text;
using Xunit.Sdk;

namespace MobileOne.Generator.Tests.Infrastructure;

/// <summary>
/// A small Verify-style snapshot check. <c>Matches(actual, "Name")</c> compares <paramref name="actual"/> with
/// <c>Snapshots/Name.verified.cs</c> in the test project's folder (beside SnapshotTests.cs). On a mismatch it writes
/// <c>Name.received.cs</c> beside it and fails with a diff excerpt; with <c>MOBILEONE_ACCEPT_SNAPSHOTS=1</c> it
/// overwrites the verified file instead and passes. Line endings are normalised to \n on both sides.
/// </summary>
public static class SnapshotAssert
{
    public const string AcceptVariable = "MOBILEONE_ACCEPT_SNAPSHOTS";
    private const int Context = 3;
    private const int MaxDiffLines = 60;

    /// <summary>The committed Snapshots folder of this test project.</summary>
    public static string DefaultFolder => Path.Combine(TestProject.Directory, "Snapshots");

    public static void Matches(string actual, string name, string? folder = null)
    {
        folder ??= DefaultFolder;
        string verifiedPath = Path.Combine(folder, name + ".verified.cs");
        string receivedPath = Path.Combine(folder, name + ".received.cs");
        string normalizedActual = Normalize(actual);

        if (Environment.GetEnvironmentVariable(AcceptVariable) == "1")
        {
            Directory.CreateDirectory(folder);
            File.WriteAllText(verifiedPath, normalizedActual, new UTF8Encoding(encoderShouldEmitUTF8Identifier: false));
            DeleteIfExists(receivedPath);
            return;
        }

        string? expected = File.Exists(verifiedPath) ? Normalize(File.ReadAllText(verifiedPath)) : null;
        if (expected == normalizedActual)
        {
            DeleteIfExists(receivedPath);
            return;
        }

        Directory.CreateDirectory(folder);
        File.WriteAllText(receivedPath, normalizedActual, new UTF8Encoding(encoderShouldEmitUTF8Identifier: false));
        string hint = $"Received output written to {receivedPath}. If the change is intended, rename it to {Path.GetFileName(verifiedPath)} or rerun with {AcceptVariable}=1.";
        if (expected == null)
        {
            throw new XunitException($"Snapshot '{name}' has no verified file ({verifiedPath}).{Environment.NewLine}{hint}");
        }

        throw new XunitException($"Snapshot '{name}' differs from {verifiedPath}:{Environment.NewLine}{Diff(expected, normalizedActual)}{hint}");
    }

    public static string Normalize(string text) => text.Replace("\r\n", "\n", StringComparison.Ordinal).Replace('\r', '\n');

    /// <summary>A unified-style line diff (LCS-based, 3 lines of context), cut after <see cref="MaxDiffLines"/> lines.</summary>
    public static string Diff(string expected, string actual)
    {
        string[] a = expected.Split('\n');
        string[] b = actual.Split('\n');
        List<(char Op, string Line, int A, int B)> edits = Edits(a, b);
        var lines = new List<string> { "--- verified", "+++ received" };
        int i = 0;
        while (i < edits.Count)
        {
            if (edits[i].Op == ' ')
            {
                i++;
                continue;
            }

            // A hunk: from Context lines before this change to Context lines after the last change that is
            // at most 2 * Context unchanged lines away from the previous one.
            int start = Math.Max(0, i - Context);
            int end = i;
            int j = i;
            while (j < edits.Count)
            {
                if (edits[j].Op != ' ')
                {
                    end = j;
                    j++;
                    continue;
                }

                int run = j;
                while (run < edits.Count && edits[run].Op == ' ')
                {
                    run++;
                }

                if (run == edits.Count || run - j > 2 * Context)
                {
                    break;
                }

                j = run;
            }

            int stop = Math.Min(edits.Count, end + 1 + Context);
            int aCount = 0, bCount = 0;
            for (int k = start; k < stop; k++)
            {
                aCount += edits[k].Op != '+' ? 1 : 0;
                bCount += edits[k].Op != '-' ? 1 : 0;
            }

            lines.Add($"@@ -{edits[start].A + 1},{aCount} +{edits[start].B + 1},{bCount} @@");
            for (int k = start; k < stop; k++)
            {
                lines.Add(edits[k].Op + edits[k].Line);
            }

            i = stop;
        }

        var sb = new StringBuilder();
        for (int k = 0; k < lines.Count && k < MaxDiffLines; k++)
        {
            sb.Append(lines[k]).Append(Environment.NewLine);
        }

        if (lines.Count > MaxDiffLines)
        {
            sb.Append(System.Globalization.CultureInfo.InvariantCulture, $"... ({lines.Count - MaxDiffLines} more diff lines)").Append(Environment.NewLine);
        }

        return sb.ToString();
    }

    /// <summary>Line edits turning <paramref name="a"/> into <paramref name="b"/>, with each line's index in a and b.</summary>
    private static List<(char Op, string Line, int A, int B)> Edits(string[] a, string[] b)
    {
        int prefix = 0;
        while (prefix < a.Length && prefix < b.Length && a[prefix] == b[prefix])
        {
            prefix++;
        }

        int suffix = 0;
        while (suffix < a.Length - prefix && suffix < b.Length - prefix && a[a.Length - 1 - suffix] == b[b.Length - 1 - suffix])
        {
            suffix++;
        }

        int n = a.Length - prefix - suffix, m = b.Length - prefix - suffix;
        var edits = new List<(char, string, int, int)>(a.Length + b.Length);
        for (int k = 0; k < prefix; k++)
        {
            edits.Add((' ', a[k], k, k));
        }

        if ((long)n * m > 16_000_000)
        {
            // Too large for the table: show the whole middle as removed, then added.
            for (int k = 0; k < n; k++)
            {
                edits.Add(('-', a[prefix + k], prefix + k, prefix));
            }

            for (int k = 0; k < m; k++)
            {
                edits.Add(('+', b[prefix + k], prefix + n, prefix + k));
            }
        }
        else
        {
            // lcs[x, y] = length of the longest common subsequence of a[prefix + x..] and b[prefix + y..].
            var lcs = new int[n + 1, m + 1];
            for (int x = n - 1; x >= 0; x--)
            {
                for (int y = m - 1; y >= 0; y--)
                {
                    lcs[x, y] = a[prefix + x] == b[prefix + y] ? lcs[x + 1, y + 1] + 1 : Math.Max(lcs[x + 1, y], lcs[x, y + 1]);
                }
            }

            int p = 0, q = 0;
            while (p < n || q < m)
            {
                if (p < n && q < m && a[prefix + p] == b[prefix + q])
                {
                    edits.Add((' ', a[prefix + p], prefix + p, prefix + q));
                    p++;
                    q++;
                }
                else if (p < n && (q == m || lcs[p + 1, q] >= lcs[p, q + 1]))
                {
                    edits.Add(('-', a[prefix + p], prefix + p, prefix + q));
                    p++;
                }
                else
                {
                    edits.Add(('+', b[prefix + q], prefix + p, prefix + q));
                    q++;
                }
            }
        }

        for (int k = 0; k < suffix; k++)
        {
            edits.Add((' ', a[a.Length - suffix + k], a.Length - suffix + k, b.Length - suffix + k));
        }

        return edits;
    }

    private static void DeleteIfExists(string path)
    {
        if (File.Exists(path))
        {
            File.Delete(path);
        }
    }
}
