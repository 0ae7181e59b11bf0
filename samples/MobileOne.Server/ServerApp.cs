using System;
using System.IO;
using System.Linq;
using System.Text.Json.Serialization;
using System.Threading.Tasks;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using MobileOne.Runtime;
using MobileOne.Server.Batching;
using MobileOne.Server.Http;
using MobileOne.Server.Models;
using Prometheus;

namespace MobileOne.Server;

/// <summary>
/// Builds the service: <c>GET /</c> (the page), <c>POST /classify</c>, <c>GET /healthz</c>, <c>GET /metrics</c>.
/// The service keeps no state between requests, so any number of replicas can run behind a load balancer.
/// </summary>
public static class ServerApp
{
    /// <summary>Builds the application (loading the model) without starting it.</summary>
    /// <param name="args">The server's options (<see cref="ServerOptions"/>) and the host's (<c>--urls</c>, …).</param>
    /// <returns>The application; <c>StartAsync</c> or <c>RunAsync</c> it.</returns>
    /// <exception cref="FormatException">A bad option.</exception>
    public static WebApplication Build(string[] args)
    {
        ServerOptions options = ServerOptions.Parse(args, out string[] hostArgs);
        Parallelism.MaxDegreeOfParallelism = options.Threads;
        IImageClassifier classifier = ClassifierFactory.Create(options);

        WebApplicationBuilder builder = WebApplication.CreateBuilder(hostArgs);
        builder.Logging.SetMinimumLevel(LogLevel.Warning).AddFilter("Microsoft.Hosting.Lifetime", LogLevel.Information);
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            // The body limit (multipart framing included): Kestrel answers 413 past it, whatever the endpoint.
            kestrel.Limits.MaxRequestBodySize = options.MaxBodyBytes;
            kestrel.AddServerHeader = false;
        });
        builder.Services.AddProblemDetails();
        // A model with NaN weights makes NaN probabilities: write them as "NaN" rather than fail the request.
        builder.Services.ConfigureHttpJsonOptions(json => json.SerializerOptions.NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals);
        builder.Services.AddSingleton(options);
        builder.Services.AddSingleton(classifier);
        builder.Services.AddSingleton<PreparingRequests>();
        builder.Services.AddSingleton(_ => new ServerMetrics(classifier.Name, options));
        builder.Services.AddSingleton(CreateRunner);
        builder.Services.AddSingleton<ClassifyHandler>();

        WebApplication app = builder.Build();
        MapEndpoints(app, options, classifier);
        return app;
    }

    /// <summary>Runs the server until it is stopped (Ctrl+C).</summary>
    /// <param name="args">The command line.</param>
    /// <returns>The exit code: 0, 1 when the model cannot be loaded, 2 on a bad option.</returns>
    public static async Task<int> RunAsync(string[] args)
    {
        ArgumentNullException.ThrowIfNull(args);
        if (args.Contains("--help") || args.Contains("-h"))
        {
            Console.WriteLine(ServerOptions.Usage);
            return 0;
        }

        WebApplication app;
        try
        {
            app = Build(args);
        }
        catch (FormatException e)
        {
            await Console.Error.WriteLineAsync($"{e.Message}{Environment.NewLine}{Environment.NewLine}{ServerOptions.Usage}").ConfigureAwait(false);
            return 2;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or WeightFileException)
        {
            await Console.Error.WriteLineAsync($"Cannot load the model: {e.Message}").ConfigureAwait(false);
            return 1;
        }

        await using (app.ConfigureAwait(false))
        {
            ServerOptions options = app.Services.GetRequiredService<ServerOptions>();
            Console.WriteLine($"MobileOne.Server: {app.Services.GetRequiredService<IImageClassifier>().Name}, " +
                (options.NoBatching ? "no batching" : $"micro-batching up to {options.MaxBatch} images or {options.BatchWaitMs} ms") +
                $", {options.Threads} inference threads, SIMD {Simd.Level}");
            await app.RunAsync().ConfigureAwait(false);
        }

        return 0;
    }

    private static IInferenceRunner CreateRunner(IServiceProvider services)
    {
        ServerOptions options = services.GetRequiredService<ServerOptions>();
        IImageClassifier classifier = services.GetRequiredService<IImageClassifier>();
        ServerMetrics metrics = services.GetRequiredService<ServerMetrics>();
        return options.NoBatching
            ? new DirectRunner(classifier, metrics.ObserveBatch)
            : new MicroBatcher(classifier, options.MaxBatch, TimeSpan.FromMilliseconds(options.BatchWaitMs),
                services.GetRequiredService<PreparingRequests>(), metrics.ObserveBatch);
    }

    private static void MapEndpoints(WebApplication app, ServerOptions options, IImageClassifier classifier)
    {
        ServerMetrics metrics = app.Services.GetRequiredService<ServerMetrics>();
        ClassifyHandler handler = app.Services.GetRequiredService<ClassifyHandler>();

        // An unexpected exception is a bug, not a hostile input: still a problem+json, never an HTML page.
        app.UseExceptionHandler();
        app.UseStatusCodePages();
        app.UseRouting();
        app.UseHttpMetrics(o => o.SetMetricFactory(metrics.Factory));
        app.Use((context, next) =>
        {
            context.Response.Headers.XContentTypeOptions = "nosniff";
            return next(context);
        });

        app.MapGet("/", PageEndpoints.Index);
        app.MapGet("/healthz", () => Results.Ok(new
        {
            status = "ok",
            model = classifier.Name,
            batching = !options.NoBatching,
            maxBatch = options.MaxBatch,
            threads = options.Threads,
            maxBodyBytes = options.MaxBodyBytes,
            maxPixels = options.MaxPixels,
        }));
        app.MapPost("/classify", handler.HandleAsync);
        app.MapMetrics("/metrics", metrics.Registry);
    }
}
