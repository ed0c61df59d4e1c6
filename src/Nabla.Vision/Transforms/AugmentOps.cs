namespace Nabla.Vision.Transforms;

/// <summary>
/// The <see cref="AugmentOp"/> operations on (C, H, W) images in [0, 1], and the magnitude tables
/// of torchvision's RandAugment and TrivialAugmentWide.
/// </summary>
public static class AugmentOps
{
    /// <summary>Applies <paramref name="op"/> with magnitude <paramref name="magnitude"/> (its meaning per op is on <see cref="AugmentOp"/>).</summary>
    public static Tensor Apply(AugmentOp op, Tensor image, double magnitude)
    {
        var (c, h, w) = ImageTensor.Dims(image, "AugmentOps.Apply");
        var x = image.ToArray();
        float m = (float)magnitude;
        switch (op)
        {
            case AugmentOp.Identity: break;
            case AugmentOp.ShearX: x = Affine(x, c, h, w, 1, m, 0, 0, 1, 0); break;
            case AugmentOp.ShearY: x = Affine(x, c, h, w, 1, 0, 0, m, 1, 0); break;
            case AugmentOp.TranslateX: x = Affine(x, c, h, w, 1, 0, -m, 0, 1, 0); break;
            case AugmentOp.TranslateY: x = Affine(x, c, h, w, 1, 0, 0, 0, 1, -m); break;
            case AugmentOp.Rotate: x = RandomRotation.Rotate(x, c, h, w, magnitude, bilinear: false, fill: 0f); break;
            case AugmentOp.Brightness: Blend(x, x, 1 + m, black: true); break;
            case AugmentOp.Color: if (c == 3) Blend(x, GrayPlanes(x, h * w), 1 + m); break;
            case AugmentOp.Contrast: Blend(x, MeanGrayImage(x, c, h * w), 1 + m); break;
            case AugmentOp.Sharpness: Blend(x, Smooth(x, c, h, w), 1 + m); break;
            case AugmentOp.Posterize: Posterize(x, (int)magnitude); break;
            case AugmentOp.Solarize:
                for (int i = 0; i < x.Length; i++) if (x[i] >= m) x[i] = 1 - x[i];
                break;
            case AugmentOp.AutoContrast: AutoContrast(x, c, h * w); break;
            case AugmentOp.Equalize: Equalize(x, c, h * w); break;
            default: throw new ArgumentOutOfRangeException(nameof(op), $"AugmentOps.Apply: unknown operation {op}");
        }
        return ImageTensor.Wrap(x, c, h, w);
    }

    /// <summary>Whether the op's magnitude is negated at random (with probability 1/2) when drawn.</summary>
    public static bool IsSigned(AugmentOp op) => op is AugmentOp.ShearX or AugmentOp.ShearY or AugmentOp.TranslateX
        or AugmentOp.TranslateY or AugmentOp.Rotate or AugmentOp.Brightness or AugmentOp.Color
        or AugmentOp.Contrast or AugmentOp.Sharpness;

    /// <summary>
    /// The magnitude of <paramref name="op"/> at bin <paramref name="bin"/> of <paramref name="bins"/>,
    /// from torchvision's tables: the wide ones of TrivialAugmentWide (shear 0.99, translate 32 pixels,
    /// rotate 135 degrees, colour 0.99, posterize down to 2 bits) or RandAugment's (shear 0.3, translate
    /// 150/331 of the side, rotate 30, colour 0.9, posterize down to 4 bits). Solarize thresholds run
    /// from 1 down to 0 in both.
    /// </summary>
    public static double Magnitude(AugmentOp op, int bin, int bins, bool wide, int height, int width)
    {
        double t = bins > 1 ? (double)bin / (bins - 1) : 0;
        return op switch
        {
            AugmentOp.ShearX or AugmentOp.ShearY => t * (wide ? 0.99 : 0.3),
            AugmentOp.TranslateX => t * (wide ? 32 : 150.0 / 331 * width),
            AugmentOp.TranslateY => t * (wide ? 32 : 150.0 / 331 * height),
            AugmentOp.Rotate => t * (wide ? 135 : 30),
            AugmentOp.Brightness or AugmentOp.Color or AugmentOp.Contrast or AugmentOp.Sharpness => t * (wide ? 0.99 : 0.9),
            AugmentOp.Posterize => 8 - (int)Math.Round(bin / ((bins - 1) / (wide ? 6.0 : 4.0)), MidpointRounding.ToEven),
            AugmentOp.Solarize => 1 - t,
            _ => 0,
        };
    }

