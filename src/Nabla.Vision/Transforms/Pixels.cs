namespace Nabla.Vision.Transforms;

/// <summary>Low-level pixel loops shared by the transforms, on (C, H, W) planes.</summary>
internal static class Pixels
{
    /// <summary>
    /// Copies the window of size (h, w) at (top, left) out of a (C, H, W) image; pixels of the window
    /// outside the image are zero (so a window larger than the image, or hanging off it, pads with zeros).
    /// </summary>
    public static float[] Crop(ReadOnlySpan<float> src, int c, int height, int width, int top, int left, int h, int w)
    {
        var dst = new float[c * h * w];
        int x0 = Math.Max(0, -left), x1 = Math.Min(w, width - left);
        if (x1 <= x0) return dst;
        for (int ch = 0; ch < c; ch++)
            for (int y = 0; y < h; y++)
            {
                int sy = top + y;
                if ((uint)sy >= (uint)height) continue;
                src.Slice(ch * height * width + sy * width + left + x0, x1 - x0)
                   .CopyTo(dst.AsSpan(ch * h * w + y * w + x0, x1 - x0));
            }
        return dst;
    }

    /// <summary>Reverses each row in place (a horizontal flip), rows of length <paramref name="width"/>.</summary>
    public static void FlipRows(Span<float> data, int width)
    {
        for (int r = 0; r < data.Length; r += width) data.Slice(r, width).Reverse();
    }

    /// <summary>Reverses the order of the rows of each plane in place (a vertical flip).</summary>
    public static void FlipColumns(Span<float> data, int c, int h, int w)
    {
        for (int ch = 0; ch < c; ch++)
            for (int top = 0, bottom = h - 1; top < bottom; top++, bottom--)
            {
                var a = data.Slice((ch * h + top) * w, w);
                var b = data.Slice((ch * h + bottom) * w, w);
                for (int x = 0; x < w; x++) (a[x], b[x]) = (b[x], a[x]);
            }
    }

    /// <summary>Whether a Bernoulli(p) draw succeeds; draws nothing when p is 0 or 1, as the choice is sure.</summary>
    public static bool Chance(Generator generator, double p) =>
        p >= 1 || (p > 0 && generator.NextDouble() < p);

    /// <summary>A uniform double in [low, high).</summary>
    public static double Uniform(Generator generator, double low, double high) =>
        low + (high - low) * generator.NextDouble();

    /// <summary>Checks a probability argument with torchvision's wording.</summary>
    public static void CheckProbability(double p, string name)
    {
        if (!(p >= 0 && p <= 1))
            throw new ArgumentOutOfRangeException(name, $"{name} should be a probability between 0 and 1; got {p}");
    }

    /// <summary>Checks a (height, width) size argument.</summary>
    public static void CheckSize(int height, int width, string name)
    {
        if (height <= 0 || width <= 0)
            throw new ArgumentOutOfRangeException(name, $"{name} should be positive; got ({height}, {width})");
    }
}
