using System;
using System.Globalization;
using Prometheus;

namespace MobileOne.Server;

/// <summary>
/// The server's Prometheus metrics, in a registry of its own (so two servers in one process, as in the tests, do
/// not share counters). Served at <c>GET /metrics</c> with prometheus-net's HTTP metrics for every endpoint.
/// </summary>
public sealed class ServerMetrics
{
    private readonly Counter _requests;
    private readonly Histogram _duration;
    private readonly Histogram _batchSize;
    private readonly Histogram _batchDuration;
    private readonly Gauge _inFlight;

    /// <summary>Initializes a new instance of the <see cref="ServerMetrics"/> class.</summary>
    /// <param name="model">The served model's name (label of <c>mobileone_model_info</c>).</param>
    /// <param name="options">The server options (batching settings are exported as labels).</param>
    public ServerMetrics(string model, ServerOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        Registry = Metrics.NewCustomRegistry();
        DotNetStats.Register(Registry);
        IMetricFactory factory = Metrics.WithCustomRegistry(Registry);
        Factory = factory;
        _requests = factory.CreateCounter("mobileone_classify_requests_total", "POST /classify requests by HTTP status.",
            new CounterConfiguration { LabelNames = ["status"] });
        _duration = factory.CreateHistogram("mobileone_classify_duration_seconds", "Server-side time of POST /classify, read to response.",
            new HistogramConfiguration { Buckets = Histogram.ExponentialBuckets(0.00025, 2, 16) });
        _batchSize = factory.CreateHistogram("mobileone_inference_batch_size", "Images per inference call (1 without micro-batching).",
            new HistogramConfiguration { Buckets = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024] });
        _batchDuration = factory.CreateHistogram("mobileone_inference_batch_duration_seconds", "Time of one (batched) inference call.",
            new HistogramConfiguration { Buckets = Histogram.ExponentialBuckets(0.00005, 2, 18) });
        _inFlight = factory.CreateGauge("mobileone_classify_in_flight", "POST /classify requests being served now.");
        factory.CreateGauge("mobileone_model_info", "The served model and batching settings (value 1).",
                new GaugeConfiguration { LabelNames = ["model", "batching", "max_batch", "batch_wait_ms", "threads"] })
            .WithLabels(model, options.NoBatching ? "off" : "on", Text(options.MaxBatch), Text(options.BatchWaitMs), Text(options.Threads))
            .Set(1);
    }

    /// <summary>Gets the registry <c>GET /metrics</c> exports.</summary>
    public CollectorRegistry Registry { get; }

    /// <summary>Gets the factory that creates metrics in <see cref="Registry"/> (for prometheus-net's HTTP metrics).</summary>
    public IMetricFactory Factory { get; }

    /// <summary>Counts a request in flight until the returned object is disposed.</summary>
    /// <returns>The tracker.</returns>
    public IDisposable TrackInFlight() => _inFlight.TrackInProgress();

    /// <summary>Records one finished POST /classify.</summary>
    /// <param name="status">Its HTTP status.</param>
    /// <param name="elapsed">Its server-side time.</param>
    public void ObserveRequest(int status, TimeSpan elapsed)
    {
        _requests.WithLabels(Text(status)).Inc();
        _duration.Observe(elapsed.TotalSeconds);
    }

    /// <summary>Records one inference call.</summary>
    /// <param name="batchSize">The images in it.</param>
    /// <param name="elapsed">Its time.</param>
    public void ObserveBatch(int batchSize, TimeSpan elapsed)
    {
        _batchSize.Observe(batchSize);
        _batchDuration.Observe(elapsed.TotalSeconds);
    }

    private static string Text(double value) => value.ToString(CultureInfo.InvariantCulture);
}
