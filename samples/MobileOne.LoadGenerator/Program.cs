// MobileOne.LoadGenerator: throughput and latency of a MobileOne.Server on this machine (loopback only), at
// several concurrency levels, with a bounded number of requests and a time limit per level. See docs/serving.md.
//
//   dotnet run --project samples/MobileOne.LoadGenerator -c Release -- --url http://127.0.0.1:5080
using System;
using System.IO;
using System.Linq;
using System.Net.Http;
using System.Threading.Tasks;
using MobileOne.LoadGenerator;

if (args.Contains("--help"))
{
    Console.WriteLine(LoadOptions.Usage);
    return 0;
}

LoadOptions options;
try
{
    options = LoadOptions.Parse(args);
}
catch (FormatException e)
{
    await Console.Error.WriteLineAsync($"{e.Message}{Environment.NewLine}{Environment.NewLine}{LoadOptions.Usage}");
    return 2;
}

string[] files = options.Images.Count > 0
    ? options.Images.ToArray()
    : Directory.GetFiles(Path.Combine(AppContext.BaseDirectory, "images"), "*.png").Order(StringComparer.Ordinal).ToArray();
TestImage[] images = files.Select(TestImage.Load).ToArray();

using (var probe = new HttpClient { BaseAddress = options.Url, Timeout = TimeSpan.FromSeconds(10) })
{
    try
    {
        Console.WriteLine($"Server {options.Url}: {await probe.GetStringAsync(new Uri("healthz", UriKind.Relative))}");
    }
    catch (HttpRequestException e)
    {
        await Console.Error.WriteLineAsync($"No server at {options.Url} ({e.Message}). Start it first: dotnet run --project samples/MobileOne.Server -c Release -- --urls {options.Url}");
        return 1;
    }
}

Console.WriteLine($"{images.Length} images, {options.Requests:N0} requests per level (after {options.Warmup} warm-up), at most {options.MaxDuration.TotalSeconds:F0} s per level, {Environment.ProcessorCount} cores on this machine");
Console.WriteLine();
Console.WriteLine(LevelResult.MarkdownHeader);
var runner = new LoadRunner(options.Url, images);
int errors = 0;
foreach (int concurrency in options.Concurrency)
{
    if (options.Warmup > 0)
    {
        await runner.RunAsync(concurrency, options.Warmup, options.MaxDuration);
    }

    LevelResult result = await runner.RunAsync(concurrency, options.Requests, options.MaxDuration);
    Console.WriteLine(result.ToMarkdownRow());
    errors += result.Errors;
    if (result.FirstError != null)
    {
        await Console.Error.WriteLineAsync($"  first error at concurrency {concurrency}: {result.FirstError}");
    }
}

return errors == 0 ? 0 : 1;
