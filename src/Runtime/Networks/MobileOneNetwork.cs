using System;
using System.IO;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Threading;

namespace MobileOne.Runtime;

/// <summary>
/// What every generated MobileOne class does the same way: argument checks, the per-thread activation buffers,
/// batching, the warm-up on request, and binding weights: a file or a stream by packing the class's tensor table, the
/// embedded resource by mapping the weights packed at build time (or packing it, when it is the safetensors file).
/// The generated class adds its constants, its tensor table and its forward pass.
/// </summary>
/// <typeparam name="TSelf">The generated class.</typeparam>
/// <remarks>
/// Instances are immutable and thread-safe; <see cref="Run(ReadOnlySpan{float}, Span{float})"/> allocates nothing
/// after its first call on a thread. One inference uses up to <see cref="Parallelism.MaxDegreeOfParallelism"/> threads.
/// </remarks>
public abstract class MobileOneNetwork<TSelf> : IMobileOneNetwork
    where TSelf : MobileOneNetwork<TSelf>, IMobileOneModel<TSelf>
{
    /// <summary>Activation buffers: one set per thread and per network class, so concurrent calls never share them.</summary>
    [ThreadStatic]
    private static AlignedFloatBuffer? t_scratch;

    private static int s_warmedUp;

    private readonly AlignedFloatBuffer _weights;

    /// <summary>Initializes the network over its packed weights.</summary>
    /// <param name="weights">The packed weights, <see cref="IMobileOneModel{TSelf}.PackedLength"/> floats.</param>
    /// <exception cref="ArgumentException">The buffer has the wrong length.</exception>
    protected MobileOneNetwork(AlignedFloatBuffer weights)
    {
        ArgumentNullException.ThrowIfNull(weights);
        if (weights.Length != TSelf.PackedLength)
        {
            throw new ArgumentException($"Expected {TSelf.PackedLength} packed weight floats for {typeof(TSelf).Name}, got {weights.Length}.", nameof(weights));
        }

        _weights = weights;
    }

    /// <inheritdoc/>
    int IMobileOneNetwork.InputChannels => TSelf.InputChannels;

    /// <inheritdoc/>
    int IMobileOneNetwork.InputHeight => TSelf.InputHeight;

    /// <inheritdoc/>
    int IMobileOneNetwork.InputWidth => TSelf.InputWidth;

    /// <inheritdoc/>
    int IMobileOneNetwork.NumClasses => TSelf.NumClasses;

    /// <summary>Gets the packed weights, in the layout the forward pass streams.</summary>
    protected ReadOnlySpan<float> Weights => _weights.Span;

    /// <summary>The int32 biases a quantized network keeps in its packed weights (docs/quantization.md).</summary>
    /// <param name="packed">A region of the packed weights.</param>
    /// <returns>The same bytes as int32.</returns>
    protected static ReadOnlySpan<int> Int32(ReadOnlySpan<float> packed) => MemoryMarshal.Cast<float, int>(packed);

    /// <summary>The int8 pointwise weights a quantized network keeps in its packed weights, four to a float.</summary>
    /// <param name="packed">A region of the packed weights.</param>
    /// <returns>The same bytes as int8.</returns>
    protected static ReadOnlySpan<sbyte> Int8(ReadOnlySpan<float> packed) => MemoryMarshal.Cast<float, sbyte>(packed);

    /// <summary>A region of the activation scratch as bytes: a quantized network's uint8 activations.</summary>
    /// <param name="scratch">A region of the per-thread scratch.</param>
    /// <returns>The same memory as bytes.</returns>
    protected static Span<byte> Bytes(Span<float> scratch) => MemoryMarshal.AsBytes(scratch);

    /// <summary>
    /// Runs one inference on zeros, once per class and process, so that every kernel this network uses is JIT-compiled
    /// now rather than in the caller's first call. <c>Load</c> does not do it (it would cost a whole inference on top of
    /// the compilation, docs/performance.md, "Cold start"): call it where a first call must run at steady-state speed,
    /// e.g. in a server before it takes traffic. A NativeAOT build has nothing to compile.
    /// </summary>
    public void WarmUp()
    {
        if (Interlocked.Exchange(ref s_warmedUp, 1) == 0)
        {
            Run(new float[InputLength], new float[TSelf.NumClasses]);
        }
    }

    /// <summary>Classifies one image.</summary>
    /// <param name="input"><c>InputLength</c> floats: <c>InputChannels x InputHeight x InputWidth</c>, CHW, normalised.</param>
    /// <param name="logits">Receives <c>NumClasses</c> logits.</param>
    /// <exception cref="ArgumentException">A span has the wrong length.</exception>
    public void Run(ReadOnlySpan<float> input, Span<float> logits)
    {
        if (input.Length != InputLength)
        {
            ThrowInputLength(input.Length, nameof(input));
        }

        if (logits.Length != TSelf.NumClasses)
        {
            throw new ArgumentException($"Expected room for {TSelf.NumClasses} logits, got {logits.Length}.", nameof(logits));
        }

        Forward(input, logits, ScratchForThisThread(), default, default, default, default);
    }

    /// <summary>Classifies <paramref name="batchSize"/> images stored one after another.</summary>
    /// <param name="inputs"><paramref name="batchSize"/> x <c>InputLength</c> floats.</param>
    /// <param name="logits">Receives <paramref name="batchSize"/> x <c>NumClasses</c> logits.</param>
    /// <param name="batchSize">Number of images.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="batchSize"/> is negative.</exception>
    /// <exception cref="ArgumentException">A span has the wrong length.</exception>
    public void Run(ReadOnlySpan<float> inputs, Span<float> logits, int batchSize)
    {
        if (batchSize < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(batchSize), batchSize, "The batch size must not be negative.");
        }

        if (inputs.Length != (long)batchSize * InputLength)
        {
            throw new ArgumentException($"Expected {batchSize} x {InputLength} input floats ({Shape} per image, CHW), got {inputs.Length}.", nameof(inputs));
        }

        if (logits.Length != (long)batchSize * TSelf.NumClasses)
        {
            throw new ArgumentException($"Expected room for {batchSize} x {TSelf.NumClasses} logits, got {logits.Length}.", nameof(logits));
        }

        // Images are split across up to Parallelism.MaxDegreeOfParallelism threads (default 1).
        Parallelism.RunBatch(this, inputs, logits, batchSize);
    }

    /// <summary>
    /// Runs the network as a backbone (for detection or segmentation heads) and writes its stride-8, -16 and -32
    /// feature maps (CHW, after ReLU) and the pooled embedding. Pass an empty span for any output you do not need;
    /// the layers after the last requested output are skipped. Allocates nothing after the first call on a thread.
    /// </summary>
    /// <param name="input"><c>InputLength</c> floats: <c>InputChannels x InputHeight x InputWidth</c>, CHW, normalised.</param>
    /// <param name="stride8">Empty, or <c>Stride8Length</c> floats.</param>
    /// <param name="stride16">Empty, or <c>Stride16Length</c> floats.</param>
    /// <param name="stride32">Empty, or <c>Stride32Length</c> floats.</param>
    /// <param name="embedding">Empty, or <c>FeatureChannels</c> floats: the global average of the stride-32 map.</param>
    /// <exception cref="ArgumentException">A span has the wrong length.</exception>
    public void RunFeatures(ReadOnlySpan<float> input, Span<float> stride8, Span<float> stride16, Span<float> stride32, Span<float> embedding)
    {
        if (input.Length != InputLength)
        {
            ThrowInputLength(input.Length, nameof(input));
        }

        CheckFeatureLength(stride8, TSelf.Stride8Length, nameof(stride8));
        CheckFeatureLength(stride16, TSelf.Stride16Length, nameof(stride16));
        CheckFeatureLength(stride32, TSelf.Stride32Length, nameof(stride32));
        CheckFeatureLength(embedding, TSelf.FeatureChannels, nameof(embedding));
        Forward(input, default, ScratchForThisThread(), stride8, stride16, stride32, embedding);
    }

    /// <summary>Binds weights from a safetensors file (F32, F16 or BF16; Apple's or timm's names) to the architecture of <typeparamref name="TSelf"/>.</summary>
    /// <param name="path">The weight file.</param>
    /// <returns>The network.</returns>
    /// <exception cref="WeightFileException">The file is malformed or does not match the architecture; the message names the first mismatching tensor.</exception>
    protected static TSelf LoadFile(string path)
    {
        using WeightReader reader = WeightReader.FromFile(path, TSelf.Tensors);
        return Bind(reader);
    }

    /// <summary>Binds weights from a safetensors stream (F32, F16 or BF16; Apple's or timm's names) to the architecture of <typeparamref name="TSelf"/>.</summary>
    /// <param name="stream">The weight stream.</param>
    /// <returns>The network.</returns>
    /// <exception cref="WeightFileException">The stream is malformed or does not match the architecture; the message names the first mismatching tensor.</exception>
    protected static TSelf LoadStream(Stream stream)
    {
        using WeightReader reader = WeightReader.FromStream(stream, TSelf.Tensors);
        return Bind(reader);
    }

    /// <summary>Binds the weights embedded in the assembly of <typeparamref name="TSelf"/> as <paramref name="resourceName"/>.</summary>
    /// <param name="resourceName">The manifest resource.</param>
    /// <param name="expectedLength">The length of the file the generator read.</param>
    /// <param name="expectedHeaderHash">The hash of the header the generator read.</param>
    /// <returns>The network.</returns>
    /// <exception cref="InvalidOperationException">The resource is missing.</exception>
    /// <exception cref="WeightFileException">The resource is not the file the generator read.</exception>
    protected static TSelf LoadEmbedded(string resourceName, long expectedLength, ulong expectedHeaderHash)
    {
        string name = typeof(TSelf).Name;
        using Stream? stream = typeof(TSelf).Assembly.GetManifestResourceStream(resourceName);
        if (stream == null)
        {
            throw new InvalidOperationException("The weights of " + name + " are not embedded in this assembly (resource '" + resourceName + "' is missing). " +
                "MobileOne.Generator's build targets embed every .safetensors AdditionalFile; use " + name + ".Load(path) to bind weights at run time instead.");
        }

        // Weights packed at build time (the package's MSBuild task, docs/design.md): mapped, not parsed or repacked.
        Span<byte> prefix = stackalloc byte[8];
        int read = stream.ReadAtLeast(prefix, prefix.Length, throwOnEndOfStream: false);
        stream.Position -= read;
        if (PackedWeightFile.IsPackedWeightFile(prefix.Slice(0, read)))
        {
            AlignedFloatBuffer packed = WeightBinding.MapPacked(stream, typeof(TSelf).Assembly, $"embedded resource '{resourceName}'", TSelf.Tensors, TSelf.PackedLength, expectedLength, expectedHeaderHash);
            return TSelf.Create(packed);
        }

        // The safetensors file itself (embedded without build-time packing): read and packed here.
        using WeightReader reader = WeightReader.FromEmbedded(stream, resourceName, TSelf.Tensors, expectedLength, expectedHeaderHash);
        return Bind(reader);
    }

    /// <summary>The network, layer by layer. Activations are NHWC with channels padded to 16 (docs/design.md).</summary>
    /// <param name="input">The checked input image.</param>
    /// <param name="logits">Receives the logits; empty skips the classifier.</param>
    /// <param name="scratch">This thread's activation buffers, <see cref="IMobileOneModel{TSelf}.ScratchLength"/> floats.</param>
    /// <param name="stride8">Empty, or receives the stride-8 feature map.</param>
    /// <param name="stride16">Empty, or receives the stride-16 feature map.</param>
    /// <param name="stride32">Empty, or receives the stride-32 feature map.</param>
    /// <param name="embedding">Empty, or receives the pooled embedding.</param>
    protected abstract void Forward(ReadOnlySpan<float> input, Span<float> logits, Span<float> scratch, Span<float> stride8, Span<float> stride16, Span<float> stride32, Span<float> embedding);

    private static int InputLength => TSelf.InputChannels * TSelf.InputHeight * TSelf.InputWidth;

    private static string Shape => $"{TSelf.InputChannels} x {TSelf.InputHeight} x {TSelf.InputWidth}";

    /// <summary>Reads every tensor once and packs it into the layout its kernel streams.</summary>
    private static TSelf Bind(WeightReader reader) =>
        TSelf.Create(WeightBinding.Pack(reader, TSelf.Tensors, TSelf.PackedLength, TSelf.QuantizedLayers, TSelf.ActivationScalesOffset));

    private static Span<float> ScratchForThisThread() => (t_scratch ??= new AlignedFloatBuffer(TSelf.ScratchLength)).Span;

    private static void CheckFeatureLength(Span<float> span, int length, string name)
    {
        if (!span.IsEmpty && span.Length != length)
        {
            throw new ArgumentException($"Expected an empty span or {length} floats, got {span.Length}.", name);
        }
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void ThrowInputLength(int length, string name) =>
        throw new ArgumentException($"Expected {InputLength} input floats ({Shape}, CHW), got {length}.", name);
}
