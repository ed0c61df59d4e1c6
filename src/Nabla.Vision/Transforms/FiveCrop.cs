namespace Nabla.Vision.Transforms;

/// <summary>
/// The four corner crops and the centre crop of size <see cref="Height"/> x <see cref="Width"/>,
/// stacked into one tensor of shape (5, C, height, width), as torchvision's <c>FiveCrop</c>.
/// </summary>
/// <remarks>
/// Order (torchvision's): 0 top-left (top 0, left 0), 1 top-right (0, W - width),
/// 2 bottom-left (H - height, 0), 3 bottom-right (H - height, W - width), 4 centre (as
/// <see cref="CenterCrop"/>). For test-time augmentation: run the model on the five views (a batch)
/// and average the predictions. The crop must fit in the image. Deterministic: draws nothing.
/// </remarks>
public sealed class FiveCrop : ITransform
{
    /// <summary>Creates square crops of side <paramref name="size"/>.</summary>
    public FiveCrop(int size) : this(size, size) { }

    /// <summary>Creates crops of <paramref name="height"/> x <paramref name="width"/>.</summary>
    public FiveCrop(int height, int width)
    {
        Pixels.CheckSize(height, width, "size");
        Height = height;
        Width = width;
    }

    /// <summary>The crops' height.</summary>
    public int Height { get; }

    /// <summary>The crops' width.</summary>
    public int Width { get; }

    /// <inheritdoc/>
    public Tensor Apply(Tensor image, Generator generator) => Crops(image, flips: false, "FiveCrop");

    /// <summary>The five crops of <paramref name="image"/>, then (with <paramref name="flips"/>) the five of its mirror image.</summary>
    internal Tensor Crops(Tensor image, bool flips, string op, bool vertical = false)
    {
        var (c, h, w) = ImageTensor.Dims(image, op);
        if (Height > h || Width > w)
            throw new ShapeException(op, $"an image of at least {Height} x {Width} pixels (the crop size)", image.ShapeString);
        var (ct, cl) = CenterCrop.Offset(h, w, Height, Width);
        ReadOnlySpan<(int Top, int Left)> corners = [(0, 0), (0, w - Width), (h - Height, 0), (h - Height, w - Width), (ct, cl)];
        int views = flips ? 10 : 5, size = c * Height * Width;
        var result = new float[views * size];
        var source = image.Data;
        for (int pass = 0; pass < views / 5; pass++)
        {
            if (pass == 1)
            {
                var mirrored = image.ToArray();
                if (vertical) Pixels.FlipColumns(mirrored, c, h, w);
                else Pixels.FlipRows(mirrored, w);
                source = mirrored;
            }
            for (int k = 0; k < 5; k++)
                Pixels.Crop(source, c, h, w, corners[k].Top, corners[k].Left, Height, Width)
                      .CopyTo(result.AsSpan((pass * 5 + k) * size, size));
        }
        return ImageTensor.Wrap(result, views, c, Height, Width);
    }
}
