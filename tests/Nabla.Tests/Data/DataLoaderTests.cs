using Nabla.Data;
using static Nabla.Tests.DataTests.DataTestUtil;

namespace Nabla.Tests.DataTests;

public sealed class DataLoaderTests
{
    [Fact]
    public void Batches_in_order_with_a_smaller_last_batch()
    {
        var loader = new DataLoader(Numbered(10), batchSize: 4);
        Assert.Equal(3, loader.Count);
        var batches = loader.ToList();
        Assert.Equal(3, batches.Count);
        Assert.Equal([0, 1, 2, 3], IndicesOf(batches[0]));
        Assert.Equal([8, 9], IndicesOf(batches[2]));
        TestUtil.Shape([4, 3], batches[0].Inputs);
        TestUtil.Shape([2, 3], batches[2].Inputs);
        TestUtil.Shape([4], batches[0].Targets);
        Assert.Equal([80f, 81f, 82f, 90f, 91f, 92f], batches[2].Inputs.ToArray());
        Assert.Equal([2f, 0f], batches[2].Targets.ToArray()); // 8 mod 3, 9 mod 3
    }

    [Fact]
    public void DropLast_drops_the_partial_batch()
    {
        var loader = new DataLoader(Numbered(10), batchSize: 4, dropLast: true);
        Assert.Equal(2, loader.Count);
        Assert.Equal(2, loader.ToList().Count);
        Assert.Equal(2, new DataLoader(Numbered(8), 4, dropLast: true).ToList().Count); // nothing to drop
    }

    [Fact]
    public void Tensor_targets_are_stacked_along_a_new_first_dimension()
    {
        var ds = new TensorDataset(Tensor.Arange(0, 24).Reshape(4, 2, 3), Tensor.Arange(0, 8).Reshape(4, 2));
        var b = new DataLoader(ds, 3).First();
        TestUtil.Shape([3, 2, 3], b.Inputs);
        TestUtil.Shape([3, 2], b.Targets);
        Assert.Equal([0f, 1, 2, 3, 4, 5], b.Targets.ToArray());
    }

    [Fact]
    public void An_empty_dataset_gives_no_batches()
    {
        var ds = new TensorDataset(Tensor.Zeros(0, 3), Tensor.Zeros(0));
        Assert.Empty(new DataLoader(ds, 4, shuffle: true, generator: new Generator(1), workers: 2));
    }

    [Fact]
    public void Shuffled_epochs_differ_and_are_fixed_by_the_seed()
    {
        var ds = Numbered(50);
        var loader = new DataLoader(ds, 8, shuffle: true, generator: new Generator(42));
        var e1 = loader.SelectMany(IndicesOf).ToArray();
        var e2 = loader.SelectMany(IndicesOf).ToArray();
        Assert.Equal(Enumerable.Range(0, 50), e1.Order());
        Assert.Equal(Enumerable.Range(0, 50), e2.Order());
        Assert.NotEqual(e1, e2);
        Assert.NotEqual(Enumerable.Range(0, 50), e1);

        var again = new DataLoader(ds, 8, shuffle: true, generator: new Generator(42));
        Assert.Equal(e1, again.SelectMany(IndicesOf));
        Assert.Equal(e2, again.SelectMany(IndicesOf));
    }

    [Fact]
    public void Each_epoch_draws_exactly_one_value_from_the_generator()
    {
        var g = new Generator(9);
        var loader = new DataLoader(Numbered(20), 5, shuffle: true, generator: g);
        using (var e = loader.GetEnumerator()) { } // the order is fixed when the epoch starts
        _ = loader.ToList();
        var reference = new Generator(9);
        reference.NextUInt64();
        reference.NextUInt64();
        Assert.Equal(reference.GetState(), g.GetState());
        // Without shuffling the generator is untouched.
        var h = new Generator(9);
        _ = new DataLoader(Numbered(20), 5, generator: h).ToList();
        Assert.Equal(new Generator(9).GetState(), h.GetState());
    }

