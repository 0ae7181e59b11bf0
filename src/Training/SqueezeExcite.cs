using System;

namespace MobileOne.Training;

/// <summary>
/// Squeeze-excite on a block's pre-activation, fused with the block's ReLU:
/// <c>out = ReLU(x · sigmoid(expand(ReLU(reduce(mean(x))))))</c> per image (docs/mobileone.md, "Architecture").
/// </summary>
public sealed unsafe class SqueezeExcite
{
    private float[] _mean = Array.Empty<float>(), _hidden = Array.Empty<float>(), _gate = Array.Empty<float>();

    /// <summary>Creates SE over <paramref name="channels"/> with hidden width <paramref name="reduced"/>.</summary>
    public SqueezeExcite(string prefix, int channels, int reduced, Random random)
    {
        Channels = channels;
        Reduced = reduced;
        ReduceWeight = new Parameter(prefix + ".se.reduce.weight", new[] { reduced, channels, 1, 1 }, decay: true);
        ReduceBias = new Parameter(prefix + ".se.reduce.bias", new[] { reduced }, decay: false);
        ExpandWeight = new Parameter(prefix + ".se.expand.weight", new[] { channels, reduced, 1, 1 }, decay: true);
        ExpandBias = new Parameter(prefix + ".se.expand.bias", new[] { channels }, decay: false);
        ReduceWeight.InitHeNormal(random, channels);
        ExpandWeight.InitHeNormal(random, reduced, 0.5f);
    }

    /// <summary>Channels.</summary>
    public int Channels { get; }

    /// <summary>Hidden width R.</summary>
    public int Reduced { get; }

    /// <summary><c>se.reduce.weight</c> [R, C, 1, 1].</summary>
    public Parameter ReduceWeight { get; }

    /// <summary><c>se.reduce.bias</c> [R].</summary>
    public Parameter ReduceBias { get; }

    /// <summary><c>se.expand.weight</c> [C, R, 1, 1].</summary>
    public Parameter ExpandWeight { get; }

    /// <summary><c>se.expand.bias</c> [C].</summary>
    public Parameter ExpandBias { get; }

    /// <summary>Forward on <paramref name="batch"/> images of <paramref name="pixels"/> NHWC rows each.</summary>
    public void Forward(float* x, int batch, int pixels, float* output)
    {
        int c = Channels, r = Reduced;
        if (_mean.Length < batch * c)
        {
            _mean = new float[batch * c];
            _gate = new float[batch * c];
            _hidden = new float[batch * r];
        }

        float[] wr = ReduceWeight.Value, br = ReduceBias.Value, we = ExpandWeight.Value, be = ExpandBias.Value;
        nint px = (nint)x, po = (nint)output;
        Par.For(batch, 1, (_, b0, b1) =>
        {
            for (int b = b0; b < b1; b++)
            {
                float* xi = (float*)px + ((nint)b * pixels * c);
                Span<float> m = _mean.AsSpan(b * c, c);
                m.Clear();
                for (int p = 0; p < pixels; p++)
                {
                    for (int ch = 0; ch < c; ch++)
                    {
                        m[ch] += xi[(p * c) + ch];
                    }
                }

                for (int ch = 0; ch < c; ch++)
                {
                    m[ch] /= pixels;
                }

                Span<float> h = _hidden.AsSpan(b * r, r);
                for (int j = 0; j < r; j++)
                {
                    float s = br[j];
                    for (int ch = 0; ch < c; ch++)
                    {
                        s += wr[(j * c) + ch] * m[ch];
                    }

                    h[j] = Math.Max(s, 0f);
                }

                Span<float> g = _gate.AsSpan(b * c, c);
                for (int ch = 0; ch < c; ch++)
                {
                    float s = be[ch];
                    for (int j = 0; j < r; j++)
                    {
                        s += we[(ch * r) + j] * h[j];
                    }

                    g[ch] = 1f / (1f + MathF.Exp(-s));
                }

                float* o = (float*)po + ((nint)b * pixels * c);
                for (int p = 0; p < pixels; p++)
                {
                    for (int ch = 0; ch < c; ch++)
                    {
                        o[(p * c) + ch] = Math.Max(xi[(p * c) + ch] * g[ch], 0f);
                    }
                }
            }
        });
    }

    /// <summary>Backward: from dOut (gradient of the block output) to dx (gradient of the pre-activation); accumulates SE grads.</summary>
    public void Backward(float* x, float* output, float* dOut, int batch, int pixels, float* dx)
    {
        int c = Channels, r = Reduced;
        float[] wr = ReduceWeight.Value, we = ExpandWeight.Value;
        var dWr = new float[batch * r * c];
        var dBr = new float[batch * r];
        var dWe = new float[batch * c * r];
        var dBe = new float[batch * c];
        nint px = (nint)x, po = (nint)output, pdo = (nint)dOut, pdx = (nint)dx;
        Par.For(batch, 1, (_, b0, b1) =>
        {
            var dGate = new float[c];
            var dH = new float[r];
            var dM = new float[c];
            for (int b = b0; b < b1; b++)
            {
                nint off = (nint)b * pixels * c;
                float* xi = (float*)px + off, oi = (float*)po + off, gi = (float*)pdo + off, di = (float*)pdx + off;
                ReadOnlySpan<float> g = _gate.AsSpan(b * c, c), h = _hidden.AsSpan(b * r, r), m = _mean.AsSpan(b * c, c);
                Array.Clear(dGate);
                for (int p = 0; p < pixels; p++)
                {
                    for (int ch = 0; ch < c; ch++)
                    {
                        int i = (p * c) + ch;
                        float dq = oi[i] > 0 ? gi[i] : 0f;
                        di[i] = dq * g[ch];
                        dGate[ch] += dq * xi[i];
                    }
                }

                Array.Clear(dH);
                for (int ch = 0; ch < c; ch++)
                {
                    float dl = dGate[ch] * g[ch] * (1 - g[ch]);
                    dBe[(b * c) + ch] = dl;
                    for (int j = 0; j < r; j++)
                    {
                        dWe[(b * c * r) + (ch * r) + j] = dl * h[j];
                        dH[j] += we[(ch * r) + j] * dl;
                    }
                }

                Array.Clear(dM);
                for (int j = 0; j < r; j++)
                {
                    float dh = h[j] > 0 ? dH[j] : 0f;
                    dBr[(b * r) + j] = dh;
                    for (int ch = 0; ch < c; ch++)
                    {
                        dWr[(b * r * c) + (j * c) + ch] = dh * m[ch];
                        dM[ch] += wr[(j * c) + ch] * dh;
                    }
                }

                for (int p = 0; p < pixels; p++)
                {
                    for (int ch = 0; ch < c; ch++)
                    {
                        di[(p * c) + ch] += dM[ch] / pixels;
                    }
                }
            }
        });
        for (int b = 0; b < batch; b++)
        {
            for (int i = 0; i < r * c; i++)
            {
                ReduceWeight.Grad[i] += dWr[(b * r * c) + i];
                ExpandWeight.Grad[i] += dWe[(b * c * r) + i];
            }

            for (int j = 0; j < r; j++)
            {
                ReduceBias.Grad[j] += dBr[(b * r) + j];
            }

            for (int ch = 0; ch < c; ch++)
            {
                ExpandBias.Grad[ch] += dBe[(b * c) + ch];
            }
        }
    }
}
