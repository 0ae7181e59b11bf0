using System;
using System.Buffers;
using System.Numerics;

namespace MobileOne.Runtime;

/// <summary>Layout of interleaved 8-bit pixels.</summary>
public enum PixelFormat
{
    /// <summary>R, G, B bytes.</summary>
    Rgb24,

    /// <summary>R, G, B, A bytes (alpha ignored).</summary>
    Rgba32,

    /// <summary>B, G, R, A bytes (alpha ignored), e.g. Windows bitmaps.</summary>
    Bgra32,

    /// <summary>One grey byte per pixel.</summary>
    Gray8,
}

/// <summary>
/// Turns interleaved 8-bit images of any size into a model's normalised CHW input, the way timm evaluates
/// MobileOne: resize so the shorter side is <c>floor(size / cropPct)</c> (bilinear with antialiasing, i.e. a
/// triangle filter widened by the downscale factor, as PIL and torchvision's <c>antialias=True</c> do), take the
/// centre crop, scale to [0, 1], subtract <c>mean</c> and divide by <c>std</c>.
/// </summary>
/// <remarks>
/// Allocation-free in steady state: the one intermediate buffer comes from <see cref="ArrayPool{T}.Shared"/>. The
/// vertical pass and the normalisation are vectorised with <see cref="Vector{T}"/>.
/// </remarks>
public static class ImagePreprocessing
{
    /// <summary>The largest image side accepted.</summary>
    public const int MaxSide = 1 << 15;

    /// <summary>Writes the model input for one image into <paramref name="destination"/> (CHW).</summary>
    /// <param name="pixels">Interleaved pixels, <paramref name="height"/> rows of <paramref name="rowStride"/> bytes.</param>
    /// <param name="width">Image width in pixels.</param>
    /// <param name="height">Image height in pixels.</param>
    /// <param name="rowStride">Bytes from one row to the next (at least width x bytes per pixel).</param>
    /// <param name="format">Pixel layout.</param>
    /// <param name="destination">Receives <c>channels x outHeight x outWidth</c> floats.</param>
    /// <param name="channels">Model input channels: 3 (RGB) or 1 (grey; colour images are converted with ITU-R BT.601 weights).</param>
    /// <param name="outHeight">Model input height.</param>
    /// <param name="outWidth">Model input width.</param>
    /// <param name="mean">Per-channel mean on [0, 1], or empty for none.</param>
    /// <param name="std">Per-channel standard deviation, or empty for none.</param>
    /// <param name="cropPct">Fraction of the resized image kept by the centre crop, in (0, 1]; 1 resizes straight to the crop.</param>
    /// <exception cref="ArgumentException">A size, length or parameter does not fit; the message says what was expected.</exception>
    public static void ToChw(
        ReadOnlySpan<byte> pixels, int width, int height, int rowStride, PixelFormat format,
        Span<float> destination, int channels, int outHeight, int outWidth,
        ReadOnlySpan<float> mean, ReadOnlySpan<float> std, float cropPct = 1f)
    {
        int bpp = BytesPerPixel(format);
        if (width < 1 || height < 1 || width > MaxSide || height > MaxSide)
        {
            throw new ArgumentException($"Expected an image of 1 to {MaxSide} pixels on each side, got {width}x{height}.", nameof(width));
        }

        if (rowStride < width * bpp)
        {
            throw new ArgumentException($"Expected a row stride of at least {width * bpp} bytes ({width} pixels of {bpp} bytes), got {rowStride}.", nameof(rowStride));
        }

        if (pixels.Length < ((long)(height - 1) * rowStride) + ((long)width * bpp))
        {
            throw new ArgumentException($"Expected at least {((long)(height - 1) * rowStride) + ((long)width * bpp)} bytes of pixels, got {pixels.Length}.", nameof(pixels));
        }

        if (channels != 1 && channels != 3)
        {
            throw new ArgumentException($"Expected 1 or 3 model input channels, got {channels}.", nameof(channels));
        }

        if (outHeight < 1 || outWidth < 1 || destination.Length != (long)channels * outHeight * outWidth)
        {
            throw new ArgumentException($"Expected a destination of {channels} x {outHeight} x {outWidth} floats, got {destination.Length}.", nameof(destination));
        }

        if ((!mean.IsEmpty || !std.IsEmpty) && (mean.Length != channels || std.Length != channels))
        {
            throw new ArgumentException($"Expected mean and std of {channels} values each (or both empty), got {mean.Length} and {std.Length}.", nameof(mean));
        }

        if (!(cropPct > 0 && cropPct <= 1))
        {
            throw new ArgumentException($"Expected a crop fraction in (0, 1], got {cropPct}.", nameof(cropPct));
        }

        // Resized size: shorter side to floor(size / cropPct), the other keeping the aspect ratio (torchvision Resize(int)).
        ResizedSize(width, height, outWidth, outHeight, cropPct, out int resizedWidth, out int resizedHeight);
        int left = (int)Math.Round((resizedWidth - outWidth) / 2.0, MidpointRounding.ToEven);
        int top = (int)Math.Round((resizedHeight - outHeight) / 2.0, MidpointRounding.ToEven);

        double scaleX = (double)width / resizedWidth, scaleY = (double)height / resizedHeight;
        Window(top, outHeight, scaleY, height, out int rowFirst, out int rowLast);
        int rows = rowLast - rowFirst;
        int rowFloats = outWidth * channels;
        float[] horizontal = ArrayPool<float>.Shared.Rent(rows * rowFloats);
        try
        {
            HorizontalPass(pixels, width, rowStride, format, bpp, channels, rowFirst, rows, left, outWidth, scaleX, horizontal);
            VerticalPassAndNormalise(horizontal, rowFirst, rows, rowFloats, top, outHeight, outWidth, scaleY, height, channels, mean, std, destination);
        }
        finally
        {
            ArrayPool<float>.Shared.Return(horizontal);
        }
    }