    [Fact]
    public void Restoring_the_generator_state_replays_the_next_epoch()
    {
        var g = new Generator(3);
        var loader = new DataLoader(Numbered(30), 4, shuffle: true, generator: g);
        _ = loader.ToList();
        var saved = g.GetState();
        var next = loader.SelectMany(IndicesOf).ToArray();
        g.SetState(saved);
        Assert.Equal(next, loader.SelectMany(IndicesOf));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Batches_are_bitwise_identical_for_0_1_and_3_workers(bool generalPath)
    {
        var x = Tensor.Randn([37, 2, 3], new Generator(1));
        var y = Tensor.Randint(0, 5, [37], new Generator(2));
        IDataset ds = new TensorDataset(x, y);
        if (generalPath) ds = FuncDataset.Wrap(ds);
        List<(float[], float[], int[], int[])> Run(int workers, int prefetch) =>
            Snapshot(new DataLoader(ds, 5, shuffle: true, generator: new Generator(77), workers: workers, prefetch: prefetch));
        var reference = Run(0, 2);
        Assert.Equal(8, reference.Count);
        BitwiseEqual(reference, Run(1, 2));
        BitwiseEqual(reference, Run(3, 2));
        BitwiseEqual(reference, Run(3, 1));
        BitwiseEqual(reference, Run(2, 10));
    }

    [Fact]
    public void The_tensor_fast_path_matches_the_general_path_through_subsets()
    {
        var ds = Numbered(40);
        var (train, _) = Dataset.StratifiedSplit(ds, 0.6, new Generator(4));
        var inner = Dataset.RandomSplit(train, [10, train.Count - 10], new Generator(5))[1]; // a subset of a subset
        var fast = Snapshot(new DataLoader(inner, 6, shuffle: true, generator: new Generator(8), workers: 2));
        var slow = Snapshot(new DataLoader(FuncDataset.Wrap(inner), 6, shuffle: true, generator: new Generator(8)));
        BitwiseEqual(fast, slow);
        var firstIndex = (int)fast[0].X[0] / 10;
        Assert.Contains(firstIndex, train.Indices);
    }

    [Fact]
    public void Breaking_early_stops_the_workers_and_all_dataset_access()
    {
        var inner = Numbered(1000);
        var ds = FuncDataset.Wrap(inner);
        var loader = new DataLoader(ds, 1, workers: 2, prefetch: 2);
        var e = (DataLoaderEnumerator)loader.GetEnumerator();
        Assert.True(e.MoveNext());
        Assert.True(e.MoveNext());
        Assert.Equal([1], IndicesOf(e.Current));
        e.Dispose();
        Assert.False(e.AnyWorkerAlive);
        int gets = ds.Gets;
        // At most 2 workers x 2 batches ahead of the 2 taken.
        Assert.InRange(gets, 2, 6);
        Thread.Sleep(50);
        Assert.Equal(gets, ds.Gets);
        Assert.False(e.MoveNext());
    }

    [Fact]
    public void Foreach_with_break_disposes_the_epoch()
    {
        var ds = FuncDataset.Wrap(Numbered(500));
        var loader = new DataLoader(ds, 2, workers: 3);
        int seen = 0;
        foreach (var b in loader)
            if (++seen == 3) break;
        int gets = ds.Gets;
        Thread.Sleep(50);
        Assert.Equal(gets, ds.Gets);
        Assert.True(gets < 500);
    }

    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
    static Prefetcher StartAndDrop(DataLoader loader)
    {
        var e = (DataLoaderEnumerator)loader.GetEnumerator();
        Assert.True(e.MoveNext());
        return e.Prefetcher!;
    }

    [Fact]
    public void An_epoch_dropped_without_Dispose_stops_its_workers_when_collected()
    {
        var prefetcher = StartAndDrop(new DataLoader(Numbered(1000), 1, workers: 2));
        Assert.True(prefetcher.AnyAlive); // waiting for the consumer to take more
        GC.Collect();
        GC.WaitForPendingFinalizers();
        Assert.True(prefetcher.Join(TimeSpan.FromSeconds(30)), "the workers of a finalized epoch kept running");
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(3)]
    public void An_exception_in_a_worker_surfaces_on_the_consumer_at_its_batch(int workers)
    {
        var inner = Numbered(20);
        var ds = new FuncDataset(20, i => i == 5 ? throw new InvalidOperationException("sample 5 is unreadable") : inner.Get(i));
        var loader = new DataLoader(ds, 2, workers: workers);
        var e = loader.GetEnumerator();
        Assert.True(e.MoveNext());
        Assert.True(e.MoveNext()); // samples 0-3 arrive before the failure
        var ex = Assert.Throws<InvalidOperationException>(() => e.MoveNext());
        Assert.Equal("sample 5 is unreadable", ex.Message);
        if (e is DataLoaderEnumerator d) Assert.False(d.AnyWorkerAlive);
        Assert.False(e.MoveNext());
        e.Dispose();
    }

    [Fact]
    public void Samples_of_different_shapes_cannot_be_stacked()
    {
        var ds = new FuncDataset(4, i => new Sample(Tensor.Zeros(i == 2 ? 4 : 3), Tensor.Scalar(0)));
        var e = Assert.Throws<ShapeException>(() => new DataLoader(ds, 4).First());
        Assert.Equal("DataLoader: expected every sample's input to have the first one's shape [3] to stack them; got [4] at dataset index 2", e.Message);
    }

    [Fact]
    public void Constructor_rejects_bad_arguments()
    {
        var ds = Numbered(3);
        Assert.StartsWith("DataLoader: batchSize should be a positive integer; got 0",
            Assert.Throws<ArgumentOutOfRangeException>(() => new DataLoader(ds, 0)).Message);
        Assert.StartsWith("DataLoader: workers should be non-negative (0 prepares batches on the calling thread); got -1",
            Assert.Throws<ArgumentOutOfRangeException>(() => new DataLoader(ds, 1, workers: -1)).Message);
        Assert.StartsWith("DataLoader: prefetch should be a positive integer; got 0",
            Assert.Throws<ArgumentOutOfRangeException>(() => new DataLoader(ds, 1, workers: 1, prefetch: 0)).Message);
    }

    [Fact]
    public void An_epoch_cannot_be_reset_and_Current_needs_MoveNext()
    {
        using var e = new DataLoader(Numbered(3), 2).GetEnumerator();
        Assert.StartsWith("DataLoader: Current was read before MoveNext",
            Assert.Throws<InvalidOperationException>(() => e.Current).Message);
        Assert.Throws<NotSupportedException>(e.Reset);
    }

    [Fact]
    public void Batches_are_new_tensors_that_survive_a_TensorScope()
    {
        var loader = new DataLoader(Numbered(6), 3);
        Batch kept;
        using (TensorScope.Begin()) kept = loader.First();
        Assert.Equal([0f, 1, 2, 10, 11, 12, 20, 21, 22], kept.Inputs.ToArray());
    }
}
