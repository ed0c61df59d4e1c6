namespace Nabla.Data;

/// <summary>
/// The samples of another dataset at the given indices, in that order, as PyTorch's <c>Subset</c>;
/// what <see cref="Dataset.RandomSplit(IDataset, int[], Generator?)"/>, <see cref="Dataset.StratifiedSplit"/>
/// and <see cref="Dataset.Bootstrap"/> return. Indices may repeat (a bootstrap sample).
/// </summary>
public sealed class Subset : IDataset
{
    readonly int[] _indices;

    /// <summary>Creates the subset; every index must be in [0, dataset.Count).</summary>
    public Subset(IDataset dataset, IReadOnlyList<int> indices)
    {
        ArgumentNullException.ThrowIfNull(dataset);
        ArgumentNullException.ThrowIfNull(indices);
        _indices = [.. indices];
        int n = dataset.Count;
        for (int i = 0; i < _indices.Length; i++)
            if ((uint)_indices[i] >= (uint)n)
                throw new ArgumentOutOfRangeException(nameof(indices),
                    $"Subset: index {_indices[i]} (at position {i}) is out of range for a dataset of {n} samples");
        Dataset = dataset;
    }

    /// <summary>The dataset the indices refer to.</summary>
    public IDataset Dataset { get; }

    /// <summary>The indices into <see cref="Dataset"/>, in the subset's order.</summary>
    public IReadOnlyList<int> Indices => _indices;

    /// <summary>The indices without a copy, for the loader's fast path.</summary>
    internal int[] IndexArray => _indices;

    /// <inheritdoc/>
    public int Count => _indices.Length;

    /// <inheritdoc/>
    public Sample Get(int index)
    {
        Nabla.Data.Dataset.CheckIndex(index, Count);
        return Dataset.Get(_indices[index]);
    }
}
