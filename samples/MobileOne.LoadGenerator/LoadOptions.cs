using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;

namespace MobileOne.LoadGenerator;

/// <summary>The load generator's options, each bounded so that a run cannot go on without end.</summary>
public sealed record LoadOptions
{
    /// <summary>Most requests per concurrency level.</summary>
    public const int MaxRequests = 1_000_000;

    /// <summary>Most concurrent requests.</summary>
    public const int MaxConcurrency = 1024;

    /// <summary>Longest time per concurrency level, in seconds.</summary>
    public const int MaxSeconds = 600;

    /// <summary>The usage text.</summary>
    public const string Usage = """
        MobileOne.LoadGenerator: closed-loop load on a MobileOne.Server over loopback.

          dotnet run --project samples/MobileOne.LoadGenerator -c Release -- [options]

          --url URL              the server, loopback only (default http://127.0.0.1:5080)
          --requests N           requests per concurrency level (default 10000, at most 1000000)
          --concurrency A,B,...  concurrency levels (default 1,8,64, each at most 1024)
          --warmup N             unmeasured requests before each level (default 200)
          --max-seconds S        stop a level after S seconds (default 120, at most 600)
          --image FILE           send this image (repeatable; default: the ten Fashion-MNIST test images)
        """;

    /// <summary>Gets the server's base address.</summary>
    public Uri Url { get; init; } = new("http://127.0.0.1:5080");

    /// <summary>Gets the measured requests per level.</summary>
    public int Requests { get; init; } = 10_000;

    /// <summary>Gets the concurrency levels.</summary>
    public IReadOnlyList<int> Concurrency { get; init; } = [1, 8, 64];

    /// <summary>Gets the unmeasured requests before each level.</summary>
    public int Warmup { get; init; } = 200;

    /// <summary>Gets the time limit of one level.</summary>
    public TimeSpan MaxDuration { get; init; } = TimeSpan.FromSeconds(120);

    /// <summary>Gets the image files to send (empty: the shipped ones).</summary>
    public IReadOnlyList<string> Images { get; init; } = [];

    /// <summary>Parses the command line.</summary>
    /// <param name="args">The arguments.</param>
    /// <returns>The options.</returns>
    /// <exception cref="FormatException">An unknown option or a value out of range (or a non-loopback URL).</exception>
    public static LoadOptions Parse(IReadOnlyList<string> args)
    {
        ArgumentNullException.ThrowIfNull(args);
        var options = new LoadOptions();
        var images = new List<string>();
        for (int i = 0; i < args.Count; i++)
        {
            string name = args[i];
            string value = i + 1 < args.Count ? args[++i] : throw new FormatException($"{name} needs a value.");
            options = name switch
            {
                "--url" => options with { Url = LoopbackGuard.Check(value) },
                "--requests" => options with { Requests = Int(name, value, 1, MaxRequests) },
                "--concurrency" => options with { Concurrency = value.Split(',').Select(c => Int(name, c, 1, MaxConcurrency)).ToArray() },
                "--warmup" => options with { Warmup = Int(name, value, 0, 100_000) },
                "--max-seconds" => options with { MaxDuration = TimeSpan.FromSeconds(Int(name, value, 1, MaxSeconds)) },
                "--image" => AddImage(options, images, value),
                _ => throw new FormatException($"Unknown option {name}."),
            };
        }

        return options with { Images = images };
    }

    private static LoadOptions AddImage(LoadOptions options, List<string> images, string path)
    {
        images.Add(path);
        return options;
    }

    private static int Int(string name, string text, int min, int max) =>
        int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out int value) && value >= min && value <= max
            ? value
            : throw new FormatException($"{name} must be an integer from {min} to {max}, not '{text}'.");
}
