using System;
using MobileOne.Runtime;
using Xunit;

namespace MobileOne.Runtime.Tests;

/// <summary>ImagePreprocessing against a plain double-precision resize-crop-normalise written here from the definition.</summary>
public class ImagePreprocessingTests
{
    private static readonly float[] Mean = { 0.485f, 0.456f, 0.406f };
    private static readonly float[] Std = { 0.229f, 0.224f, 0.225f };

    [Theory]
    [InlineData(640, 480, 224, 224, 0.875f)] // downscale, landscape
    [InlineData(300, 500, 224, 224, 0.9f)]   // downscale, portrait
    [InlineData(100, 90, 64, 64, 1f)]        // mild downscale, no crop margin
    [InlineData(20, 30, 64, 48, 0.95f)]      // upscale, non-square output
    [InlineData(1, 1, 8, 8, 1f)]             // a single pixel
    public void MatchesTheDoubleReference(int width, int height, int outWidth, int outHeight, float cropPct)
    {
        byte[] rgb = RandomImage(width, height, 3, seed: width + height);
        float[] actual = new float[3 * outHeight * outWidth];
        ImagePreprocessing.ToChw(rgb, width, height, width * 3, PixelFormat.Rgb24, actual, 3, outHeight, outWidth, Mean, Std, cropPct);
        double[] expected = Reference(rgb, width, height, 3, outWidth, outHeight, cropPct);
        for (int i = 0; i < expected.Length; i++)
        {
            Assert.True(Math.Abs(expected[i] - actual[i]) < 1e-4, $"index {i}: expected {expected[i]}, got {actual[i]}");
        }
    }

    [Fact]
    public void PixelFormatsAgreeAndGreyUsesBt601()
    {
        const int w = 37, h = 29;
        byte[] rgb = RandomImage(w, h, 3, seed: 5);
        byte[] rgba = new byte[w * h * 4], bgra = new byte[w * h * 4];
        for (int i = 0; i < w * h; i++)
        {
            rgba[(4 * i) + 0] = bgra[(4 * i) + 2] = rgb[3 * i];
            rgba[(4 * i) + 1] = bgra[(4 * i) + 1] = rgb[(3 * i) + 1];
            rgba[(4 * i) + 2] = bgra[(4 * i) + 0] = rgb[(3 * i) + 2];
            rgba[(4 * i) + 3] = bgra[(4 * i) + 3] = 255;
        }

        float[] a = new float[3 * 16 * 16], b = new float[a.Length], c = new float[a.Length];
        ImagePreprocessing.ToChw(rgb, w, h, w * 3, PixelFormat.Rgb24, a, 3, 16, 16, Mean, Std, 0.875f);
        ImagePreprocessing.ToChw(rgba, w, h, w * 4, PixelFormat.Rgba32, b, 3, 16, 16, Mean, Std, 0.875f);
        ImagePreprocessing.ToChw(bgra, w, h, w * 4, PixelFormat.Bgra32, c, 3, 16, 16, Mean, Std, 0.875f);
        Assert.Equal(a, b);
        Assert.Equal(a, c);

        // One grey channel from colour, no normalisation: 0.299 R + 0.587 G + 0.114 B on [0, 1].
        byte[] flat = new byte[3 * 4 * 4];
        for (int i = 0; i < 16; i++)
        {
            flat[3 * i] = 200;
            flat[(3 * i) + 1] = 100;
            flat[(3 * i) + 2] = 50;
        }

        float[] grey = new float[4 * 4];
        ImagePreprocessing.ToChw(flat, 4, 4, 12, PixelFormat.Rgb24, grey, 1, 4, 4, default, default);
        Assert.All(grey, v => Assert.Equal(((0.299 * 200) + (0.587 * 100) + (0.114 * 50)) / 255, v, 4));
    }

    [Fact]
    public void SameSizeWithoutCropIsTheImageItself()
    {
        byte[] rgb = RandomImage(24, 24, 3, seed: 9);
        float[] chw = new float[3 * 24 * 24];
        ImagePreprocessing.ToChw(rgb, 24, 24, 72, PixelFormat.Rgb24, chw, 3, 24, 24, default, default);
        for (int y = 0; y < 24; y++)
        {
            for (int x = 0; x < 24; x++)
            {
                for (int c = 0; c < 3; c++)
                {
                    Assert.Equal(rgb[(((y * 24) + x) * 3) + c] / 255f, chw[(c * 576) + (y * 24) + x], 5);
                }
            }
        }
    }

