namespace Nabla.Vision.Transforms;

/// <summary>
/// With probability <see cref="P"/>, fills a random rectangle with <see cref="Value"/> (cutout),
/// as torchvision's <c>RandomErasing(p=0.5, scale=(0.02, 0.33), ratio=(0.3, 3.3), value=0)</c>.
/// </summary>
/// <remarks>
/// Algorithm (torchvision's): after the Bernoulli(p) draw, up to 10 attempts each draw an area
/// fraction s uniform in <see cref="Scale"/> and a log aspect ratio uniform in [log ratio.min, log ratio.max];
/// the rectangle is h = round(sqrt(s H W r)), w = round(sqrt(s H W / r)); if it fits (h &lt; H and
/// w &lt; W) its corner is drawn uniformly (top, then left) and it is filled; if no attempt fits, the
/// image is returned unchanged. Hiding a part of the object forces the network to use the whole
/// of it rather than one telling patch (DeVries &amp; Taylor 2017; Zhong et al. 2017).
/// Apply after <see cref="Normalize"/> with value 0 to fill with the mean colour.
/// </remarks>
public sealed class RandomErasing : ITransform
{
    /// <summary>Creates the transform with torchvision's defaults.</summary>
    public RandomErasing(double p = 0.5, (double Min, double Max)? scale = null, (double Min, double Max)? ratio = null, float value = 0f)
    {
        Pixels.CheckProbability(p, nameof(p));
        var sc = scale ?? (0.02, 0.33);
        var ra = ratio ?? (0.3, 3.3);
        if (!(sc.Min >= 0 && sc.Min <= sc.Max && sc.Max <= 1))
            throw new ArgumentOutOfRangeException(nameof(scale), $"Scale should be between 0 and 1, with min <= max; got ({sc.Min}, {sc.Max})");
        if (!(ra.Min > 0 && ra.Min <= ra.Max) || double.IsInfinity(ra.Max))
            throw new ArgumentOutOfRangeException(nameof(ratio), $"Ratio should be positive and finite, with min <= max; got ({ra.Min}, {ra.Max})");
        P = p;
        Scale = sc;
        Ratio = ra;
        Value = value;
    }

    /// <summary>The probability of erasing.</summary>
    public double P { get; }

    /// <summary>The range of the erased area as a fraction of the image.</summary>
    public (double Min, double Max) Scale { get; }

    /// <summary>The range of the rectangle's aspect ratio (height / width).</summary>
    public (double Min, double Max) Ratio { get; }

    /// <summary>The fill value.</summary>
    public float Value { get; }

    /// <inheritdoc/>
    public Tensor Apply(Tensor image, Generator generator)
    {
        var (c, h, w) = ImageTensor.Dims(image, "RandomErasing");
        ArgumentNullException.ThrowIfNull(generator);
        var x = image.ToArray();
        if (Pixels.Chance(generator, P) && TryBox(h, w, generator) is var (top, left, eh, ew))
            for (int ch = 0; ch < c; ch++)
                for (int y = top; y < top + eh; y++)
                    x.AsSpan((ch * h + y) * w + left, ew).Fill(Value);
        return ImageTensor.Wrap(x, c, h, w);
    }

    (int Top, int Left, int H, int W)? TryBox(int h, int w, Generator g)
    {
        double area = (double)h * w;
        double logLo = Math.Log(Ratio.Min), logHi = Math.Log(Ratio.Max);
        for (int attempt = 0; attempt < 10; attempt++)
        {
            double erase = area * Pixels.Uniform(g, Scale.Min, Scale.Max);
            double aspect = Math.Exp(Pixels.Uniform(g, logLo, logHi));
            int eh = (int)Math.Round(Math.Sqrt(erase * aspect), MidpointRounding.ToEven);
            int ew = (int)Math.Round(Math.Sqrt(erase / aspect), MidpointRounding.ToEven);
            if (eh <= 0 || ew <= 0 || eh >= h || ew >= w) continue;
            int top = (int)g.NextInt64(0, h - eh + 1);
            int left = (int)g.NextInt64(0, w - ew + 1);
            return (top, left, eh, ew);
        }
        return null;
    }
}
