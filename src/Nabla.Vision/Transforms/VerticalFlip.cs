namespace Nabla.Vision.Transforms;

/// <summary>
/// Mirrors the image top to bottom with probability <see cref="P"/>, as torchvision's
/// <c>RandomVerticalFlip(p=0.5)</c>: output[c, y, x] = input[c, H - 1 - y, x].
/// </summary>
/// <remarks>Suits images without a natural up (satellite, microscopy); one draw, none when p is 0 or 1.</remarks>
public sealed class VerticalFlip : ITransform
{
    /// <summary>Creates the transform; <paramref name="p"/> is the probability of flipping (default 0.5).</summary>
    public VerticalFlip(double p = 0.5)
    {
        Pixels.CheckProbability(p, nameof(p));
        P = p;
    }

    /// <summary>The probability of flipping.</summary>
    public double P { get; }

    /// <inheritdoc/>
    public Tensor Apply(Tensor image, Generator generator)
    {
        var (c, h, w) = ImageTensor.Dims(image, "VerticalFlip");
        ArgumentNullException.ThrowIfNull(generator);
        var data = image.ToArray();
        if (Pixels.Chance(generator, P)) Pixels.FlipColumns(data, c, h, w);
        return ImageTensor.Wrap(data, c, h, w);
    }
}