    [Fact]
    public void BadArgumentsSayWhatWasExpected()
    {
        byte[] rgb = new byte[10 * 10 * 3];
        float[] dst = new float[3 * 8 * 8];
        var e = Assert.Throws<ArgumentException>(() => ImagePreprocessing.ToChw(rgb, 10, 10, 30, PixelFormat.Rgb24, new float[5], 3, 8, 8, Mean, Std));
        Assert.Contains("3 x 8 x 8", e.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentException>(() => ImagePreprocessing.ToChw(rgb.AsSpan(0, 100), 10, 10, 30, PixelFormat.Rgb24, dst, 3, 8, 8, Mean, Std));
        Assert.Throws<ArgumentException>(() => ImagePreprocessing.ToChw(rgb, 10, 10, 20, PixelFormat.Rgb24, dst, 3, 8, 8, Mean, Std));
        Assert.Throws<ArgumentException>(() => ImagePreprocessing.ToChw(rgb, 10, 10, 30, PixelFormat.Rgb24, dst, 3, 8, 8, Mean, Std, 0f));
        Assert.Throws<ArgumentException>(() => ImagePreprocessing.ToChw(rgb, 10, 10, 30, PixelFormat.Rgb24, dst, 3, 8, 8, Mean.AsSpan(0, 2), Std));
        Assert.Throws<ArgumentException>(() => ImagePreprocessing.ToChw(rgb, 0, 10, 30, PixelFormat.Rgb24, dst, 3, 8, 8, Mean, Std));
    }

    [Fact]
    public void SteadyStateAllocatesNothing()
    {
        byte[] rgb = RandomImage(320, 240, 3, seed: 3);
        float[] dst = new float[3 * 64 * 64];
        ImagePreprocessing.ToChw(rgb, 320, 240, 960, PixelFormat.Rgb24, dst, 3, 64, 64, Mean, Std, 0.875f);
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 10; i++)
        {
            ImagePreprocessing.ToChw(rgb, 320, 240, 960, PixelFormat.Rgb24, dst, 3, 64, 64, Mean, Std, 0.875f);
        }

        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
    }

    private static byte[] RandomImage(int w, int h, int bpp, int seed)
    {
        var rng = new Random(seed);
        byte[] b = new byte[w * h * bpp];
        rng.NextBytes(b);
        return b;
    }

    /// <summary>
    /// The definition, in doubles: resized size (shorter side floor(size / cropPct)), centre-crop offsets, and each
    /// output value as the separable triangle-filter average (support max(1, scale)) of the source pixels.
    /// </summary>
    private static double[] Reference(byte[] rgb, int w, int h, int ch, int outW, int outH, float cropPct)
    {
        int size = Math.Max(outW, outH);
        int shortSide = (int)Math.Floor(size / (double)Math.Min(cropPct, 1f));
        int rw, rh;
        if (w <= h)
        {
            rw = shortSide;
            rh = (int)((long)shortSide * h / w);
        }
        else
        {
            rh = shortSide;
            rw = (int)((long)shortSide * w / h);
        }

        rw = Math.Max(rw, outW);
        rh = Math.Max(rh, outH);
        int left = (int)Math.Round((rw - outW) / 2.0), top = (int)Math.Round((rh - outH) / 2.0);
        double sx = (double)w / rw, sy = (double)h / rh;
        var result = new double[ch * outH * outW];
        for (int oy = 0; oy < outH; oy++)
        {
            double[] wy = Weights(top + oy, sy, h);
            for (int ox = 0; ox < outW; ox++)
            {
                double[] wx = Weights(left + ox, sx, w);
                for (int c = 0; c < ch; c++)
                {
                    double acc = 0;
                    for (int y = 0; y < h; y++)
                    {
                        if (wy[y] == 0)
                        {
                            continue;
                        }

                        for (int x = 0; x < w; x++)
                        {
                            acc += wy[y] * wx[x] * rgb[(((y * w) + x) * ch) + c];
                        }
                    }

                    result[(c * outH * outW) + (oy * outW) + ox] = ((acc / 255.0) - Mean[c]) / Std[c];
                }
            }
        }

        return result;
    }

    private static double[] Weights(int o, double scale, int n)
    {
        double support = Math.Max(1, scale), center = ((o + 0.5) * scale) - 0.5;
        var wts = new double[n];
        double sum = 0;
        for (int i = 0; i < n; i++)
        {
            wts[i] = Math.Max(0, 1 - (Math.Abs(i - center) / support));
            sum += wts[i];
        }

        if (sum == 0)
        {
            wts[Math.Clamp((int)Math.Round(center), 0, n - 1)] = 1;
            return wts;
        }

        for (int i = 0; i < n; i++)
        {
            wts[i] /= sum;
        }

        return wts;
    }
}
