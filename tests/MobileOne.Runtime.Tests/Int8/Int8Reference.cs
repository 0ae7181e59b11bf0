using System;

namespace MobileOne.Runtime.Tests.Int8;

/// <summary>
/// The independent scalar INT8 reference: plain loops over unpacked weights (<c>[out][in]</c>, <c>[C][3][3]</c>,
/// <c>[out][in][3][3]</c>) and CHW indexes, int32 accumulation, and docs/quantization.md's formulas written out as the
/// contract states them. It shares no code with the runtime.
/// </summary>
internal static class Int8Reference
{
    /// <summary><c>y = (float)acc * m</c>; <c>q = (byte)round_even(min(max(y, 0f), 255f))</c>.</summary>
    public static byte Requantize(int acc, float m)
    {
        float y = (float)acc * m;
        y = MathF.Min(MathF.Max(y, 0f), 255f);
        return (byte)MathF.Round(y, MidpointRounding.ToEven);
    }

    /// <summary><c>f = (float)acc * d</c>.</summary>
    public static float Dequantize(int acc, float d) => (float)acc * d;

    /// <summary><c>q = (int)round_even(clamp(x * inv, -127, 127))</c>, stored as float.</summary>
    public static float QuantizeInput(float x, float inv) =>
        (int)MathF.Round(Math.Clamp(x * inv, -127f, 127f), MidpointRounding.ToEven);

    /// <summary><c>q = (byte)round_even(min(max(x * inv, 0f), 255f))</c>.</summary>
    public static byte QuantizeActivation(float x, float inv) =>
        (byte)MathF.Round(MathF.Min(MathF.Max(x * inv, 0f), 255f), MidpointRounding.ToEven);

    /// <summary>1x1 convolution sums <c>acc[o][p] = bias[o] + Σ_i in[i][p] * w[o][i]</c> on a CHW u8 input.</summary>
    public static int[] PointwiseSums(byte[] input, int pixels, int inChannels, sbyte[] weights, int[] bias, int outChannels)
    {
        var acc = new int[outChannels * pixels];
        for (int o = 0; o < outChannels; o++)
        {
            for (int p = 0; p < pixels; p++)
            {
                int s = bias[o];
                for (int i = 0; i < inChannels; i++)
                {
                    s += input[(i * pixels) + p] * weights[(o * inChannels) + i];
                }

                acc[(o * pixels) + p] = s;
            }
        }

        return acc;
    }

    /// <summary>Depthwise 3x3, pad 1 (zeros), sums <c>acc[c][oy][ox] = bias[c] + Σ in[c][y][x] * w[c][ky][kx]</c> on a CHW u8 input.</summary>
    public static int[] DepthwiseSums(byte[] input, int channels, int height, int width, sbyte[] weights, int[] bias, int stride, out int outHeight, out int outWidth)
    {
        int oh = ((height + 2 - 3) / stride) + 1;
        int ow = ((width + 2 - 3) / stride) + 1;
        var acc = new int[channels * oh * ow];
        for (int c = 0; c < channels; c++)
        {
            for (int oy = 0; oy < oh; oy++)
            {
                for (int ox = 0; ox < ow; ox++)
                {
                    int s = bias[c];
                    for (int ky = 0; ky < 3; ky++)
                    {
                        for (int kx = 0; kx < 3; kx++)
                        {
                            int y = (oy * stride) - 1 + ky;
                            int x = (ox * stride) - 1 + kx;
                            if (y >= 0 && y < height && x >= 0 && x < width)
                            {
                                s += input[(((c * height) + y) * width) + x] * weights[(c * 9) + (ky * 3) + kx];
                            }
                        }
                    }

                    acc[(((c * oh) + oy) * ow) + ox] = s;
                }
            }
        }

        outHeight = oh;
        outWidth = ow;
        return acc;
    }

    /// <summary>Full 3x3 convolution, pad 1, of a CHW int input with <c>[out][in][3][3]</c> int8 weights, plus bias.</summary>
    public static int[] StemSums(int[] input, int inChannels, int height, int width, sbyte[] weights, int[] bias, int outChannels, int stride, out int outHeight, out int outWidth)
    {
        int oh = ((height + 2 - 3) / stride) + 1;
        int ow = ((width + 2 - 3) / stride) + 1;
        var acc = new int[outChannels * oh * ow];
        for (int o = 0; o < outChannels; o++)
        {
            for (int oy = 0; oy < oh; oy++)
            {
                for (int ox = 0; ox < ow; ox++)
                {
                    int s = bias[o];
                    for (int i = 0; i < inChannels; i++)
                    {
                        for (int ky = 0; ky < 3; ky++)
                        {
                            for (int kx = 0; kx < 3; kx++)
                            {
                                int y = (oy * stride) - 1 + ky;
                                int x = (ox * stride) - 1 + kx;
                                if (y >= 0 && y < height && x >= 0 && x < width)
                                {
                                    s += input[(((i * height) + y) * width) + x] * weights[(((((o * inChannels) + i) * 3) + ky) * 3) + kx];
                                }
                            }
                        }
                    }

                    acc[(((o * oh) + oy) * ow) + ox] = s;
                }
            }
        }

        outHeight = oh;
        outWidth = ow;
        return acc;
    }

    /// <summary>Requantizes CHW sums with per-channel multipliers.</summary>
    public static byte[] RequantizeChw(int[] acc, int channels, int pixels, float[] m)
    {
        var q = new byte[acc.Length];
        for (int c = 0; c < channels; c++)
        {
            for (int p = 0; p < pixels; p++)
            {
                q[(c * pixels) + p] = Requantize(acc[(c * pixels) + p], m[c]);
            }
        }

        return q;
    }

    /// <summary>Dequantizes CHW sums with per-channel multipliers.</summary>
    public static float[] DequantizeChw(int[] acc, int channels, int pixels, float[] d)
    {
        var f = new float[acc.Length];
        for (int c = 0; c < channels; c++)
        {
            for (int p = 0; p < pixels; p++)
            {
                f[(c * pixels) + p] = Dequantize(acc[(c * pixels) + p], d[c]);
            }
        }

        return f;
    }
}
