namespace Nabla.Vision.Transforms;

/// <summary>
/// Crops a window of <see cref="Height"/> x <see cref="Width"/> at a random position, after padding
/// every side with <see cref="Padding"/> zeros, as torchvision's <c>RandomCrop(size, padding)</c>.
/// </summary>
/// <remarks>
/// The classic CIFAR augmentation is <c>RandomCrop(32, padding: 4)</c>: shifts of up to 4 pixels
/// teach the network that a translated object keeps its class.
/// The top-left corner of the window in the padded image is drawn uniformly: top in
/// [0, H + 2 padding - height], then left in [0, W + 2 padding - width] (two draws, in that order).
/// The padded image must be at least the crop's size.
/// </remarks>
public sealed class RandomCrop : ITransform
{
    /// <summary>Creates a square crop of side <paramref name="size"/>.</summary>
    public RandomCrop(int size, int padding = 0) : this(size, size, padding) { }

    /// <summary>Creates a crop of <paramref name="height"/> x <paramref name="width"/> with <paramref name="padding"/> zeros on every side.</summary>
    public RandomCrop(int height, int width, int padding = 0)
    {
        Pixels.CheckSize(height, width, "size");
        ArgumentOutOfRangeException.ThrowIfNegative(padding);
        Height = height;
        Width = width;
        Padding = padding;
    }

    /// <summary>The crop's height.</summary>
    public int Height { get; }

    /// <summary>The crop's width.</summary>
    public int Width { get; }

    /// <summary>The zeros added on each side before cropping.</summary>
    public int Padding { get; }

    /// <inheritdoc/>
    public Tensor Apply(Tensor image, Generator generator)
    {
        var (c, h, w) = ImageTensor.Dims(image, "RandomCrop");
        ArgumentNullException.ThrowIfNull(generator);
        int ph = h + 2 * Padding, pw = w + 2 * Padding;
        if (ph < Height || pw < Width)
            throw new ShapeException("RandomCrop", $"an image of at least {Height} x {Width} pixels after padding",
                $"{ph} x {pw} for input of shape {image.ShapeString} with padding {Padding}");
        int top = (int)generator.NextInt64(0, ph - Height + 1) - Padding;
        int left = (int)generator.NextInt64(0, pw - Width + 1) - Padding;
        return ImageTensor.Wrap(Pixels.Crop(image.Data, c, h, w, top, left, Height, Width), c, Height, Width);
    }
}
