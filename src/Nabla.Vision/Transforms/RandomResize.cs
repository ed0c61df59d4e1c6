namespace Nabla.Vision.Transforms;

/// <summary>
/// Scale augmentation as ResNet and VGG train: resizes the image so its shorter side is a length L drawn
/// uniformly from the integers in [<see cref="MinSize"/>, <see cref="MaxSize"/>], keeping the aspect ratio
/// (bilinear, as <see cref="Resize"/>); compose it with <see cref="RandomCrop"/> for the fixed-size crop.
/// </summary>
/// <remarks>
/// ResNet's ImageNet recipe is <c>RandomResize(256, 480)</c> then <c>RandomCrop(224)</c>: a crop then
/// covers a varying part of the object, so the network sees objects at many scales. One draw (L);
/// none when <c>minSize == maxSize</c>. The longer side is floor(L * long / short), as <see cref="Resize"/>.
/// </remarks>
public sealed class RandomResize : ITransform
{
    /// <summary>Creates the transform: shorter sides in [<paramref name="minSize"/>, <paramref name="maxSize"/>].</summary>
    public RandomResize(int minSize, int maxSize)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(minSize);
        if (maxSize < minSize)
            throw new ArgumentOutOfRangeException(nameof(maxSize), $"RandomResize: expected minSize <= maxSize; got ({minSize}, {maxSize})");
        MinSize = minSize;
        MaxSize = maxSize;
    }

    /// <summary>The smallest shorter side.</summary>
    public int MinSize { get; }

    /// <summary>The largest shorter side.</summary>
    public int MaxSize { get; }

    /// <inheritdoc/>
    public Tensor Apply(Tensor image, Generator generator)
    {
        ImageTensor.Dims(image, "RandomResize");
        ArgumentNullException.ThrowIfNull(generator);
        int size = MinSize == MaxSize ? MinSize : (int)generator.NextInt64(MinSize, MaxSize + 1L);
        return new Resize(size).Apply(image, generator);
    }
}
