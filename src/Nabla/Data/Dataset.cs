namespace Nabla.Data;

/// <summary>
/// Splitting and resampling datasets: <see cref="RandomSplit(IDataset, int[], Generator?)"/> (PyTorch's
/// <c>random_split</c>), <see cref="StratifiedSplit"/> and <see cref="Bootstrap"/> (for bagging).
/// Each returns <see cref="Subset"/>s that share the original samples; nothing is copied.
/// </summary>
/// <remarks>
/// Every random choice comes from the given <see cref="Generator"/> (the default one when null),
/// so a seed fixes every split.
/// </remarks>
public static partial class Dataset
{
    /// <summary>
    /// Splits <paramref name="dataset"/> at random into non-overlapping subsets of the given sizes,
    /// as <c>torch.utils.data.random_split</c>: one permutation of the indices is cut into consecutive pieces.
    /// </summary>
    /// <param name="dataset">The dataset to split.</param>
    /// <param name="lengths">The size of each subset; they must sum to the dataset's count.</param>
    /// <param name="generator">The source of the permutation; the default generator when null.</param>
    public static Subset[] RandomSplit(IDataset dataset, int[] lengths, Generator? generator = null)
    {
        ArgumentNullException.ThrowIfNull(dataset);
        ArgumentNullException.ThrowIfNull(lengths);
        long sum = 0;
        for (int i = 0; i < lengths.Length; i++)
        {
            if (lengths[i] < 0)
                throw new ArgumentException($"RandomSplit: expected non-negative lengths; got {lengths[i]} at position {i}", nameof(lengths));
            sum += lengths[i];
        }
        if (sum != dataset.Count)
            throw new ArgumentException(
                $"RandomSplit: expected lengths that sum to the dataset's {dataset.Count} samples; got {ShapeException.Str(lengths)}, which sum to {sum}",
                nameof(lengths));
        var perm = Permutation(dataset.Count, generator ?? Generator.Default);
        var result = new Subset[lengths.Length];
        int offset = 0;
        for (int i = 0; i < lengths.Length; i++)
        {
            result[i] = new Subset(dataset, new ArraySegment<int>(perm, offset, lengths[i]));
            offset += lengths[i];
        }
        return result;
    }

    /// <summary>
    /// Splits <paramref name="dataset"/> at random into subsets holding the given fractions of it,
    /// as <c>random_split</c> with fractions: each subset gets floor(fraction * N) samples, and the
    /// samples left over go one each to the subsets in turn, starting with the first.
    /// </summary>
    /// <param name="dataset">The dataset to split.</param>
    /// <param name="fractions">Fractions in [0, 1] that sum to 1, e.g. <c>[0.8, 0.2]</c>.</param>
    /// <param name="generator">The source of the permutation; the default generator when null.</param>
    public static Subset[] RandomSplit(IDataset dataset, double[] fractions, Generator? generator = null)
    {
        ArgumentNullException.ThrowIfNull(dataset);
        ArgumentNullException.ThrowIfNull(fractions);
        if (fractions.Length == 0)
            throw new ArgumentException("RandomSplit: expected at least one fraction; got none", nameof(fractions));
        double total = 0;
        for (int i = 0; i < fractions.Length; i++)
        {
            if (!(fractions[i] >= 0 && fractions[i] <= 1))
                throw new ArgumentException($"RandomSplit: expected fractions between 0 and 1; got {fractions[i]} at position {i}", nameof(fractions));
            total += fractions[i];
        }
        if (Math.Abs(total - 1) > 1e-9)
            throw new ArgumentException($"RandomSplit: expected fractions that sum to 1; got a sum of {total}", nameof(fractions));
        int n = dataset.Count;
        var lengths = new int[fractions.Length];
        int assigned = 0;
        for (int i = 0; i < lengths.Length; i++) assigned += lengths[i] = (int)Math.Floor(n * fractions[i]);
        for (int i = 0; assigned < n; i = (i + 1) % lengths.Length, assigned++) lengths[i]++;
        return RandomSplit(dataset, lengths, generator);
    }

