namespace Nabla.Vision.Transforms;

/// <summary>
/// Crops the centre <see cref="Height"/> x <see cref="Width"/> window, as torchvision's <c>CenterCrop</c>;
/// an image smaller than the window is padded with zeros, as there.
/// </summary>
/// <remarks>
/// The window's top-left corner is (round((H - height) / 2), round((W - width) / 2)) with rounding
/// half to even, as Python's <c>round</c> in torchvision. Deterministic: draws nothing.
/// </remarks>
public sealed class CenterCrop : ITransform
{
    /// <summary>Creates a square centre crop of side <paramref name="size"/>.</summary>
    public CenterCrop(int size) : this(size, size) { }

    /// <summary>Creates a centre crop of <paramref name="height"/> x <paramref name="width"/>.</summary>
    public CenterCrop(int height, int width)
    {
        Pixels.CheckSize(height, width, "size");
        Height = height;
        Width = width;
    }

    /// <summary>The crop's height.</summary>
    public int Height { get; }

    /// <summary>The crop's width.</summary>
    public int Width { get; }

    /// <inheritdoc/>
    public Tensor Apply(Tensor image, Generator generator)
    {
        var (c, h, w) = ImageTensor.Dims(image, "CenterCrop");
        var (top, left) = Offset(h, w, Height, Width);
        return ImageTensor.Wrap(Pixels.Crop(image.Data, c, h, w, top, left, Height, Width), c, Height, Width);
    }

    /// <summary>The top-left corner of the centred window (negative where the window is larger).</summary>
    internal static (int Top, int Left) Offset(int h, int w, int height, int width) =>
        (Center(h, height), Center(w, width));

    // Larger window: torchvision pads (d // 2) before and (d + 1) // 2 after, then crops at 0.
    static int Center(int size, int window) => size >= window
        ? (int)Math.Round((size - window) / 2.0, MidpointRounding.ToEven)
        : -((window - size) / 2);
}
