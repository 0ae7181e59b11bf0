using System;
using System.Collections.Generic;
using System.Globalization;

namespace MobileOne.Server;

/// <summary>
/// The server's own command-line options. Everything it does not recognise (<c>--urls</c>, <c>--environment</c>, …)
/// is left for the ASP.NET Core host.
/// </summary>
public sealed record ServerOptions
{
    /// <summary>Default limit on the request body: 8 MiB (multipart framing included).</summary>
    public const int DefaultMaxBodyBytes = 8 * 1024 * 1024;

    /// <summary>Default limit on the decoded image: 4096 x 4096 = 16.7 megapixels.</summary>
    public const long DefaultMaxPixels = 4096L * 4096;

    /// <summary>Gets the fused MobileOne-S1 weights to serve instead of the Fashion-MNIST model, or null.</summary>
    public string? S1Weights { get; init; }

    /// <summary>Gets a value indicating whether the int8 Fashion-MNIST model is served instead of the FP32 one.</summary>
    public bool Int8 { get; init; }

    /// <summary>Gets a value indicating whether requests are classified one call each, without micro-batching.</summary>
    public bool NoBatching { get; init; }

    /// <summary>Gets the largest batch the micro-batcher forms.</summary>
    public int MaxBatch { get; init; } = 16;

    /// <summary>Gets how long, at most, the first request of a batch waits for others (milliseconds).</summary>
    public double BatchWaitMs { get; init; } = 2;

    /// <summary>Gets the threads one batched inference may use (<c>Parallelism.MaxDegreeOfParallelism</c>).</summary>
    public int Threads { get; init; } = Environment.ProcessorCount;

    /// <summary>Gets the largest request body accepted, in bytes (Kestrel's MaxRequestBodySize).</summary>
    public int MaxBodyBytes { get; init; } = DefaultMaxBodyBytes;

    /// <summary>Gets the largest image accepted, in pixels (width x height, read from the header before decoding).</summary>
    public long MaxPixels { get; init; } = DefaultMaxPixels;

    /// <summary>Gets how many request bodies may be buffered at once (the others wait): bounds the upload memory.</summary>
    public int MaxConcurrentUploads { get; init; } = 32;

    /// <summary>Gets how long a request may take to get an upload slot and send its whole body (seconds), else 408.</summary>
    public double UploadTimeoutSeconds { get; init; } = 30;

    /// <summary>Gets how many images may be decoded at once (the others wait): bounds the decode memory.</summary>
    public int MaxConcurrentDecodes { get; init; } = Environment.ProcessorCount;

    /// <summary>The usage text printed by <c>--help</c> and on a bad option.</summary>
    public const string Usage = """
        MobileOne.Server: image classification over HTTP.

          dotnet run --project samples/MobileOne.Server -c Release -- --urls http://127.0.0.1:5080 [options]

          --s1-weights FILE         serve MobileOne-S1 with these fused weights (default: the Fashion-MNIST model)
          --int8                    serve the int8 Fashion-MNIST model (FashionMnistInt8)
          --max-batch N             largest micro-batch (default 16)
          --batch-wait-ms MS        longest wait for a batch to fill (default 2)
          --no-batching             one inference call per request
          --threads N               threads per batched inference (default: the number of cores)
          --max-body-bytes N        request body limit, 413 above it (default 8388608 = 8 MiB)
          --max-pixels N            decoded image limit, 413 above it (default 16777216 = 4096x4096)
          --max-concurrent-uploads N  bodies buffered at once (default 32)
          --upload-timeout-s S      time to send the whole body, 408 after it (default 30)
          --max-concurrent-decodes N  images decoded at once (default: the number of cores)
        Any other option (--urls, --environment, ...) goes to the ASP.NET Core host.
        """;

    /// <summary>Splits <paramref name="args"/> into the server's options and the host's arguments.</summary>
    /// <param name="args">The command line.</param>
    /// <param name="hostArgs">Receives the arguments the server did not consume.</param>
    /// <returns>The options.</returns>
    /// <exception cref="FormatException">An option's value is missing or out of range.</exception>
    public static ServerOptions Parse(IReadOnlyList<string> args, out string[] hostArgs)
    {
        ArgumentNullException.ThrowIfNull(args);
        var options = new ServerOptions();
        var rest = new List<string>();
        for (int i = 0; i < args.Count; i++)
        {
            string arg = args[i];
            options = arg switch
            {
                "--no-batching" => options with { NoBatching = true },
                "--int8" => options with { Int8 = true },
                "--s1-weights" => options with { S1Weights = Value(args, ref i) },
                "--max-batch" => options with { MaxBatch = Int(args, ref i, 1, 1024) },
                "--batch-wait-ms" => options with { BatchWaitMs = Double(args, ref i, 0, 1000) },
                "--threads" => options with { Threads = Int(args, ref i, 1, 64) },
                "--max-body-bytes" => options with { MaxBodyBytes = Int(args, ref i, 1024, 1024 * 1024 * 1024) },
                "--max-pixels" => options with { MaxPixels = Long(args, ref i, 1, 1L << 30) },
                "--max-concurrent-uploads" => options with { MaxConcurrentUploads = Int(args, ref i, 1, 100_000) },
                "--upload-timeout-s" => options with { UploadTimeoutSeconds = Double(args, ref i, 0.1, 3600) },
                "--max-concurrent-decodes" => options with { MaxConcurrentDecodes = Int(args, ref i, 1, 1024) },
                _ => Keep(options, rest, arg),
            };
        }

        hostArgs = rest.ToArray();
        return options;
    }

    private static ServerOptions Keep(ServerOptions options, List<string> rest, string arg)
    {
        rest.Add(arg);
        return options;
    }

    private static string Value(IReadOnlyList<string> args, ref int i)
    {
        if (i + 1 >= args.Count || args[i + 1].StartsWith("--", StringComparison.Ordinal))
        {
            throw new FormatException($"{args[i]} needs a value.");
        }

        return args[++i];
    }

    private static int Int(IReadOnlyList<string> args, ref int i, int min, int max) => (int)Long(args, ref i, min, max);

    private static long Long(IReadOnlyList<string> args, ref int i, long min, long max)
    {
        string name = args[i];
        string text = Value(args, ref i);
        if (!long.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out long value) || value < min || value > max)
        {
            throw new FormatException($"{name} must be an integer from {min} to {max}, not '{text}'.");
        }

        return value;
    }

    private static double Double(IReadOnlyList<string> args, ref int i, double min, double max)
    {
        string name = args[i];
        string text = Value(args, ref i);
        if (!double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out double value) || !(value >= min && value <= max))
        {
            throw new FormatException($"{name} must be a number from {min} to {max}, not '{text}'.");
        }

        return value;
    }
}
