namespace Nabla.Vision.Transforms;

/// <summary>
/// Rotates the image about its centre by an angle drawn uniformly from [-degrees, degrees],
/// as torchvision's <c>RandomRotation(degrees)</c> (no expansion; corners that come from outside
/// the image are filled with <see cref="Fill"/>).
/// </summary>
/// <remarks>
/// Positive angles turn the content counter-clockwise. Output pixel (y, x) takes the input at the
/// point rotated back about the centre ((H - 1) / 2, (W - 1) / 2): nearest neighbour by default, as
/// torchvision, or bilinear. One draw (the angle); none when degrees is 0.
/// Small rotations make a classifier robust to camera tilt; keep them small for digits (a 6 turned
/// 180 degrees is a 9).
/// </remarks>
public sealed class RandomRotation : ITransform
{
    /// <summary>Creates the transform: angles in [-<paramref name="degrees"/>, <paramref name="degrees"/>].</summary>
    public RandomRotation(double degrees, bool bilinear = false, float fill = 0f)
        : this(NegatedIfValid(degrees), degrees, bilinear, fill) { }

    /// <summary>Creates the transform: angles uniform in [<paramref name="minDegrees"/>, <paramref name="maxDegrees"/>].</summary>
    public RandomRotation(double minDegrees, double maxDegrees, bool bilinear = false, float fill = 0f)
    {
        if (!(minDegrees <= maxDegrees) || double.IsInfinity(minDegrees) || double.IsInfinity(maxDegrees))
            throw new ArgumentOutOfRangeException(nameof(maxDegrees), $"RandomRotation: expected finite degrees with min <= max; got ({minDegrees}, {maxDegrees})");
        MinDegrees = minDegrees;
        MaxDegrees = maxDegrees;
        Bilinear = bilinear;
        Fill = fill;
    }

    static double NegatedIfValid(double degrees) => degrees >= 0
        ? -degrees
        : throw new ArgumentOutOfRangeException(nameof(degrees), $"If degrees is a single number, it must be positive; got {degrees}");

    /// <summary>The smallest angle, in degrees.</summary>
    public double MinDegrees { get; }

    /// <summary>The largest angle, in degrees.</summary>
    public double MaxDegrees { get; }

    /// <summary>Whether to interpolate bilinearly instead of taking the nearest pixel.</summary>
    public bool Bilinear { get; }

    /// <summary>The value of output pixels that fall outside the input.</summary>
    public float Fill { get; }

    /// <inheritdoc/>
    public Tensor Apply(Tensor image, Generator generator)
    {
        var (c, h, w) = ImageTensor.Dims(image, "RandomRotation");
        ArgumentNullException.ThrowIfNull(generator);
        double angle = MinDegrees == MaxDegrees ? MinDegrees : Pixels.Uniform(generator, MinDegrees, MaxDegrees);
        return ImageTensor.Wrap(Rotate(image.Data, c, h, w, angle, Bilinear, Fill), c, h, w);
    }

    /// <summary>Rotates a (C, H, W) image by <paramref name="degrees"/> counter-clockwise about its centre.</summary>
    internal static float[] Rotate(ReadOnlySpan<float> src, int c, int h, int w, double degrees, bool bilinear, float fill)
    {
        double rad = degrees * Math.PI / 180;
        // Snap the sine and cosine of multiples of 90 degrees, so quarter turns move pixels exactly.
        double cos = Math.Round(Math.Cos(rad), 15), sin = Math.Round(Math.Sin(rad), 15);
        // Inverse map: rotate the output point clockwise (image y points down) back into the input.
        return RandomAffine.Warp(src, c, h, w, [cos, -sin, 0, sin, cos, 0], bilinear, fill);
    }
}
