namespace Nabla.Vision.Transforms;

/// <summary>Applies transforms one after another, as torchvision's <c>Compose</c>, all drawing from the same generator.</summary>
public sealed class Compose : ITransform
{
    readonly ITransform[] _transforms;

    /// <summary>Creates the pipeline; the transforms run in the given order.</summary>
    public Compose(params ITransform[] transforms)
    {
        ArgumentNullException.ThrowIfNull(transforms);
        for (int i = 0; i < transforms.Length; i++)
            if (transforms[i] is null) throw new ArgumentNullException(nameof(transforms), $"Compose: transform {i} is null");
        _transforms = (ITransform[])transforms.Clone();
    }

    /// <summary>The transforms, in order.</summary>
    public IReadOnlyList<ITransform> Transforms => _transforms;

    /// <inheritdoc/>
    public Tensor Apply(Tensor image, Generator generator)
    {
        foreach (var t in _transforms) image = t.Apply(image, generator);
        return image;
    }
}
