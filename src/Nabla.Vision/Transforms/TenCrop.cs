namespace Nabla.Vision.Transforms;

/// <summary>
/// The five crops of <see cref="FiveCrop"/> of the image, then the five crops of its horizontal
/// (or, with <see cref="Vertical"/>, vertical) mirror image, stacked into a tensor of shape
/// (10, C, height, width), as torchvision's <c>TenCrop</c>.
/// </summary>
/// <remarks>
/// Order: views 0-4 are top-left, top-right, bottom-left, bottom-right and centre of the image;
/// views 5-9 the same five positions taken in the flipped image. So view 5 is the top-left window
/// of the mirror image, which is the mirror of the original's top-right window (view 1), and so on.
/// Deterministic: draws nothing.
/// </remarks>
public sealed class TenCrop : ITransform
{
    readonly FiveCrop _five;

    /// <summary>Creates square crops of side <paramref name="size"/>.</summary>
    public TenCrop(int size, bool vertical = false) : this(size, size, vertical) { }

    /// <summary>Creates crops of <paramref name="height"/> x <paramref name="width"/>; <paramref name="vertical"/> flips top to bottom instead of left to right.</summary>
    public TenCrop(int height, int width, bool vertical = false)
    {
        _five = new FiveCrop(height, width);
        Vertical = vertical;
    }

    /// <summary>Whether the second five views come from the vertical flip instead of the horizontal one.</summary>
    public bool Vertical { get; }

    /// <inheritdoc/>
    public Tensor Apply(Tensor image, Generator generator) => _five.Crops(image, flips: true, "TenCrop", Vertical);
}
