namespace Nabla.Vision.Transforms;

/// <summary>
/// Resizes the image with bilinear interpolation, as torchvision's <c>Resize</c> with
/// <c>InterpolationMode.BILINEAR</c> and <c>antialias=False</c> (PyTorch's <c>interpolate</c>, <c>align_corners=False</c>).
/// </summary>
/// <remarks>
/// With one size, the shorter side becomes <c>size</c> and the other keeps the aspect ratio
/// (long side = floor(size * long / short), as torchvision); with two, the output is exactly
/// height x width.
/// Output pixel (y, x) samples the input at ((y + 0.5) H / height - 0.5, (x + 0.5) W / width - 0.5),
/// clamped to the image, and mixes the four neighbours by their distances. Without antialiasing,
/// shrinking by more than 2 skips input pixels (aliasing); blur first or shrink in steps for that.
/// Deterministic: draws nothing. Values stay within the input's range.
/// </remarks>
public sealed class Resize : ITransform
{
    /// <summary>Resizes so the shorter side is <paramref name="size"/>, keeping the aspect ratio.</summary>
    public Resize(int size)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(size);
        Height = Width = size;
        KeepAspect = true;
    }

    /// <summary>Resizes to exactly <paramref name="height"/> x <paramref name="width"/>.</summary>
    public Resize(int height, int width)
    {
        Pixels.CheckSize(height, width, "size");
        Height = height;
        Width = width;
    }

    /// <summary>The target height (the shorter side's length when <see cref="KeepAspect"/>).</summary>
    public int Height { get; }

    /// <summary>The target width (the shorter side's length when <see cref="KeepAspect"/>).</summary>
    public int Width { get; }

    /// <summary>Whether only the shorter side is set and the aspect ratio kept.</summary>
    public bool KeepAspect { get; }

    /// <inheritdoc/>
    public Tensor Apply(Tensor image, Generator generator)
    {
        var (c, h, w) = ImageTensor.Dims(image, "Resize");
        int oh = Height, ow = Width;
        if (KeepAspect)
        {
            if (h <= w) { oh = Height; ow = Math.Max(1, (int)((long)Height * w / h)); }
            else { ow = Width; oh = Math.Max(1, (int)((long)Width * h / w)); }
        }
        return ImageTensor.Wrap(Bilinear(image.Data, c, h, w, oh, ow), c, oh, ow);
    }

    /// <summary>Bilinear resampling of a (C, H, W) image to (C, oh, ow), half-pixel centres.</summary>
    internal static float[] Bilinear(ReadOnlySpan<float> src, int c, int h, int w, int oh, int ow)
    {
        var dst = GC.AllocateUninitializedArray<float>(c * oh * ow);
        // The horizontal taps and weights are the same for every row: compute them once.
        var x0 = new int[ow];
        var x1 = new int[ow];
        var fx = new float[ow];
        Taps(w, ow, x0, x1, fx);
        var y0 = new int[oh];
        var y1 = new int[oh];
        var fy = new float[oh];
        Taps(h, oh, y0, y1, fy);
        for (int ch = 0; ch < c; ch++)
        {
            var plane = src.Slice(ch * h * w, h * w);
            for (int y = 0; y < oh; y++)
            {
                var top = plane.Slice(y0[y] * w, w);
                var bottom = plane.Slice(y1[y] * w, w);
                float wy = fy[y];
                var row = dst.AsSpan((ch * oh + y) * ow, ow);
                for (int x = 0; x < ow; x++)
                {
                    float t = top[x0[x]] + (top[x1[x]] - top[x0[x]]) * fx[x];
                    float b = bottom[x0[x]] + (bottom[x1[x]] - bottom[x0[x]]) * fx[x];
                    row[x] = t + (b - t) * wy;
                }
            }
        }
        return dst;
    }

    static void Taps(int size, int outSize, int[] i0, int[] i1, float[] frac)
    {
        double scale = (double)size / outSize;
        for (int o = 0; o < outSize; o++)
        {
            double s = Math.Max(0, (o + 0.5) * scale - 0.5);
            int lo = Math.Min((int)s, size - 1);
            i0[o] = lo;
            i1[o] = Math.Min(lo + 1, size - 1);
            frac[o] = (float)(s - lo);
        }
    }
}
