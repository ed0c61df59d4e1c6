namespace Nabla.Vision.Transforms;

/// <summary>
/// Applies <see cref="Transform"/> with probability <see cref="P"/>, otherwise returns a copy of the
/// image, as torchvision's <c>RandomApply</c> (wrap several in a <see cref="Compose"/>).
/// </summary>
/// <remarks>One draw for the choice (none when p is 0 or 1), then the transform's own draws when it runs.</remarks>
public sealed class RandomApply : ITransform
{
    /// <summary>Creates the transform; <paramref name="p"/> defaults to 0.5 as torchvision.</summary>
    public RandomApply(ITransform transform, double p = 0.5)
    {
        ArgumentNullException.ThrowIfNull(transform);
        Pixels.CheckProbability(p, nameof(p));
        Transform = transform;
        P = p;
    }

    /// <summary>The transform applied some of the time.</summary>
    public ITransform Transform { get; }

    /// <summary>The probability of applying it.</summary>
    public double P { get; }

    /// <inheritdoc/>
    public Tensor Apply(Tensor image, Generator generator)
    {
        ArgumentNullException.ThrowIfNull(image);
        ArgumentNullException.ThrowIfNull(generator);
        return Pixels.Chance(generator, P) ? Transform.Apply(image, generator) : image.Clone();
    }
}
