// One cold start, measured from inside the process (benchmarks/MobileOne.ColdStart runs it many times):
//   dotnet MobileOne.ColdStart.App.dll s1|s4|s1int8
// Prints one line of key=value: the time from process start to Main, Default (Load of the embedded weights), the first
// Run, the median of 30 more, the process's anonymous (private) and file-backed resident memory after them, and the
// address of the packed data in the module image modulo 64 (0: used where it lies, without a copy).
using System;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using System.Linq;
using MobileOne.ColdStart.App;
using MobileOne.Runtime;

double toMain = (DateTime.Now - Process.GetCurrentProcess().StartTime).TotalMilliseconds;
string variant = args.Length > 0 ? args[0] : "s1";
long t0 = Stopwatch.GetTimestamp();
IMobileOneNetwork net = variant switch
{
    "s1" => ColdS1.Default,
    "s4" => ColdS4.Default,
    "s1int8" => ColdS1Int8.Default,
    _ => throw new ArgumentException("expected s1, s4 or s1int8, not " + variant),
};
long t1 = Stopwatch.GetTimestamp();
var input = new float[net.InputChannels * net.InputHeight * net.InputWidth];
for (int i = 0; i < input.Length; i++)
{
    input[i] = (float)Math.Sin(i * 0.001);
}

var logits = new float[net.NumClasses];
long t2 = Stopwatch.GetTimestamp();
net.Run(input, logits);
long t3 = Stopwatch.GetTimestamp();
var steady = new double[30];
for (int i = 0; i < steady.Length; i++)
{
    long s = Stopwatch.GetTimestamp();
    net.Run(input, logits);
    steady[i] = Stopwatch.GetElapsedTime(s).TotalMilliseconds;
}

Array.Sort(steady);
string resource = net.GetType().Assembly.GetManifestResourceNames().First(n => n.Contains(variant == "s1int8" ? "s1_int8" : variant + ".", StringComparison.Ordinal));
int alignment;
unsafe
{
    using Stream? stream = net.GetType().Assembly.GetManifestResourceStream(resource);
    // Where the packed data lies: the blob's data offset (bytes 12-15) past the resource's start; a safetensors resource
    // (run-time packing) is copied whatever its alignment, so its start is printed.
    alignment = -1;
    if (stream is UnmanagedMemoryStream m)
    {
        byte* p = m.PositionPointer;
        bool packed = p[0] == (byte)'M' && p[1] == (byte)'O' && p[2] == (byte)'1' && p[3] == (byte)'P';
        alignment = (int)(((ulong)p + (packed ? (ulong)System.Buffers.Binary.BinaryPrimitives.ReadInt32LittleEndian(new ReadOnlySpan<byte>(p + 12, 4)) : 0)) % 64);
    }
}

(double anon, double file) = Memory();
Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
    $"to_main_ms={toMain:F1} load_ms={Ms(t1 - t0):F2} first_ms={Ms(t3 - t2):F2} steady_ms={steady[steady.Length / 2]:F2} anon_mb={anon:F1} file_mb={file:F1} data_mod64={alignment} logit0={logits[0]:R}"));

static double Ms(long ticks) => ticks * 1000.0 / Stopwatch.Frequency;

// Resident memory by kind (Linux /proc/self/status): RssAnon is the process's own heap (the packed copy lives there
// unless it is mapped), RssFile the pages of mapped files (the assembly image with its resources).
static (double Anon, double File) Memory()
{
    double anon = double.NaN, file = double.NaN;
    if (File.Exists("/proc/self/status"))
    {
        foreach (string line in File.ReadAllLines("/proc/self/status"))
        {
            if (line.StartsWith("RssAnon:", StringComparison.Ordinal))
            {
                anon = Kb(line) / 1024.0;
            }
            else if (line.StartsWith("RssFile:", StringComparison.Ordinal))
            {
                file = Kb(line) / 1024.0;
            }
        }
    }

    return (anon, file);

    static double Kb(string line) => double.Parse(line.Split(':')[1].Trim().Split(' ')[0], CultureInfo.InvariantCulture);
}
