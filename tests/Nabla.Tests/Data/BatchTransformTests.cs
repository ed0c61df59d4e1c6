using Nabla.Data;
using Nabla.Training;

namespace Nabla.Tests.DataTests;

/// <summary>A loader's batch transform: applied to every batch, each with its own random stream, the same on resume and with workers.</summary>
public class BatchTransformTests
{
    /// <summary>Adds one number drawn from the batch's generator to every input, and records it.</summary>
    sealed class AddNoise : IBatchTransform
    {
        public Batch Apply(Batch batch, Generator generator) => new(batch.Inputs + (float)generator.NextDouble(), batch.Targets);
    }

    static TensorDataset Data() => new(Tensor.Zeros(40, 3), Tensor.Zeros(40));

    static List<float> Offsets(IEnumerator<Batch> batches)
    {
        var offsets = new List<float>();
        while (batches.MoveNext()) offsets.Add(batches.Current.Inputs.ToArray()[0]);
        return offsets;
    }

    [Fact]
    public void Every_batch_is_transformed_with_a_stream_of_its_own()
    {
        var loader = new DataLoader(Data(), batchSize: 8, shuffle: true, generator: new Generator(1), batchTransform: new AddNoise());
        var offsets = Offsets(loader.StartEpoch(7));
        Assert.Equal(5, offsets.Count);
        Assert.Equal(5, offsets.Distinct().Count());
        Assert.All(offsets, o => Assert.InRange(o, 0f, 1f));
        Assert.NotEqual(offsets, Offsets(loader.StartEpoch(8))); // another epoch, other draws
        Assert.Same(loader.BatchTransform, loader.BatchTransform);
    }

    [Fact]
    public void A_resumed_epoch_and_background_workers_give_the_same_batches()
    {
        var plain = new DataLoader(Data(), batchSize: 8, shuffle: true, generator: new Generator(1), batchTransform: new AddNoise());
        var whole = Offsets(plain.StartEpoch(7));
        Assert.Equal(whole[2..], Offsets(plain.StartEpoch(7, startBatch: 2)));
        var workers = new DataLoader(Data(), batchSize: 8, shuffle: true, generator: new Generator(1), workers: 2, batchTransform: new AddNoise());
        Assert.Equal(whole, Offsets(workers.StartEpoch(7)));
    }

    [Fact]
    public void Training_accuracy_against_soft_targets_counts_the_largest_class()
    {
        var scores = Tensor.FromArray([2f, 1f, 0f, 0f, 1f, 3f], 2, 3);
        var soft = Tensor.FromArray([0.7f, 0.3f, 0f, 0.6f, 0f, 0.4f], 2, 3);
        Assert.True(Metrics.IsSoftClassification(scores, soft));
        Assert.False(Metrics.IsSoftClassification(scores, Tensor.Zeros(2)));
        Assert.Equal(1, Metrics.CountCorrectSoft(scores, soft));
        // Not distributions, or one column: a regression or a multi-label target, not soft labels.
        Assert.False(Metrics.IsSoftClassification(scores, Tensor.FromArray([1f, 1f, 0f, 0.5f, -0.5f, 1f], 2, 3)));
        Assert.False(Metrics.IsSoftClassification(Tensor.Zeros(2, 1), Tensor.Ones(2, 1)));
    }

    [Fact]
    public void A_loader_that_does_not_shuffle_still_mixes_each_epoch_differently()
    {
        var loader = new DataLoader(Data(), batchSize: 8, generator: new Generator(1), batchTransform: new AddNoise());
        Assert.NotEqual(Offsets(loader.GetEnumerator()), Offsets(loader.GetEnumerator()));
        Assert.Equal(0UL, new DataLoader(Data(), batchSize: 8).NextEpochSeed()); // nothing drawn without shuffle or transform
        var e = loader.GetEnumerator();
        Assert.Throws<InvalidOperationException>(() => e.Current);
    }
}
