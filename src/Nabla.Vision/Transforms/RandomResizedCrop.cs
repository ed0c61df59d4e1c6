namespace Nabla.Vision.Transforms;

/// <summary>
/// Crops a random window of random area and aspect ratio and resizes it (bilinear) to
/// <see cref="Height"/> x <see cref="Width"/>, as torchvision's
/// <c>RandomResizedCrop(size, scale=(0.08, 1.0), ratio=(3/4, 4/3))</c>: the standard ImageNet
/// training augmentation (Szegedy et al. 2015, "Inception").
/// </summary>
/// <remarks>
/// Algorithm (torchvision's): up to 10 attempts each draw an area fraction s uniform in
/// <see cref="Scale"/> and a log aspect ratio r (width / height) uniform in [log ratio.min, log ratio.max];
/// the window is w = round(sqrt(s H W r)), h = round(sqrt(s H W / r)); if it fits, its corner is drawn
/// uniformly (top, then left). If no attempt fits, the largest centred window whose aspect ratio is
/// clamped into <see cref="Ratio"/> is used. The window is then resized as <see cref="Resize"/> does.
/// Zooming in on parts of the object teaches scale invariance; the random aspect ratio, mild shape distortion.
/// </remarks>
public sealed class RandomResizedCrop : ITransform
{
    /// <summary>Creates the transform with square output of side <paramref name="size"/>.</summary>
    public RandomResizedCrop(int size, (double Min, double Max)? scale = null, (double Min, double Max)? ratio = null)
        : this(size, size, scale, ratio) { }

    /// <summary>Creates the transform with output <paramref name="height"/> x <paramref name="width"/> and torchvision's default ranges.</summary>
    public RandomResizedCrop(int height, int width, (double Min, double Max)? scale = null, (double Min, double Max)? ratio = null)
    {
        Pixels.CheckSize(height, width, "size");
        var sc = scale ?? (0.08, 1.0);
        var ra = ratio ?? (3.0 / 4, 4.0 / 3);
        if (!(sc.Min > 0 && sc.Min <= sc.Max) || double.IsInfinity(sc.Max))
            throw new ArgumentOutOfRangeException(nameof(scale), $"RandomResizedCrop: expected 0 < scale.min <= scale.max; got ({sc.Min}, {sc.Max})");
        if (!(ra.Min > 0 && ra.Min <= ra.Max) || double.IsInfinity(ra.Max))
            throw new ArgumentOutOfRangeException(nameof(ratio), $"RandomResizedCrop: expected 0 < ratio.min <= ratio.max; got ({ra.Min}, {ra.Max})");
        Height = height;
        Width = width;
        Scale = sc;
        Ratio = ra;
    }

    /// <summary>The output height.</summary>
    public int Height { get; }

    /// <summary>The output width.</summary>
    public int Width { get; }

    /// <summary>The range of the window's area as a fraction of the image's.</summary>
    public (double Min, double Max) Scale { get; }

    /// <summary>The range of the window's aspect ratio (width / height).</summary>
    public (double Min, double Max) Ratio { get; }

    /// <inheritdoc/>
    public Tensor Apply(Tensor image, Generator generator)
    {
        var (c, h, w) = ImageTensor.Dims(image, "RandomResizedCrop");
        ArgumentNullException.ThrowIfNull(generator);
        var (top, left, ch, cw) = Window(h, w, generator);
        var crop = Pixels.Crop(image.Data, c, h, w, top, left, ch, cw);
        return ImageTensor.Wrap(Resize.Bilinear(crop, c, ch, cw, Height, Width), c, Height, Width);
    }

    /// <summary>The window (top, left, height, width), drawn as torchvision's <c>get_params</c>.</summary>
    internal (int Top, int Left, int H, int W) Window(int h, int w, Generator g)
    {
        double area = (double)h * w;
        double logLo = Math.Log(Ratio.Min), logHi = Math.Log(Ratio.Max);
        for (int attempt = 0; attempt < 10; attempt++)
        {
            double target = area * Pixels.Uniform(g, Scale.Min, Scale.Max);
            double aspect = Math.Exp(Pixels.Uniform(g, logLo, logHi));
            int cw = (int)Math.Round(Math.Sqrt(target * aspect), MidpointRounding.ToEven);
            int ch = (int)Math.Round(Math.Sqrt(target / aspect), MidpointRounding.ToEven);
            if (cw > 0 && cw <= w && ch > 0 && ch <= h)
            {
                int top = (int)g.NextInt64(0, h - ch + 1);
                int left = (int)g.NextInt64(0, w - cw + 1);
                return (top, left, ch, cw);
            }
        }
        // Fallback: the whole image, narrowed to the nearest allowed aspect ratio, centred.
        double inRatio = (double)w / h;
        int fw = w, fh = h;
        if (inRatio < Ratio.Min) fh = Math.Max(1, (int)Math.Round(fw / Ratio.Min, MidpointRounding.ToEven));
        else if (inRatio > Ratio.Max) fw = Math.Max(1, (int)Math.Round(fh * Ratio.Max, MidpointRounding.ToEven));
        return ((h - fh) / 2, (w - fw) / 2, fh, fw);
    }
}
