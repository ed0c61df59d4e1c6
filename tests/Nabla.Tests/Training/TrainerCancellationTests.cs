using Nabla.Data;
using Nabla.Losses;
using Nabla.Nn;
using Nabla.Optim;
using Nabla.Training;
using static Nabla.Tests.TrainingTests.TrainingData;

namespace Nabla.Tests.TrainingTests;

public class TrainerCancellationTests
{
    // Dropout draws from its own generator, so the test also covers a random stream used inside the epoch.
    static (Trainer Trainer, DataLoader Loader) Setup()
    {
        var model = new Sequential(new Linear(2, 8, generator: new Generator(3)), new Relu(),
                                   new Dropout(0.3, generator: new Generator(5)), new Linear(8, 2, generator: new Generator(4)));
        var trainer = new Trainer(model, new CrossEntropyLoss(), new Sgd(model.Parameters(), lr: 0.1, momentum: 0.9));
        var loader = new DataLoader(Separable(30, 1), batchSize: 4, shuffle: true, generator: new Generator(7));
        return (trainer, loader);
    }

    static int[] Bits(Module m) =>
        m.Parameters().SelectMany(p => p.Data.ToArray()).Select(BitConverter.SingleToInt32Bits).ToArray();

    [Theory]
    [InlineData(1)]
    [InlineData(5)]
    [InlineData(8)]  // the last batch of epoch 1: validation and the epoch's end still happen
    [InlineData(11)] // in epoch 2
    public void CancelAfterKBatches_ThenFitAgain_EqualsTheUninterruptedRun(int k)
    {
        var (a, aLoader) = Setup();
        var whole = a.Fit(aLoader, aLoader, epochs: 3);

        var (b, bLoader) = Setup();
        using var cts = new CancellationTokenSource();
        int seen = 0;
        b.Progress += (_, _) => { if (++seen == k) cts.Cancel(); };
        var first = b.Fit(bLoader, bLoader, epochs: 3, cancellationToken: cts.Token);
        Assert.True(first.Interrupted);
        Assert.NotNull(b.InterruptedEpoch);
        Assert.Equal(k % 8, b.InterruptedEpoch!.Batches); // 30 samples in batches of 4: 8 per epoch
        Assert.Equal(k / 8, first.Records.Count);
        Assert.Equal(k, b.GlobalStep);

        var rest = b.Fit(bLoader, bLoader, epochs: 3 - b.Epoch);
        Assert.False(rest.Interrupted);
        Assert.Null(b.InterruptedEpoch);
        Assert.Equal(Bits(a.Model), Bits(b.Model));
        // The resumed epoch's record counts the batches before the interruption too.
        var records = first.Records.Concat(rest.Records).ToList();
        Assert.Equal(whole.Records.Select(r => (r.Epoch, r.TrainLoss, r.TrainAccuracy, r.ValidationLoss)),
                     records.Select(r => (r.Epoch, r.TrainLoss, r.TrainAccuracy, r.ValidationLoss)));
    }

    [Fact]
    public void CallbacksSeeEpochBegin_AndNoTrainEndWhenInterrupted()
    {
        var (t, loader) = Setup();
        var probe = new Probe();
        t.Callbacks.Add(probe);
        using var cts = new CancellationTokenSource();
        t.Progress += (_, p) => { if (p.Epoch == 2 && p.Batch == 3) cts.Cancel(); };
        t.Fit(loader, epochs: 4, cancellationToken: cts.Token);
        Assert.Equal([1, 2], probe.Begun);
        Assert.False(probe.Ended);
        t.Fit(loader, epochs: 1);
        Assert.Equal([1, 2, 2], probe.Begun); // the interrupted epoch begins again where it stopped
        Assert.True(probe.Ended);
    }

    [Fact]
    public void StartEpoch_SkipsBatches_AndRejectsAStartPastTheEnd()
    {
        var loader = new DataLoader(new TensorDataset(Tensor.Arange(10).Reshape(10, 1), Tensor.Zeros(10)), batchSize: 3, shuffle: true, generator: new Generator(1));
        ulong seed = loader.NextEpochSeed();
        var all = new List<float>();
        using (var e = loader.StartEpoch(seed)) while (e.MoveNext()) all.AddRange(e.Current.Inputs.ToArray());
        var tail = new List<float>();
        using (var e = loader.StartEpoch(seed, 2)) while (e.MoveNext()) tail.AddRange(e.Current.Inputs.ToArray());
        Assert.Equal(all.Skip(6), tail);
        Assert.Equal(10, all.Distinct().Count());
        var ex = Assert.Throws<ArgumentOutOfRangeException>(() => loader.StartEpoch(seed, 5));
        Assert.Contains("between 0 and the 4 batches", ex.Message);
    }

    sealed class Probe : ITrainerCallback
    {
        public List<int> Begun { get; } = [];
        public bool Ended { get; private set; }
        public void OnEpochBegin(int epoch) => Begun.Add(epoch);
        public string? OnEpochEnd(EpochRecord record) => null;
        public void OnTrainEnd(History history) => Ended = true;
    }
}
