using System;
using System.Threading;
using System.Threading.Tasks;

namespace MobileOne.Server.Batching;

/// <summary>Runs the model on one request's input: directly, or gathered into a batch with others.</summary>
public interface IInferenceRunner
{
    /// <summary>Classifies one preprocessed input.</summary>
    /// <param name="input">The model input. It must stay untouched until the returned task completes.</param>
    /// <param name="logits">Receives the logits.</param>
    /// <param name="cancellationToken">Cancels waiting for a place in the queue (not a queued inference).</param>
    /// <returns>The size of the batch the input was classified in.</returns>
    ValueTask<int> RunAsync(ReadOnlyMemory<float> input, Memory<float> logits, CancellationToken cancellationToken);
}
