namespace Nabla.Vision;

/// <summary>Shape checks and construction for image tensors of shape (C, H, W).</summary>
internal static class ImageTensor
{
    /// <summary>The (C, H, W) sizes of <paramref name="image"/>, or a shape error naming <paramref name="op"/>.</summary>
    public static (int C, int H, int W) Dims(Tensor image, string op)
    {
        ArgumentNullException.ThrowIfNull(image);
        if (image.Rank != 3 || image.Numel == 0)
            throw new ShapeException(op, "a non-empty image of shape (C, H, W)", image.ShapeString);
        return (image.Shape[0], image.Shape[1], image.Shape[2]);
    }

    /// <summary>A tensor of shape <paramref name="dims"/> over <paramref name="data"/>.</summary>
    /// <remarks>
    /// The one place transforms create tensors. Nabla's public <c>FromArray</c> copies the array;
    /// the copy is small next to decoding, and it keeps this assembly off the engine's internals.
    /// </remarks>
    public static Tensor Wrap(float[] data, params int[] dims) => Tensor.FromArray(data, dims);

    /// <summary>Throws PyTorch's index error unless 0 &lt;= index &lt; count.</summary>
    public static void CheckIndex(int index, int count)
    {
        if ((uint)index >= (uint)count)
            throw new ArgumentOutOfRangeException(nameof(index), $"index {index} is out of bounds for dimension 0 with size {count}");
    }
}
