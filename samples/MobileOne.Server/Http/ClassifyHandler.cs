using System;
using System.Buffers;
using System.Diagnostics;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.AspNetCore.Http;
using MobileOne.Runtime;
using MobileOne.Server.Batching;
using MobileOne.Server.Imaging;
using MobileOne.Server.Models;

namespace MobileOne.Server.Http;

/// <summary>
/// <c>POST /classify</c>: read the upload, decode (at most <c>MaxConcurrentDecodes</c> at once), preprocess, run
/// through the <see cref="IInferenceRunner"/>, answer the top-5. A rejected request is a 4xx problem+json.
/// </summary>
public sealed class ClassifyHandler : IDisposable
{
    private const int TopK = 5;

    private readonly IImageClassifier _classifier;
    private readonly IInferenceRunner _runner;
    private readonly UploadReader _uploads;
    private readonly ImageDecoder _decoder;
    private readonly SemaphoreSlim _decodes;
    private readonly PreparingRequests _preparing;
    private readonly ServerMetrics _metrics;

    /// <summary>Initializes a new instance of the <see cref="ClassifyHandler"/> class.</summary>
    /// <param name="classifier">The model.</param>
    /// <param name="runner">Direct or micro-batched inference.</param>
    /// <param name="options">The limits.</param>
    /// <param name="preparing">Counts requests reading or decoding (for the micro-batcher).</param>
    /// <param name="metrics">The metrics.</param>
    public ClassifyHandler(IImageClassifier classifier, IInferenceRunner runner, ServerOptions options, PreparingRequests preparing, ServerMetrics metrics)
    {
        ArgumentNullException.ThrowIfNull(options);
        _classifier = classifier;
        _runner = runner;
        _uploads = new UploadReader(options.MaxBodyBytes, options.MaxConcurrentUploads, TimeSpan.FromSeconds(options.UploadTimeoutSeconds));
        _decoder = new ImageDecoder(options.MaxPixels);
        _decodes = new SemaphoreSlim(options.MaxConcurrentDecodes, options.MaxConcurrentDecodes);
        _preparing = preparing;
        _metrics = metrics;
    }

    /// <summary>Handles one request: writes the JSON answer or a problem (a <c>RequestDelegate</c>).</summary>
    /// <param name="context">The HTTP context.</param>
    /// <returns>A task that completes when the answer is written.</returns>
    public async Task HandleAsync(HttpContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        long start = Stopwatch.GetTimestamp();
        using IDisposable inFlight = _metrics.TrackInFlight();
        (IResult result, int status) = await ClassifyAsync(context.Request, start, context.RequestAborted).ConfigureAwait(false);
        _metrics.ObserveRequest(status, Stopwatch.GetElapsedTime(start));
        await result.ExecuteAsync(context).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public void Dispose()
    {
        _uploads.Dispose();
        _decodes.Dispose();
    }

    private async Task<(IResult Result, int Status)> ClassifyAsync(HttpRequest request, long start, CancellationToken aborted)
    {
        float[] input = ArrayPool<float>.Shared.Rent(_classifier.InputLength);
        float[] logits = ArrayPool<float>.Shared.Rent(_classifier.NumClasses);
        try
        {
            DecodedImage image;
            using (_preparing.Enter())
            {
                image = await ReadAndDecodeAsync(request, aborted).ConfigureAwait(false);
                _classifier.Preprocess(image, input.AsSpan(0, _classifier.InputLength));
            }

            int batchSize = await _runner.RunAsync(input.AsMemory(0, _classifier.InputLength), logits.AsMemory(0, _classifier.NumClasses), aborted)
                .ConfigureAwait(false);
            ClassificationResponse response = Answer(logits.AsSpan(0, _classifier.NumClasses), batchSize, image, start);
            return (Results.Ok(response), StatusCodes.Status200OK);
        }
        catch (RequestRejectedException e)
        {
            return (Results.Problem(detail: e.Message, statusCode: e.StatusCode, title: e.Title), e.StatusCode);
        }
        catch (OperationCanceledException) when (aborted.IsCancellationRequested)
        {
            // The client went away; nobody reads the answer. 499 as nginx counts it.
            return (Results.StatusCode(499), 499);
        }
        finally
        {
            ArrayPool<float>.Shared.Return(input);
            ArrayPool<float>.Shared.Return(logits);
        }
    }

    private async Task<DecodedImage> ReadAndDecodeAsync(HttpRequest request, CancellationToken aborted)
    {
        using PooledBuffer upload = await _uploads.ReadAsync(request, aborted).ConfigureAwait(false);
        await _decodes.WaitAsync(aborted).ConfigureAwait(false);
        try
        {
            return _decoder.Decode(upload.Bytes);
        }
        finally
        {
            _decodes.Release();
        }
    }

    private ClassificationResponse Answer(ReadOnlySpan<float> logits, int batchSize, DecodedImage image, long start)
    {
        Span<float> probabilities = logits.Length <= 4096 ? stackalloc float[logits.Length] : new float[logits.Length];
        Classification.Softmax(logits, probabilities);
        Span<int> top = stackalloc int[Math.Min(TopK, logits.Length)];
        Classification.TopK(probabilities, top);
        var predictions = new Prediction[top.Length];
        for (int i = 0; i < top.Length; i++)
        {
            predictions[i] = new Prediction(_classifier.Label(top[i]), probabilities[top[i]]);
        }

        return new ClassificationResponse(_classifier.Name, predictions, Stopwatch.GetElapsedTime(start).TotalMilliseconds, batchSize, image.Width, image.Height);
    }
}
