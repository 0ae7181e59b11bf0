using System;
using System.Diagnostics;
using System.Threading;
using System.Threading.Tasks;
using MobileOne.Server.Models;

namespace MobileOne.Server.Batching;

/// <summary>One inference call per request, on the request's thread (<c>--no-batching</c>).</summary>
public sealed class DirectRunner : IInferenceRunner
{
    private readonly IImageClassifier _classifier;
    private readonly Action<int, TimeSpan> _onBatch;

    /// <summary>Initializes a new instance of the <see cref="DirectRunner"/> class.</summary>
    /// <param name="classifier">The model.</param>
    /// <param name="onBatch">Called after each call with its batch size (1) and time.</param>
    public DirectRunner(IImageClassifier classifier, Action<int, TimeSpan> onBatch)
    {
        _classifier = classifier;
        _onBatch = onBatch;
    }

    /// <inheritdoc />
    public ValueTask<int> RunAsync(ReadOnlyMemory<float> input, Memory<float> logits, CancellationToken cancellationToken)
    {
        long start = Stopwatch.GetTimestamp();
        _classifier.Run(input.Span, logits.Span, 1);
        _onBatch(1, Stopwatch.GetElapsedTime(start));
        return ValueTask.FromResult(1);
    }
}
