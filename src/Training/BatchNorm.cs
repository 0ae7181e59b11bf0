using System;

namespace MobileOne.Training;

/// <summary>
/// BatchNorm2d over NHWC rows: batch statistics in training (biased variance to normalise, unbiased for the running
/// variance, PyTorch's convention), running statistics in eval; momentum 0.1, eps 1e-5.
/// </summary>
public sealed unsafe class BatchNorm
{
    /// <summary>PyTorch's default eps.</summary>
    public const float DefaultEps = 1e-5f;

    /// <summary>PyTorch's default momentum.</summary>
    public const float DefaultMomentum = 0.1f;

    private readonly double[] _sum, _sumSq;
    private readonly FloatBuffer _scale, _shift, _gamma, _beta, _k1, _k2, _k3;
    private int _rows;

    /// <summary>Creates BN over <paramref name="channels"/> (a multiple of 8) with γ = 1, β = 0.</summary>
    /// <param name="prefix">State-dict prefix, e.g. <c>stage1.0.rbr_conv.0.bn</c>.</param>
    public BatchNorm(string prefix, int channels)
    {
        if (channels % 8 != 0)
        {
            throw new ArgumentException("BatchNorm channels must be a multiple of 8.", nameof(channels));
        }

        Prefix = prefix;
        Channels = channels;
        Weight = new Parameter(prefix + ".weight", new[] { channels }, decay: false);
        Bias = new Parameter(prefix + ".bias", new[] { channels }, decay: false);
        Weight.Fill(1f);
        RunningMean = new float[channels];
        RunningVar = new float[channels];
        Array.Fill(RunningVar, 1f);
        InvStd = new float[channels];
        _sum = new double[channels];
        _sumSq = new double[channels];
        _scale = new FloatBuffer(channels);
        _shift = new FloatBuffer(channels);
        _gamma = new FloatBuffer(channels);
        _beta = new FloatBuffer(channels);
        _k1 = new FloatBuffer(channels);
        _k2 = new FloatBuffer(channels);
        _k3 = new FloatBuffer(channels);
    }

    /// <summary>State-dict prefix.</summary>
    public string Prefix { get; }

    /// <summary>Channels.</summary>
    public int Channels { get; }

    /// <summary>γ.</summary>
    public Parameter Weight { get; }

    /// <summary>β.</summary>
    public Parameter Bias { get; }

    /// <summary>Running mean.</summary>
    public float[] RunningMean { get; }

    /// <summary>Running (unbiased) variance.</summary>
    public float[] RunningVar { get; }

    /// <summary>Training batches seen (PyTorch's <c>num_batches_tracked</c>).</summary>
    public long NumBatchesTracked { get; set; }

    /// <summary>1 / sqrt(var + eps) of the last training batch.</summary>
    public float[] InvStd { get; }

    /// <summary>eps.</summary>
    public float Eps { get; init; } = DefaultEps;

    /// <summary>Momentum of the running statistics.</summary>
    public float Momentum { get; init; } = DefaultMomentum;

    /// <summary>When false, training forwards do not update the running statistics (finite-difference checks).</summary>
    public bool UpdateRunningStats { get; set; } = true;

    /// <summary>
    /// Training forward: normalises <paramref name="x"/> with its batch statistics into <paramref name="xhat"/>
    /// (may equal <paramref name="x"/>) and writes or adds <c>γ·x̂ + β</c> to <paramref name="dst"/>.
    /// </summary>
    public void ForwardTrain(float* x, int rows, float* xhat, float* dst, bool accumulate)
    {
        int c = Channels;
        Kernels.ChannelSums(x, rows, c, null, _sum, null);
        float* shift = _shift.Ptr;
        for (int i = 0; i < c; i++)
        {
            shift[i] = (float)(_sum[i] / rows);
        }

        Kernels.ChannelSums(x, rows, c, shift, _sum, _sumSq);
        float* scale = _scale.Ptr;
        for (int i = 0; i < c; i++)
        {
            double mean = _sum[i] / rows;
            double dev = mean - shift[i];
            double var = Math.Max(0, (_sumSq[i] / rows) - (dev * dev));
            double inv = 1.0 / Math.Sqrt(var + Eps);
            InvStd[i] = (float)inv;
            scale[i] = (float)inv;
            shift[i] = (float)(-mean * inv);
            if (UpdateRunningStats)
            {
                double unbiased = rows > 1 ? var * rows / (rows - 1) : var;
                RunningMean[i] = (float)(((1 - Momentum) * RunningMean[i]) + (Momentum * mean));
                RunningVar[i] = (float)(((1 - Momentum) * RunningVar[i]) + (Momentum * unbiased));
            }

            _gamma.Ptr[i] = Weight.Value[i];
            _beta.Ptr[i] = Bias.Value[i];
        }

        if (UpdateRunningStats)
        {
            NumBatchesTracked++;
        }

        _rows = rows;
        Kernels.AffineRows(x, rows, c, scale, shift, xhat, _gamma.Ptr, _beta.Ptr, dst, accumulate);
    }

    /// <summary>Eval forward: writes or adds <c>γ·(x − running_mean)/sqrt(running_var + eps) + β</c> to <paramref name="dst"/>.</summary>
    public void ForwardEval(float* x, int rows, float* dst, bool accumulate)
    {
        for (int i = 0; i < Channels; i++)
        {
            float inv = 1f / MathF.Sqrt(RunningVar[i] + Eps);
            _scale.Ptr[i] = Weight.Value[i] * inv;
            _shift.Ptr[i] = Bias.Value[i] - (RunningMean[i] * Weight.Value[i] * inv);
            _gamma.Ptr[i] = 1f;
            _beta.Ptr[i] = 0f;
        }

        Kernels.AffineRows(x, rows, Channels, _scale.Ptr, _shift.Ptr, null, _gamma.Ptr, _beta.Ptr, dst, accumulate);
    }

    /// <summary>
    /// Backward of the last training forward: accumulates dγ, dβ and writes or adds the input gradient
    /// <c>γ/σ · (dy − mean(dy) − x̂ · mean(dy · x̂))</c> to <paramref name="dx"/>.
    /// </summary>
    public void Backward(float* dy, float* xhat, float* dx, bool accumulate)
    {
        int c = Channels, rows = _rows;
        Kernels.ChannelDotSums(dy, xhat, rows, c, _sum, _sumSq);
        for (int i = 0; i < c; i++)
        {
            Weight.Grad[i] += (float)_sumSq[i];
            Bias.Grad[i] += (float)_sum[i];
            double g = Weight.Value[i] * (double)InvStd[i];
            _k1.Ptr[i] = (float)g;
            _k2.Ptr[i] = (float)(-g * _sumSq[i] / rows);
            _k3.Ptr[i] = (float)(-g * _sum[i] / rows);
        }

        Kernels.BnBackwardRows(dy, xhat, rows, c, _k1.Ptr, _k2.Ptr, _k3.Ptr, dx, accumulate);
    }
}
