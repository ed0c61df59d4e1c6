namespace Nabla.Vision.Transforms;

/// <summary>
/// TrivialAugment (Müller &amp; Hutter 2021), as torchvision's <c>TrivialAugmentWide(num_magnitude_bins=31)</c>:
/// one operation drawn uniformly from the 14 of <see cref="AugmentOp"/>, at a magnitude drawn uniformly
/// from its wide table (<see cref="AugmentOps.Magnitude"/>).
/// </summary>
/// <remarks>
/// Draws: the op index, then the magnitude bin, then (for signed ops) a coin for the sign, as torchvision.
/// No hyper-parameters to tune, and on par with searched policies (AutoAugment) on CIFAR and ImageNet.
/// For images with values in [0, 1], before <see cref="Normalize"/>.
/// </remarks>
public sealed class TrivialAugmentWide : ITransform
{
    /// <summary>Creates the transform; magnitudes come from <paramref name="numMagnitudeBins"/> evenly spaced bins (at least 2).</summary>
    public TrivialAugmentWide(int numMagnitudeBins = 31)
    {
        if (numMagnitudeBins < 2)
            throw new ArgumentOutOfRangeException(nameof(numMagnitudeBins), $"TrivialAugmentWide: expected at least 2 magnitude bins; got {numMagnitudeBins}");
        NumMagnitudeBins = numMagnitudeBins;
    }

    /// <summary>The number of magnitude bins.</summary>
    public int NumMagnitudeBins { get; }

    /// <inheritdoc/>
    public Tensor Apply(Tensor image, Generator generator)
    {
        var (_, h, w) = ImageTensor.Dims(image, "TrivialAugmentWide");
        ArgumentNullException.ThrowIfNull(generator);
        var op = (AugmentOp)generator.NextInt64(0, Enum.GetValues<AugmentOp>().Length);
        bool hasMagnitude = op is not (AugmentOp.Identity or AugmentOp.AutoContrast or AugmentOp.Equalize);
        int bin = hasMagnitude ? (int)generator.NextInt64(0, NumMagnitudeBins) : 0;
        double m = AugmentOps.Magnitude(op, bin, NumMagnitudeBins, wide: true, h, w);
        if (AugmentOps.IsSigned(op) && generator.NextInt64(0, 2) == 1) m = -m;
        return AugmentOps.Apply(op, image, m);
    }
}
