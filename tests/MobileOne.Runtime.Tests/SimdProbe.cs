using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Reflection;
using System.Reflection.Emit;
using System.Reflection.Metadata;
using System.Reflection.Metadata.Ecma335;
using System.Reflection.PortableExecutable;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using MobileOne.Runtime;
using Xunit;

namespace MobileOne.Runtime.Tests;

/// <summary>
/// Runs a tiny program in a fresh <c>dotnet</c> process and reports what <see cref="Simd"/> sees there. For what a
/// process decides once at start-up and no load context can redo: the JIT's instruction-set knobs
/// (<c>DOTNET_EnableAVX512</c>). The program is emitted here (<see cref="PersistedAssemblyBuilder"/>), next to a copy of
/// MobileOne.Runtime.dll, so nothing has to be built.
/// </summary>
internal static class SimdProbe
{
    /// <summary>What the child process printed.</summary>
    public sealed record Result(SimdLevel Best, SimdLevel Level, bool Vector512Accelerated, string Output);

    /// <summary>
    /// Runs the probe with the parent's environment, changed by <paramref name="environment"/> (a null value removes
    /// the variable).
    /// </summary>
    public static Result Run(IReadOnlyDictionary<string, string?> environment)
    {
        string dir = Path.Combine(Path.GetTempPath(), "mobileone-simd-probe-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        try
        {
            string program = Path.Combine(dir, "SimdProbe.dll");
            WriteProgram(program);
            File.Copy(typeof(Simd).Assembly.Location, Path.Combine(dir, Path.GetFileName(typeof(Simd).Assembly.Location)));
            Version v = Environment.Version;
            File.WriteAllText(
                Path.Combine(dir, "SimdProbe.runtimeconfig.json"),
                "{ \"runtimeOptions\": { \"tfm\": \"net" + v.Major + "." + v.Minor + "\", \"framework\": { \"name\": \"Microsoft.NETCore.App\", \"version\": \""
                + v.Major + "." + v.Minor + ".0\" } } }");

            var start = new ProcessStartInfo(DotnetHost()) { WorkingDirectory = dir, RedirectStandardOutput = true, RedirectStandardError = true };
            start.ArgumentList.Add("exec");
            start.ArgumentList.Add(program);
            foreach ((string name, string? value) in environment)
            {
                if (value == null)
                {
                    start.Environment.Remove(name);
                }
                else
                {
                    start.Environment[name] = value;
                }
            }

            using Process p = Process.Start(start)!;
            var stdout = p.StandardOutput.ReadToEndAsync();
            var stderr = p.StandardError.ReadToEndAsync();
            if (!p.WaitForExit(TimeSpan.FromMinutes(1)))
            {
                p.Kill(entireProcessTree: true);
                throw new TimeoutException("The SIMD probe did not finish in a minute.");
            }

            string output = stdout.Result + stderr.Result;
            string env = string.Join(", ", environment.Select(e => e.Key + "=" + (e.Value ?? "(unset)")));
            Assert.True(p.ExitCode == 0, $"The SIMD probe ({env}) exited with {p.ExitCode}: {output}");
            Dictionary<string, string> values = output
                .Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
                .Select(line => line.Split('=', 2))
                .Where(kv => kv.Length == 2)
                .ToDictionary(kv => kv[0], kv => kv[1], StringComparer.Ordinal);
            Assert.True(values.ContainsKey("Best") && values.ContainsKey("Level") && values.ContainsKey("Vector512"), $"Unexpected SIMD probe output ({env}): {output}");
            return new Result(
                Enum.Parse<SimdLevel>(values["Best"]),
                Enum.Parse<SimdLevel>(values["Level"]),
                bool.Parse(values["Vector512"]),
                $"child with {env} printed: {output.ReplaceLineEndings(" ").Trim()}");
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    /// <summary>The dotnet host that runs this test process (the SDK sets DOTNET_HOST_PATH for its children).</summary>
    private static string DotnetHost()
    {
        string? host = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH");
        if (!string.IsNullOrEmpty(host) && File.Exists(host))
        {
            return host;
        }

        string? self = Environment.ProcessPath;
        return self != null && Path.GetFileNameWithoutExtension(self) == "dotnet" ? self : "dotnet";
    }

    /// <summary>
    /// Writes <c>static void Main() { Console.WriteLine("Best=" + Simd.Best); Console.WriteLine("Level=" + Simd.Level);
    /// Console.WriteLine("Vector512=" + Vector512.IsHardwareAccelerated); }</c> as an executable assembly.
    /// </summary>
    private static void WriteProgram(string path)
    {
        var assembly = new PersistedAssemblyBuilder(new AssemblyName("SimdProbe"), typeof(object).Assembly);
        TypeBuilder type = assembly.DefineDynamicModule("SimdProbe").DefineType(
            "SimdProbe.Program", TypeAttributes.Public | TypeAttributes.Abstract | TypeAttributes.Sealed | TypeAttributes.Class);
        MethodBuilder main = type.DefineMethod("Main", MethodAttributes.Public | MethodAttributes.Static | MethodAttributes.HideBySig, typeof(void), Type.EmptyTypes);
        ILGenerator il = main.GetILGenerator();
        MethodInfo concat = typeof(string).GetMethod(nameof(string.Concat), new[] { typeof(object), typeof(object) })!;
        MethodInfo writeLine = typeof(Console).GetMethod(nameof(Console.WriteLine), new[] { typeof(string) })!;
        (string Label, MethodInfo Getter, Type Boxed)[] lines =
        {
            ("Best=", typeof(Simd).GetProperty(nameof(Simd.Best))!.GetMethod!, typeof(SimdLevel)),
            ("Level=", typeof(Simd).GetProperty(nameof(Simd.Level))!.GetMethod!, typeof(SimdLevel)),
            ("Vector512=", typeof(Vector512).GetProperty(nameof(Vector512.IsHardwareAccelerated))!.GetMethod!, typeof(bool)),
        };
        foreach ((string label, MethodInfo getter, Type boxed) in lines)
        {
            il.Emit(OpCodes.Ldstr, label);
            il.Emit(OpCodes.Call, getter);
            il.Emit(OpCodes.Box, boxed);
            il.Emit(OpCodes.Call, concat);
            il.Emit(OpCodes.Call, writeLine);
        }

        il.Emit(OpCodes.Ret);
        type.CreateType();

        MetadataBuilder metadata = assembly.GenerateMetadata(out BlobBuilder ilStream, out BlobBuilder fieldData);
        var pe = new ManagedPEBuilder(
            header: new PEHeaderBuilder(imageCharacteristics: Characteristics.ExecutableImage),
            metadataRootBuilder: new MetadataRootBuilder(metadata),
            ilStream: ilStream,
            mappedFieldData: fieldData,
            entryPoint: MetadataTokens.MethodDefinitionHandle(main.MetadataToken));
        var blob = new BlobBuilder();
        pe.Serialize(blob);
        using var file = new FileStream(path, FileMode.CreateNew, FileAccess.Write);
        blob.WriteContentTo(file);
    }
}

/// <summary>
/// A fact that needs a CPU with AVX-512; on other CPUs it is reported as skipped, with the reason. The CPU is asked
/// directly (CPUID) when this process has AVX-512 switched off by <c>DOTNET_EnableAVX512=0</c>, since the test can
/// still switch it back on in a child process.
/// </summary>
[AttributeUsage(AttributeTargets.Method, AllowMultiple = false)]
public sealed class Avx512FactAttribute : FactAttribute
{
    public Avx512FactAttribute()
    {
        if (!CpuHasAvx512())
        {
            Skip = "This CPU has no AVX-512 (Vector512 is not hardware accelerated): there is nothing to disable, so the test cannot tell.";
        }
    }

    private static bool CpuHasAvx512()
    {
        if (Vector512.IsHardwareAccelerated)
        {
            return true;
        }

        bool switchedOff = Environment.GetEnvironmentVariable("DOTNET_EnableAVX512") == "0"
            || Environment.GetEnvironmentVariable("DOTNET_EnableAVX512F") == "0";

        // CPUID leaf 7, sub-leaf 0: EBX bit 16 is AVX512F.
        return switchedOff && X86Base.IsSupported && X86Base.CpuId(0, 0).Eax >= 7 && (X86Base.CpuId(7, 0).Ebx & (1 << 16)) != 0;
    }
}
