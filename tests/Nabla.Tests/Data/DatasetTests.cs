using Nabla.Data;
using static Nabla.Tests.DataTests.DataTestUtil;

namespace Nabla.Tests.DataTests;

public sealed class DatasetTests
{
    [Fact]
    public void TensorDataset_Get_copies_one_row_of_each_tensor()
    {
        var ds = Numbered(4);
        Assert.Equal(4, ds.Count);
        var (x, y) = ds.Get(2);
        Assert.Equal([20f, 21f, 22f], x.ToArray());
        Assert.Equal(0, y.Rank); // targets (N) -> a scalar class index per sample
        Assert.Equal(2f, y.Item());
        x.Span[0] = -1; // a copy: the dataset is unchanged
        Assert.Equal(20f, ds.Inputs.Data[6]);
    }

    [Fact]
    public void TensorDataset_rejects_targets_with_another_row_count()
    {
        var e = Assert.Throws<ShapeException>(() => new TensorDataset(Tensor.Zeros(4, 3), Tensor.Zeros(5)));
        Assert.Equal("TensorDataset: expected targets with 4 rows (the inputs' first dimension); got shape [5] for inputs of shape [4, 3]", e.Message);
        var s = Assert.Throws<ShapeException>(() => new TensorDataset(Tensor.Scalar(1), Tensor.Zeros(1)));
        Assert.Equal("TensorDataset: expected inputs of shape (N, ...); got a scalar of shape []", s.Message);
    }

