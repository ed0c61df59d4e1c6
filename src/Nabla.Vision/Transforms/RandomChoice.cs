namespace Nabla.Vision.Transforms;

/// <summary>
/// Applies one transform picked at random (uniformly, or by the given weights), as torchvision's
/// <c>RandomChoice(transforms, p)</c>.
/// </summary>
/// <remarks>One draw picks the transform; then that transform's own draws follow.</remarks>
public sealed class RandomChoice : ITransform
{
    readonly ITransform[] _transforms;
    readonly double[] _cumulative;

    /// <summary>Picks uniformly among <paramref name="transforms"/>.</summary>
    public RandomChoice(params ITransform[] transforms) : this(transforms, null) { }

    /// <summary>Picks among <paramref name="transforms"/> with probabilities proportional to <paramref name="weights"/> (uniform when null).</summary>
    public RandomChoice(ITransform[] transforms, double[]? weights)
    {
        ArgumentNullException.ThrowIfNull(transforms);
        if (transforms.Length == 0)
            throw new ArgumentException("RandomChoice: expected at least one transform; got none", nameof(transforms));
        for (int i = 0; i < transforms.Length; i++)
            if (transforms[i] is null) throw new ArgumentNullException(nameof(transforms), $"RandomChoice: transform {i} is null");
        if (weights is not null && weights.Length != transforms.Length)
            throw new ArgumentException($"Length of p doesn't match the number of transforms: {weights.Length} != {transforms.Length}", nameof(weights));
        _transforms = (ITransform[])transforms.Clone();
        _cumulative = new double[transforms.Length];
        double total = 0;
        for (int i = 0; i < transforms.Length; i++)
        {
            double wi = weights?[i] ?? 1;
            if (!(wi >= 0) || double.IsInfinity(wi))
                throw new ArgumentOutOfRangeException(nameof(weights), $"RandomChoice: expected non-negative finite weights; got {wi} at position {i}");
            _cumulative[i] = total += wi;
        }
        if (total <= 0)
            throw new ArgumentOutOfRangeException(nameof(weights), "RandomChoice: expected weights with a positive sum; got all zeros");
    }

    /// <summary>The transforms to choose from.</summary>
    public IReadOnlyList<ITransform> Transforms => _transforms;

    /// <inheritdoc/>
    public Tensor Apply(Tensor image, Generator generator)
    {
        ArgumentNullException.ThrowIfNull(generator);
        double u = generator.NextDouble() * _cumulative[^1];
        int k = 0;
        while (k < _cumulative.Length - 1 && u >= _cumulative[k]) k++; // zero weights are never picked: u < cum[k] fails first
        return _transforms[k].Apply(image, generator);
    }
}
