using System.Collections.Generic;

namespace MobileOne.Server.Http;

/// <summary>One of the top-5 classes.</summary>
/// <param name="Label">The class name.</param>
/// <param name="Probability">Its softmax probability.</param>
public sealed record Prediction(string Label, float Probability);

/// <summary>The JSON answer of <c>POST /classify</c>.</summary>
/// <param name="Model">The model's name.</param>
/// <param name="Top5">The five most probable classes, most probable first.</param>
/// <param name="Milliseconds">Server-side time, from the start of the request to the answer.</param>
/// <param name="BatchSize">How many images the inference call that classified this one held (1 without micro-batching).</param>
/// <param name="Width">The uploaded image's width.</param>
/// <param name="Height">The uploaded image's height.</param>
public sealed record ClassificationResponse(string Model, IReadOnlyList<Prediction> Top5, double Milliseconds, int BatchSize, int Width, int Height);