    /// <summary>The size an image is resized to before the centre crop.</summary>
    /// <param name="width">Image width.</param>
    /// <param name="height">Image height.</param>
    /// <param name="cropWidth">Model input width.</param>
    /// <param name="cropHeight">Model input height.</param>
    /// <param name="cropPct">Crop fraction.</param>
    /// <param name="resizedWidth">Receives the resized width.</param>
    /// <param name="resizedHeight">Receives the resized height.</param>
    public static void ResizedSize(int width, int height, int cropWidth, int cropHeight, float cropPct, out int resizedWidth, out int resizedHeight)
    {
        if (cropPct >= 1f)
        {
            // No margin: scale the shorter side to the crop and keep the aspect ratio, so the crop still fits.
            cropPct = 1f;
        }

        int size = Math.Max(cropWidth, cropHeight);
        int shortSide = (int)Math.Floor(size / (double)cropPct);
        if (width <= height)
        {
            resizedWidth = shortSide;
            resizedHeight = (int)((long)shortSide * height / width);
        }
        else
        {
            resizedHeight = shortSide;
            resizedWidth = (int)((long)shortSide * width / height);
        }

        resizedWidth = Math.Max(resizedWidth, cropWidth);
        resizedHeight = Math.Max(resizedHeight, cropHeight);
    }

    private static int BytesPerPixel(PixelFormat format) => format switch
    {
        PixelFormat.Rgb24 => 3,
        PixelFormat.Rgba32 or PixelFormat.Bgra32 => 4,
        PixelFormat.Gray8 => 1,
        _ => throw new ArgumentException($"Unknown pixel format {format}.", nameof(format)),
    };

    /// <summary>Filter support in source pixels: 1 (bilinear) when enlarging, the downscale factor when shrinking.</summary>
    private static double Support(double scale) => Math.Max(1.0, scale);

    /// <summary>Source rows [first, last) that output rows start..start+count of the resized image read.</summary>
    private static void Window(int start, int count, double scale, int size, out int first, out int last)
    {
        double support = Support(scale);
        double c0 = ((start + 0.5) * scale) - 0.5, c1 = ((start + count - 0.5) * scale) - 0.5;
        first = Math.Max(0, (int)Math.Floor(c0 - support) + 1);
        last = Math.Min(size, (int)Math.Ceiling(c1 + support));
        if (last <= first)
        {
            last = Math.Min(size, first + 1);
        }
    }

    /// <summary>Taps of one output coordinate: the first source index, and normalised triangle weights into <paramref name="weights"/>.</summary>
    private static int Taps(int outIndex, double scale, int size, Span<float> weights, out int first)
    {
        double support = Support(scale);
        double center = ((outIndex + 0.5) * scale) - 0.5;
        first = Math.Max(0, (int)Math.Floor(center - support) + 1);
        int last = Math.Min(size - 1, (int)Math.Ceiling(center + support) - 1);
        if (last < first)
        {
            // The centre lies outside the image (tiny images): take the nearest edge pixel.
            first = Math.Clamp((int)Math.Round(center), 0, size - 1);
            weights[0] = 1;
            return 1;
        }

        int n = last - first + 1;
        double sum = 0;
        for (int i = 0; i < n; i++)
        {
            double w = Math.Max(0, 1 - (Math.Abs(first + i - center) / support));
            weights[i] = (float)w;
            sum += w;
        }

        float inv = (float)(1 / sum);
        for (int i = 0; i < n; i++)
        {
            weights[i] *= inv;
        }

        return n;
    }

