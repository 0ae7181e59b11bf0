using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using Xunit;

namespace MobileOne.Server.Tests;

/// <summary>Finds the system Chromium the browser test drives (Playwright downloads no browser here).</summary>
public static class ChromiumLocator
{
    /// <summary>The environment variable that names the Chromium (or Chrome) executable to use.</summary>
    public const string EnvironmentVariable = "MOBILEONE_CHROMIUM";

    /// <summary>Where Debian and Ubuntu install Chromium.</summary>
    public static readonly IReadOnlyList<string> DefaultPaths = ["/usr/bin/chromium", "/usr/bin/chromium-browser"];

    /// <summary>Finds Chromium from <see cref="EnvironmentVariable"/>, else <see cref="DefaultPaths"/>.</summary>
    /// <param name="skipReason">Why the browser test cannot run, when no executable is found.</param>
    /// <returns>The executable, or null.</returns>
    public static string? Find(out string? skipReason) =>
        Find(Environment.GetEnvironmentVariable(EnvironmentVariable), DefaultPaths, out skipReason);

    /// <summary>Finds Chromium: <paramref name="configured"/> when set (it must exist), else the first of <paramref name="candidates"/> that exists.</summary>
    /// <param name="configured">The path from the environment, or null.</param>
    /// <param name="candidates">The paths to try otherwise.</param>
    /// <param name="skipReason">Why the browser test cannot run, when no executable is found.</param>
    /// <returns>The executable, or null.</returns>
    public static string? Find(string? configured, IEnumerable<string> candidates, out string? skipReason)
    {
        const string Install = "install it with `apt-get install -y chromium` (Debian) or point MOBILEONE_CHROMIUM at a Chromium or Chrome executable; .ci/run installs it when it can";
        if (!string.IsNullOrEmpty(configured))
        {
            skipReason = File.Exists(configured) ? null : $"Browser test not run: {EnvironmentVariable}={configured} does not exist; {Install}.";
            return skipReason == null ? configured : null;
        }

        string? found = candidates.FirstOrDefault(File.Exists);
        skipReason = found == null ? $"Browser test not run: no Chromium at {string.Join(" or ", candidates)}; {Install}." : null;
        return found;
    }
}

/// <summary>
/// A fact that drives the system Chromium. Where there is none it is reported as skipped, with how to install
/// it, instead of failing or passing silently (the pattern of the runtime tests' <c>Avx512Fact</c>).
/// </summary>
[AttributeUsage(AttributeTargets.Method, AllowMultiple = false)]
public sealed class ChromiumFactAttribute : FactAttribute
{
    /// <summary>Initializes a new instance of the <see cref="ChromiumFactAttribute"/> class.</summary>
    public ChromiumFactAttribute()
    {
        if (ChromiumLocator.Find(out string? reason) == null)
        {
            Skip = reason;
        }
    }
}
