using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;

namespace MobileOne.TestSupport;

/// <summary>Runs the dotnet CLI and built programs for the tests that walk a user's path (packages, tools, AOT).</summary>
public static class ProcessRunner
{
    /// <summary>The folder holding MobileOne.Generator.sln, found above the test assembly.</summary>
    public static string RepositoryRoot()
    {
        string? dir = AppContext.BaseDirectory;
        while (dir != null && !File.Exists(Path.Combine(dir, "MobileOne.Generator.sln")))
        {
            dir = Path.GetDirectoryName(dir);
        }

        return dir ?? throw new InvalidOperationException("MobileOne.Generator.sln not found above " + AppContext.BaseDirectory);
    }

    /// <summary>
    /// <c>dotnet ARGS</c>; build, publish and pack run without node reuse or a shared compiler server, so nothing
    /// outlives the test.
    /// </summary>
    public static (int ExitCode, string Output) Dotnet(string workingDirectory, params string[] args)
    {
        var list = new List<string>(args);
        if (args[0] is "build" or "publish" or "pack")
        {
            list.AddRange(new[] { "-nodeReuse:false", "-p:UseSharedCompilation=false", "-clp:NoSummary" });
        }

        return Run("dotnet", workingDirectory, list.ToArray());
    }

    /// <summary>Runs <paramref name="fileName"/> and returns its exit code and its standard output then error; kills it after 8 minutes.</summary>
    public static (int ExitCode, string Output) Run(string fileName, string workingDirectory, params string[] args)
    {
        var start = new ProcessStartInfo(fileName) { WorkingDirectory = workingDirectory, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (string a in args)
        {
            start.ArgumentList.Add(a);
        }

        start.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        start.Environment["DOTNET_NOLOGO"] = "1";
        start.Environment["DOTNET_SKIP_FIRST_TIME_EXPERIENCE"] = "1";
        using Process p = Process.Start(start)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(TimeSpan.FromMinutes(8)))
        {
            p.Kill(entireProcessTree: true);
            throw new TimeoutException(fileName + " " + string.Join(' ', args) + " did not finish in 8 minutes");
        }

        return (p.ExitCode, stdout.Result + stderr.Result);
    }
}