    /// <summary>
    /// Splits a classification dataset in two so that each class keeps its proportions: of the
    /// n_c samples of class c, round(fraction * n_c) chosen at random go to the first subset and
    /// the rest to the second.
    /// </summary>
    /// <remarks>
    /// The class of a sample is its target, a one-element tensor holding a non-negative integer.
    /// A random split of a small or unbalanced dataset can leave a rare class out of the validation
    /// set altogether; a stratified one cannot. Each subset lists its indices in ascending order
    /// (the dataset's order); shuffle with the loader.
    /// </remarks>
    /// <param name="dataset">The dataset to split; its targets are class indices.</param>
    /// <param name="fraction">The share of each class that goes to the first subset, in [0, 1].</param>
    /// <param name="generator">The source of the random choice; the default generator when null.</param>
    public static (Subset First, Subset Second) StratifiedSplit(IDataset dataset, double fraction, Generator? generator = null)
    {
        ArgumentNullException.ThrowIfNull(dataset);
        if (!(fraction >= 0 && fraction <= 1))
            throw new ArgumentOutOfRangeException(nameof(fraction), $"StratifiedSplit: expected a fraction between 0 and 1; got {fraction}");
        var g = generator ?? Generator.Default;
        var classes = ClassIndices(dataset, "StratifiedSplit");
        var first = new List<int>();
        var second = new List<int>();
        foreach (var members in classes)
        {
            var perm = Permutation(members.Count, g);
            int k = (int)Math.Floor(fraction * members.Count + 0.5);
            for (int i = 0; i < perm.Length; i++) (i < k ? first : second).Add(members[perm[i]]);
        }
        first.Sort();
        second.Sort();
        return (new Subset(dataset, first), new Subset(dataset, second));
    }

    /// <summary>
    /// A bootstrap sample: <paramref name="count"/> indices (by default the dataset's count N)
    /// drawn uniformly with replacement, as bagging trains each member of an ensemble on.
    /// </summary>
    /// <remarks>
    /// With count N, a given sample is left out with probability (1 - 1/N)^N, about 1/e, so a
    /// bootstrap sample holds about 63.2% of the distinct samples; the rest, given by
    /// <see cref="OutOfBag"/>, make a free validation set for that member.
    /// </remarks>
    public static Subset Bootstrap(IDataset dataset, Generator? generator = null, int? count = null)
    {
        ArgumentNullException.ThrowIfNull(dataset);
        int n = dataset.Count;
        int m = count ?? n;
        if (m < 0)
            throw new ArgumentOutOfRangeException(nameof(count), $"Bootstrap: expected a non-negative count; got {m}");
        if (n == 0 && m > 0)
            throw new ArgumentException("Bootstrap: expected a non-empty dataset; got one with 0 samples", nameof(dataset));
        var g = generator ?? Generator.Default;
        var indices = new int[m];
        for (int i = 0; i < m; i++) indices[i] = (int)g.NextInt64(0, n);
        return new Subset(dataset, indices);
    }

    /// <summary>
    /// The samples of <paramref name="sample"/>'s dataset that it never picked (the out-of-bag
    /// samples of a <see cref="Bootstrap"/>), in ascending order.
    /// </summary>
    public static Subset OutOfBag(Subset sample)
    {
        ArgumentNullException.ThrowIfNull(sample);
        var picked = new bool[sample.Dataset.Count];
        foreach (int i in sample.IndexArray) picked[i] = true;
        var rest = new List<int>();
        for (int i = 0; i < picked.Length; i++)
            if (!picked[i]) rest.Add(i);
        return new Subset(sample.Dataset, rest);
    }

    /// <summary>A uniform permutation of 0 .. n - 1 by Fisher–Yates, the same draws as <see cref="Tensor.Randperm"/>.</summary>
    internal static int[] Permutation(int n, Generator g)
    {
        var p = new int[n];
        for (int i = 0; i < n; i++) p[i] = i;
        for (int i = n - 1; i > 0; i--)
        {
            int j = (int)g.NextInt64(0, i + 1);
            (p[i], p[j]) = (p[j], p[i]);
        }
        return p;
    }

    internal static void CheckIndex(int index, int count)
    {
        if ((uint)index >= (uint)count)
            throw new ArgumentOutOfRangeException(nameof(index), $"index {index} is out of bounds for dimension 0 with size {count}");
    }
}