    [Fact]
    public void Get_out_of_range_names_the_index_and_size()
    {
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => Numbered(3).Get(3));
        Assert.StartsWith("index 3 is out of bounds for dimension 0 with size 3", e.Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => new Subset(Numbered(3), [0]).Get(-1));
    }

    [Fact]
    public void Subset_maps_indices_and_may_repeat_them()
    {
        var s = new Subset(Numbered(5), [4, 1, 4]);
        Assert.Equal(3, s.Count);
        Assert.Equal(40f, s.Get(0).Input.Data[0]);
        Assert.Equal(10f, s.Get(1).Input.Data[0]);
        Assert.Equal(40f, s.Get(2).Input.Data[0]);
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => new Subset(Numbered(5), [0, 5]));
        Assert.StartsWith("Subset: index 5 (at position 1) is out of range for a dataset of 5 samples", e.Message);
    }

    [Fact]
    public void RandomSplit_by_counts_partitions_one_permutation()
    {
        var ds = Numbered(10);
        var parts = Dataset.RandomSplit(ds, [3, 7], new Generator(5));
        Assert.Equal(3, parts[0].Count);
        Assert.Equal(7, parts[1].Count);
        var all = parts[0].Indices.Concat(parts[1].Indices).ToArray();
        Assert.Equal(Enumerable.Range(0, 10), all.Order());
        // The same draws as torch.randperm with the same generator.
        var perm = Tensor.Randperm(10, new Generator(5)).ToArray().Select(v => (int)v);
        Assert.Equal(perm, all);
        Assert.Equal(all, Dataset.RandomSplit(ds, [3, 7], new Generator(5)).SelectMany(p => p.Indices));
        Assert.NotEqual(all, Dataset.RandomSplit(ds, [3, 7], new Generator(6)).SelectMany(p => p.Indices));
    }

    [Fact]
    public void RandomSplit_by_fractions_gives_the_remainder_round_robin()
    {
        // floor(11 * [0.5, 0.3, 0.2]) = [5, 3, 2]; the one left over goes to the first subset, as in PyTorch.
        var parts = Dataset.RandomSplit(Numbered(11), [0.5, 0.3, 0.2], new Generator(1));
        Assert.Equal([6, 3, 2], parts.Select(p => p.Count));
        Assert.Equal(11, parts.SelectMany(p => p.Indices).Distinct().Count());
    }

    [Fact]
    public void RandomSplit_rejects_bad_lengths_and_fractions()
    {
        var ds = Numbered(10);
        Assert.StartsWith("RandomSplit: expected lengths that sum to the dataset's 10 samples; got [3, 4], which sum to 7",
            Assert.Throws<ArgumentException>(() => Dataset.RandomSplit(ds, [3, 4])).Message);
        Assert.StartsWith("RandomSplit: expected non-negative lengths; got -1 at position 1",
            Assert.Throws<ArgumentException>(() => Dataset.RandomSplit(ds, [11, -1])).Message);
        Assert.StartsWith("RandomSplit: expected fractions between 0 and 1; got 1.5 at position 0",
            Assert.Throws<ArgumentException>(() => Dataset.RandomSplit(ds, [1.5, -0.5])).Message);
        Assert.StartsWith("RandomSplit: expected fractions that sum to 1; got a sum of 0.9",
            Assert.Throws<ArgumentException>(() => Dataset.RandomSplit(ds, [0.5, 0.4])).Message);
        Assert.StartsWith("RandomSplit: expected at least one fraction; got none",
            Assert.Throws<ArgumentException>(() => Dataset.RandomSplit(ds, Array.Empty<double>())).Message);
    }

    static TensorDataset Classes(params int[] counts)
    {
        var y = counts.SelectMany((n, c) => Enumerable.Repeat((float)c, n)).ToArray();
        // Interleave the classes so that a split by position would not keep the proportions.
        var order = Enumerable.Range(0, y.Length).OrderBy(i => (i * 7919) % y.Length).ToArray();
        var shuffled = order.Select(i => y[i]).ToArray();
        return new TensorDataset(Tensor.Arange(y.Length), Tensor.FromArray(shuffled));
    }

    static int[] CountPerClass(Subset s, int classes)
    {
        var c = new int[classes];
        foreach (int i in s.Indices) c[(int)((TensorDataset)s.Dataset).Targets.Data[i]]++;
        return c;
    }

    [Fact]
    public void StratifiedSplit_keeps_each_class_proportion()
    {
        var ds = Classes(50, 30, 20, 3);
        var (train, val) = Dataset.StratifiedSplit(ds, 0.8, new Generator(7));
        // round(0.8 * n_c): 40, 24, 16, 2 (2.4 rounds down).
        Assert.Equal([40, 24, 16, 2], CountPerClass(train, 4));
        Assert.Equal([10, 6, 4, 1], CountPerClass(val, 4));
        Assert.Empty(train.Indices.Intersect(val.Indices));
        Assert.Equal(train.Indices.Order(), train.Indices); // ascending: the dataset's order
        var again = Dataset.StratifiedSplit(ds, 0.8, new Generator(7));
        Assert.Equal(train.Indices, again.First.Indices);
        Assert.NotEqual(train.Indices, Dataset.StratifiedSplit(ds, 0.8, new Generator(8)).First.Indices);
    }

    [Fact]
    public void StratifiedSplit_reads_targets_through_Get_for_other_datasets()
    {
        var ds = Classes(10, 6);
        var general = FuncDataset.Wrap(ds);
        var (a, b) = Dataset.StratifiedSplit(general, 0.5, new Generator(3));
        var (c, d) = Dataset.StratifiedSplit(ds, 0.5, new Generator(3));
        Assert.Equal(c.Indices, a.Indices);
        Assert.Equal(d.Indices, b.Indices);
        Assert.Equal(8, a.Count);
    }

    [Fact]
    public void StratifiedSplit_rejects_targets_that_are_not_classes()
    {
        var ds = new TensorDataset(Tensor.Zeros(3, 2), Tensor.FromArray([0f, 2.5f, 1f]));
        Assert.Equal("StratifiedSplit: expected class targets that are non-negative integers; got 2.5 at index 1",
            Assert.Throws<ArgumentException>(() => Dataset.StratifiedSplit(ds, 0.5)).Message);
        var vectors = new TensorDataset(Tensor.Zeros(3, 2), Tensor.Zeros(3, 2));
        Assert.Equal("StratifiedSplit: expected class targets holding one value per sample; got a target of shape [2] at index 0",
            Assert.Throws<ShapeException>(() => Dataset.StratifiedSplit(vectors, 0.5)).Message);
        Assert.StartsWith("StratifiedSplit: expected a fraction between 0 and 1; got 1.2",
            Assert.Throws<ArgumentOutOfRangeException>(() => Dataset.StratifiedSplit(ds, 1.2)).Message);
    }

    [Fact]
    public void Bootstrap_draws_with_replacement_about_63_percent_distinct()
    {
        const int n = 10000;
        var ds = new TensorDataset(Tensor.Zeros(n, 1), Tensor.Zeros(n));
        var sample = Dataset.Bootstrap(ds, new Generator(11));
        Assert.Equal(n, sample.Count);
        int distinct = sample.Indices.Distinct().Count();
        // Expected 1 - (1 - 1/n)^n = 0.6321; the standard deviation of the count is about 31 (0.3%).
        double expected = 1 - Math.Pow(1 - 1.0 / n, n);
        Assert.InRange(distinct / (double)n, expected - 0.015, expected + 0.015);
        var oob = Dataset.OutOfBag(sample);
        Assert.Equal(n - distinct, oob.Count);
        Assert.Empty(oob.Indices.Intersect(sample.Indices));
        Assert.Equal(sample.Indices, Dataset.Bootstrap(ds, new Generator(11)).Indices);
        Assert.Equal(50, Dataset.Bootstrap(ds, new Generator(1), count: 50).Count);
    }

    [Fact]
    public void Bootstrap_rejects_an_empty_dataset()
    {
        var empty = new TensorDataset(Tensor.Zeros(0, 2), Tensor.Zeros(0));
        Assert.StartsWith("Bootstrap: expected a non-empty dataset; got one with 0 samples",
            Assert.Throws<ArgumentException>(() => Dataset.Bootstrap(empty, count: 5)).Message);
        Assert.Equal(0, Dataset.Bootstrap(empty).Count);
        Assert.StartsWith("Bootstrap: expected a non-negative count; got -1",
            Assert.Throws<ArgumentOutOfRangeException>(() => Dataset.Bootstrap(Numbered(3), count: -1)).Message);
    }
}