    private static void HorizontalPass(
        ReadOnlySpan<byte> pixels, int width, int rowStride, PixelFormat format, int bpp, int channels,
        int rowFirst, int rows, int left, int outWidth, double scaleX, float[] horizontal)
    {
        int maxTaps = (int)Math.Ceiling(2 * Support(scaleX)) + 2;
        Span<float> weights = maxTaps <= 1024 ? stackalloc float[maxTaps] : new float[maxTaps];
        int r = format == PixelFormat.Bgra32 ? 2 : 0, b = format == PixelFormat.Bgra32 ? 0 : 2;
        for (int ox = 0; ox < outWidth; ox++)
        {
            int n = Taps(left + ox, scaleX, width, weights, out int x0);
            for (int y = 0; y < rows; y++)
            {
                ReadOnlySpan<byte> row = pixels.Slice((rowFirst + y) * rowStride);
                float cr = 0, cg = 0, cb = 0;
                if (format == PixelFormat.Gray8)
                {
                    for (int i = 0; i < n; i++)
                    {
                        cr += weights[i] * row[x0 + i];
                    }

                    cg = cb = cr;
                }
                else
                {
                    for (int i = 0; i < n; i++)
                    {
                        int p = (x0 + i) * bpp;
                        float w = weights[i];
                        cr += w * row[p + r];
                        cg += w * row[p + 1];
                        cb += w * row[p + b];
                    }
                }

                int o = (y * outWidth * channels) + (ox * channels);
                if (channels == 3)
                {
                    horizontal[o] = cr;
                    horizontal[o + 1] = cg;
                    horizontal[o + 2] = cb;
                }
                else
                {
                    horizontal[o] = format == PixelFormat.Gray8 ? cr : (0.299f * cr) + (0.587f * cg) + (0.114f * cb);
                }
            }
        }
    }

    private static void VerticalPassAndNormalise(
        float[] horizontal, int rowFirst, int rows, int rowFloats, int top, int outHeight, int outWidth, double scaleY,
        int height, int channels, ReadOnlySpan<float> mean, ReadOnlySpan<float> std, Span<float> destination)
    {
        int maxTaps = (int)Math.Ceiling(2 * Support(scaleY)) + 2;
        Span<float> weights = maxTaps <= 1024 ? stackalloc float[maxTaps] : new float[maxTaps];
        Span<float> row = rowFloats <= 4096 ? stackalloc float[rowFloats] : new float[rowFloats];

        // value = pixel / 255 then (value - mean) / std, folded into one multiply-add per channel.
        Span<float> scale = stackalloc float[3];
        Span<float> offset = stackalloc float[3];
        for (int c = 0; c < channels; c++)
        {
            float s = mean.IsEmpty ? 1f : std[c];
            scale[c] = 1f / (255f * s);
            offset[c] = mean.IsEmpty ? 0f : -mean[c] / s;
        }

        int plane = outHeight * outWidth;
        for (int oy = 0; oy < outHeight; oy++)
        {
            int n = Taps(top + oy, scaleY, height, weights, out int y0);
            row.Clear();
            for (int i = 0; i < n; i++)
            {
                AddScaled(horizontal.AsSpan((y0 + i - rowFirst) * rowFloats, rowFloats), weights[i], row);
            }

            for (int c = 0; c < channels; c++)
            {
                Span<float> dst = destination.Slice((c * plane) + (oy * outWidth), outWidth);
                float s = scale[c], o = offset[c];
                for (int x = 0; x < outWidth; x++)
                {
                    // Rounding to the byte grid first would match PIL's uint8 output; we keep full precision.
                    dst[x] = (row[(x * channels) + c] * s) + o;
                }
            }
        }

        _ = rows;
    }

    /// <summary><c>dst += w * src</c>, vectorised.</summary>
    private static void AddScaled(ReadOnlySpan<float> src, float w, Span<float> dst)
    {
        int i = 0;
        if (Vector.IsHardwareAccelerated)
        {
            var wv = new Vector<float>(w);
            for (; i <= src.Length - Vector<float>.Count; i += Vector<float>.Count)
            {
                (new Vector<float>(dst.Slice(i)) + (wv * new Vector<float>(src.Slice(i)))).CopyTo(dst.Slice(i));
            }
        }

        for (; i < src.Length; i++)
        {
            dst[i] += w * src[i];
        }
    }
}
