namespace Nabla.Vision.Transforms;

/// <summary>
/// Randomly changes brightness, contrast, saturation and hue, as torchvision's
/// <c>ColorJitter(brightness, contrast, saturation, hue)</c>, on images with values in [0, 1].
/// </summary>
/// <remarks>
/// Factors: brightness, contrast and saturation factors are uniform in [max(0, 1 - v), 1 + v] for
/// the argument v (0 turns that adjustment off); the hue shift is uniform in [-hue, hue] of a full
/// turn (hue in [0, 0.5]). The four adjustments run in a random order, as torchvision.
/// Draws: a permutation of the four (3 draws), then one factor for each enabled adjustment in the
/// order brightness, contrast, saturation, hue.
/// Formulas (each result clamped to [0, 1]; gray = 0.2989 R + 0.587 G + 0.114 B):
/// brightness x f; contrast f x + (1 - f) mean(gray); saturation f x + (1 - f) gray (per pixel);
/// hue: rotate the HSV hue by the shift. Saturation and hue leave a one-channel image unchanged.
/// Colour jitter makes a classifier rely less on exact colours and lighting, which vary between
/// cameras and scenes more than shapes do.
/// </remarks>
public sealed class ColorJitter : ITransform
{
    /// <summary>Creates the transform; each argument is a non-negative strength, hue at most 0.5.</summary>
    public ColorJitter(double brightness = 0, double contrast = 0, double saturation = 0, double hue = 0)
    {
        CheckStrength(brightness, nameof(brightness));
        CheckStrength(contrast, nameof(contrast));
        CheckStrength(saturation, nameof(saturation));
        if (!(hue >= 0 && hue <= 0.5))
            throw new ArgumentOutOfRangeException(nameof(hue), $"hue values should be between (-0.5, 0.5); got hue = {hue}");
        Brightness = brightness;
        Contrast = contrast;
        Saturation = saturation;
        Hue = hue;
    }

    /// <summary>The brightness strength.</summary>
    public double Brightness { get; }

    /// <summary>The contrast strength.</summary>
    public double Contrast { get; }

    /// <summary>The saturation strength.</summary>
    public double Saturation { get; }

    /// <summary>The largest hue shift, as a fraction of a turn.</summary>
    public double Hue { get; }

    /// <inheritdoc/>
    public Tensor Apply(Tensor image, Generator generator)
    {
        var (c, h, w) = ImageTensor.Dims(image, "ColorJitter");
        ArgumentNullException.ThrowIfNull(generator);
        if (c != 1 && c != 3)
            throw new ShapeException("ColorJitter", "an image of shape (1, H, W) or (3, H, W)", image.ShapeString);
        Span<int> order = [0, 1, 2, 3];
        for (int i = order.Length - 1; i > 0; i--)
        {
            int j = (int)generator.NextInt64(0, i + 1);
            (order[i], order[j]) = (order[j], order[i]);
        }
        double b = Factor(generator, Brightness), ct = Factor(generator, Contrast), s = Factor(generator, Saturation);
        double hue = Hue > 0 ? Pixels.Uniform(generator, -Hue, Hue) : 0;

        var x = image.ToArray();
        int plane = h * w;
        foreach (int op in order)
        {
            switch (op)
            {
                case 0 when Brightness > 0: Blend(x, (float)b, 0f); break;
                case 1 when Contrast > 0: Blend(x, (float)ct, MeanGray(x, c, plane)); break;
                case 2 when Saturation > 0 && c == 3: Saturate(x, plane, (float)s); break;
                case 3 when Hue > 0 && c == 3: ShiftHue(x, plane, (float)hue); break;
            }
        }
        return ImageTensor.Wrap(x, c, h, w);
    }

    static void CheckStrength(double v, string name)
    {
        if (!(v >= 0) || double.IsInfinity(v))
            throw new ArgumentOutOfRangeException(name, $"If {name} is a single number, it must be non negative; got {v}");
    }

    static double Factor(Generator g, double strength) =>
        strength > 0 ? Pixels.Uniform(g, Math.Max(0, 1 - strength), 1 + strength) : 1;

    /// <summary>x = clamp(f x + (1 - f) other).</summary>
    static void Blend(Span<float> x, float f, float other)
    {
        float add = (1 - f) * other;
        for (int i = 0; i < x.Length; i++) x[i] = Math.Clamp(f * x[i] + add, 0f, 1f);
    }

    static float MeanGray(ReadOnlySpan<float> x, int c, int plane)
    {
        double sum = 0;
        if (c == 1)
            for (int i = 0; i < plane; i++) sum += x[i];
        else
            for (int i = 0; i < plane; i++) sum += Gray(x[i], x[plane + i], x[2 * plane + i]);
        return (float)(sum / plane);
    }

    static float Gray(float r, float g, float b) => 0.2989f * r + 0.587f * g + 0.114f * b;

    static void Saturate(Span<float> x, int plane, float f)
    {
        for (int i = 0; i < plane; i++)
        {
            float gray = (1 - f) * Gray(x[i], x[plane + i], x[2 * plane + i]);
            x[i] = Math.Clamp(f * x[i] + gray, 0f, 1f);
            x[plane + i] = Math.Clamp(f * x[plane + i] + gray, 0f, 1f);
            x[2 * plane + i] = Math.Clamp(f * x[2 * plane + i] + gray, 0f, 1f);
        }
    }

    /// <summary>Rotates each pixel's hue by <paramref name="shift"/> of a turn through HSV.</summary>
    static void ShiftHue(Span<float> x, int plane, float shift)
    {
        for (int i = 0; i < plane; i++)
        {
            float r = x[i], g = x[plane + i], b = x[2 * plane + i];
            float max = Math.Max(r, Math.Max(g, b)), min = Math.Min(r, Math.Min(g, b));
            float delta = max - min;
            if (delta <= 0) continue; // gray: no hue to rotate
            float hue = max == r ? (g - b) / delta : max == g ? 2 + (b - r) / delta : 4 + (r - g) / delta;
            hue = hue / 6 + shift;
            hue -= MathF.Floor(hue);
            float s = delta / max, v = max;
            float h6 = hue * 6;
            int sector = Math.Min((int)h6, 5);
            float f = h6 - sector;
            float p = v * (1 - s), q = v * (1 - s * f), t = v * (1 - s * (1 - f));
            (r, g, b) = sector switch
            {
                0 => (v, t, p),
                1 => (q, v, p),
                2 => (p, v, t),
                3 => (p, q, v),
                4 => (t, p, v),
                _ => (v, p, q),
            };
            x[i] = Math.Clamp(r, 0f, 1f);
            x[plane + i] = Math.Clamp(g, 0f, 1f);
            x[2 * plane + i] = Math.Clamp(b, 0f, 1f);
        }
    }
}
