namespace Nabla.Vision.Transforms;

/// <summary>
/// Mirrors the image left to right with probability <see cref="P"/>, as torchvision's
/// <c>RandomHorizontalFlip(p=0.5)</c>: output[c, y, x] = input[c, y, W - 1 - x].
/// </summary>
/// <remarks>
/// Natural photographs are (nearly) symmetric under mirroring, so a flip is a free, label-preserving
/// doubling of the training set. Not for text or digits. One draw from the generator, none when p is 0 or 1.
/// </remarks>
public sealed class HorizontalFlip : ITransform
{
    /// <summary>Creates the transform; <paramref name="p"/> is the probability of flipping (default 0.5).</summary>
    public HorizontalFlip(double p = 0.5)
    {
        Pixels.CheckProbability(p, nameof(p));
        P = p;
    }

    /// <summary>The probability of flipping.</summary>
    public double P { get; }

    /// <inheritdoc/>
    public Tensor Apply(Tensor image, Generator generator)
    {
        var (c, h, w) = ImageTensor.Dims(image, "HorizontalFlip");
        ArgumentNullException.ThrowIfNull(generator);
        var data = image.ToArray();
        if (Pixels.Chance(generator, P)) Pixels.FlipRows(data, w);
        return ImageTensor.Wrap(data, c, h, w);
    }
}
