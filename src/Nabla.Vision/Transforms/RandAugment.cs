namespace Nabla.Vision.Transforms;

/// <summary>
/// RandAugment (Cubuk et al. 2020), as torchvision's <c>RandAugment(num_ops=2, magnitude=9, num_magnitude_bins=31)</c>:
/// <see cref="NumOps"/> operations, each drawn uniformly from the 14 of <see cref="AugmentOp"/>, all at
/// the one fixed magnitude bin <see cref="Magnitude"/>.
/// </summary>
/// <remarks>
/// Two hyper-parameters (N ops, magnitude M) replace AutoAugment's searched policy. Draws per op:
/// the op index, then for signed ops a coin for the sign. Magnitudes from RandAugment's table
/// (<see cref="AugmentOps.Magnitude"/>, not the wide one). For images with values in [0, 1].
/// </remarks>
public sealed class RandAugment : ITransform
{
    /// <summary>Creates the transform: <paramref name="numOps"/> ops at bin <paramref name="magnitude"/> of <paramref name="numMagnitudeBins"/>.</summary>
    public RandAugment(int numOps = 2, int magnitude = 9, int numMagnitudeBins = 31)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(numOps);
        if (numMagnitudeBins < 2)
            throw new ArgumentOutOfRangeException(nameof(numMagnitudeBins), $"RandAugment: expected at least 2 magnitude bins; got {numMagnitudeBins}");
        if (magnitude < 0 || magnitude >= numMagnitudeBins)
            throw new ArgumentOutOfRangeException(nameof(magnitude), $"RandAugment: expected a magnitude bin in [0, {numMagnitudeBins - 1}]; got {magnitude}");
        NumOps = numOps;
        Magnitude = magnitude;
        NumMagnitudeBins = numMagnitudeBins;
    }

    /// <summary>The number of operations applied in sequence.</summary>
    public int NumOps { get; }

    /// <summary>The magnitude bin used by every operation.</summary>
    public int Magnitude { get; }

    /// <summary>The number of magnitude bins.</summary>
    public int NumMagnitudeBins { get; }

    /// <inheritdoc/>
    public Tensor Apply(Tensor image, Generator generator)
    {
        var (_, h, w) = ImageTensor.Dims(image, "RandAugment");
        ArgumentNullException.ThrowIfNull(generator);
        int count = Enum.GetValues<AugmentOp>().Length;
        var x = image.Clone();
        for (int i = 0; i < NumOps; i++)
        {
            var op = (AugmentOp)generator.NextInt64(0, count);
            double m = AugmentOps.Magnitude(op, Magnitude, NumMagnitudeBins, wide: false, h, w);
            if (AugmentOps.IsSigned(op) && generator.NextInt64(0, 2) == 1) m = -m;
            x = AugmentOps.Apply(op, x, m);
        }
        return x;
    }
}