    /// <summary>Nearest-neighbour affine resampling: output(x, y) = input(a x + b y + tx, d x + e y + ty), zero outside.</summary>
    static float[] Affine(float[] src, int c, int h, int w, float a, float b, float tx, float d, float e, float ty)
    {
        var dst = new float[src.Length];
        int plane = h * w;
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++)
            {
                int sx = (int)MathF.Round(a * x + b * y + tx, MidpointRounding.ToEven);
                int sy = (int)MathF.Round(d * x + e * y + ty, MidpointRounding.ToEven);
                if ((uint)sx >= (uint)w || (uint)sy >= (uint)h) continue;
                for (int ch = 0; ch < c; ch++) dst[ch * plane + y * w + x] = src[ch * plane + sy * w + sx];
            }
        return dst;
    }

    /// <summary>x = clamp(f x + (1 - f) other), elementwise; with <paramref name="black"/> the other image is 0.</summary>
    static void Blend(float[] x, float[] other, float f, bool black = false)
    {
        for (int i = 0; i < x.Length; i++)
            x[i] = Math.Clamp(f * x[i] + (black ? 0 : (1 - f) * other[i]), 0f, 1f);
    }

    static float Gray(float r, float g, float b) => 0.2989f * r + 0.587f * g + 0.114f * b;

    /// <summary>The grayscale of an RGB image repeated in three planes.</summary>
    static float[] GrayPlanes(float[] x, int plane)
    {
        var g = new float[x.Length];
        for (int i = 0; i < plane; i++) g[i] = g[plane + i] = g[2 * plane + i] = Gray(x[i], x[plane + i], x[2 * plane + i]);
        return g;
    }

    /// <summary>An image of the mean gray level (of the grayscale image, or of the one channel).</summary>
    static float[] MeanGrayImage(float[] x, int c, int plane)
    {
        double sum = 0;
        for (int i = 0; i < plane; i++) sum += c == 3 ? Gray(x[i], x[plane + i], x[2 * plane + i]) : x[i];
        var g = new float[x.Length];
        Array.Fill(g, (float)(sum / plane));
        return g;
    }

    /// <summary>PIL's SMOOTH filter [[1, 1, 1], [1, 5, 1], [1, 1, 1]] / 13 on interior pixels; border pixels kept.</summary>
    static float[] Smooth(float[] x, int c, int h, int w)
    {
        var s = (float[])x.Clone();
        for (int ch = 0; ch < c; ch++)
        {
            int p = ch * h * w;
            for (int y = 1; y < h - 1; y++)
                for (int i = p + y * w + 1; i < p + y * w + w - 1; i++)
                    s[i] = (x[i - w - 1] + x[i - w] + x[i - w + 1] + x[i - 1] + 5 * x[i] + x[i + 1]
                            + x[i + w - 1] + x[i + w] + x[i + w + 1]) / 13f;
        }
        return s;
    }

    static void Posterize(float[] x, int bits)
    {
        if (bits is < 0 or > 8)
            throw new ArgumentOutOfRangeException(nameof(bits), $"Posterize: expected 0 to 8 bits; got {bits}");
        float levels = 1 << bits;
        for (int i = 0; i < x.Length; i++) x[i] = Math.Clamp(MathF.Floor(x[i] * levels), 0, levels - 1) / levels;
    }

    static void AutoContrast(float[] x, int c, int plane)
    {
        for (int ch = 0; ch < c; ch++)
        {
            var s = x.AsSpan(ch * plane, plane);
            float min = float.MaxValue, max = float.MinValue;
            foreach (var v in s) { min = Math.Min(min, v); max = Math.Max(max, v); }
            if (max <= min) continue; // a flat channel stays as it is
            float scale = 1 / (max - min);
            for (int i = 0; i < s.Length; i++) s[i] = Math.Clamp((s[i] - min) * scale, 0f, 1f);
        }
    }

    /// <summary>PIL's equalize on the bytes floor(x 255.999): a lookup table from the cumulative histogram.</summary>
    static void Equalize(float[] x, int c, int plane)
    {
        Span<int> hist = stackalloc int[256];
        Span<int> lut = stackalloc int[256];
        for (int ch = 0; ch < c; ch++)
        {
            var s = x.AsSpan(ch * plane, plane);
            hist.Clear();
            foreach (var v in s) hist[ToByte(v)]++;
            int last = 255;
            while (last > 0 && hist[last] == 0) last--;
            int step = (plane - hist[last]) / 255;
            if (step == 0) continue; // (almost) one level: nothing to spread
            int cum = step / 2;
            for (int k = 0; k < 256; k++)
            {
                lut[k] = Math.Min(cum / step, 255);
                cum += hist[k];
            }
            for (int i = 0; i < s.Length; i++) s[i] = lut[ToByte(s[i])] / 255f;
        }
    }

    static int ToByte(float v) => (int)Math.Clamp(v * 255.999f, 0f, 255f);
}
