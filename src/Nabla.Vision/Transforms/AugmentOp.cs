namespace Nabla.Vision.Transforms;

/// <summary>The image operations of the AutoAugment family (<see cref="RandAugment"/>, <see cref="TrivialAugmentWide"/>).</summary>
public enum AugmentOp
{
    /// <summary>No change.</summary>
    Identity,
    /// <summary>Shear along x: output(x, y) = input(x + m y, y); m is the shear factor.</summary>
    ShearX,
    /// <summary>Shear along y: output(x, y) = input(x, y + m x).</summary>
    ShearY,
    /// <summary>Shift right by m pixels (zeros enter).</summary>
    TranslateX,
    /// <summary>Shift down by m pixels.</summary>
    TranslateY,
    /// <summary>Rotate counter-clockwise by m degrees about the centre (nearest neighbour, zero fill).</summary>
    Rotate,
    /// <summary>Blend with black: factor 1 + m.</summary>
    Brightness,
    /// <summary>Blend with the grayscale image (saturation): factor 1 + m.</summary>
    Color,
    /// <summary>Blend with the mean gray level: factor 1 + m.</summary>
    Contrast,
    /// <summary>Blend with a 3 x 3 smoothed image (PIL's SMOOTH kernel, borders kept): factor 1 + m.</summary>
    Sharpness,
    /// <summary>Keep m bits per channel: floor(x 2^m) / 2^m.</summary>
    Posterize,
    /// <summary>Invert the values at or above the threshold m: x -> 1 - x.</summary>
    Solarize,
    /// <summary>Stretch each channel to [0, 1] (per-channel min and max).</summary>
    AutoContrast,
    /// <summary>Histogram-equalize each channel over 256 levels (PIL's algorithm).</summary>
    Equalize,
}
