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
    public void AResumeThatFailsBeforeItsFirstStep_KeepsTheInterruptedEpoch()
    {
        var (a, aLoader) = Setup();
        a.Fit(aLoader, epochs: 2);

        var (b, bLoader) = Setup();
        using var cts = new CancellationTokenSource();
        b.Progress += (_, p) => { if (p.Epoch == 2 && p.Batch == 6) cts.Cancel(); };
        b.Fit(bLoader, epochs: 2, cancellationToken: cts.Token);
        var kept = b.InterruptedEpoch;
        Assert.Equal(6, kept!.Batches);

        // A loader of 2 batches cannot resume at batch 6: the error leaves the interrupted epoch in place.
        var small = new DataLoader(Separable(8, 1), batchSize: 4, shuffle: true, generator: new Generator(7));
        Assert.Throws<ArgumentOutOfRangeException>(() => b.Fit(small, epochs: 1));
        Assert.Same(kept, b.InterruptedEpoch);

        b.Fit(bLoader, epochs: 1);
        Assert.Equal(Bits(a.Model), Bits(b.Model));
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

public sealed class InterruptedCheckpointTests : IDisposable
{
    readonly string _dir = Directory.CreateTempSubdirectory("nabla-interrupt-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    sealed record Run(Trainer Trainer, DataLoader Loader, Generator[] Generators);

    static Run Setup(ulong seed)
    {
        var dropout = new Generator(seed + 5);
        var model = new Sequential(new Linear(2, 8, generator: new Generator(seed)), new Relu(),
                                   new Dropout(0.3, generator: dropout), new Linear(8, 2, generator: new Generator(seed + 1)));
        var opt = new Adam(model.Parameters(), lr: 0.01);
        var trainer = new Trainer(model, new CrossEntropyLoss(), opt);
        trainer.StepSchedulers.Add(new CosineAnnealingLr(opt, tMax: 24));
        var shuffle = new Generator(seed + 7);
        return new Run(trainer, new DataLoader(Separable(30, 1), batchSize: 4, shuffle: true, generator: shuffle), [dropout, shuffle]);
    }

    static int[] Bits(Module m) =>
        m.Parameters().SelectMany(p => p.Data.ToArray()).Select(BitConverter.SingleToInt32Bits).ToArray();

    [Fact]
    public void CancelMidEpoch_SaveCheckpoint_LoadIntoAFreshTrainer_FinishesBitwiseAsTheUninterruptedRun()
    {
        var a = Setup(3);
        a.Trainer.Fit(a.Loader, epochs: 3);

        var b = Setup(3);
        using var cts = new CancellationTokenSource();
        b.Trainer.Progress += (_, p) => { if (p.Epoch == 2 && p.Batch == 3) cts.Cancel(); };
        b.Trainer.Fit(b.Loader, epochs: 3, cancellationToken: cts.Token);
        var path = Path.Combine(_dir, "ckpt.safetensors");
        Checkpoint.Save(path, b.Trainer, b.Generators, new Dictionary<string, string> { ["note"] = "kept" });

        var c = Setup(40); // other weights, other generator states
        var info = Checkpoint.Load(path, c.Trainer, c.Generators);
        Assert.Equal(1, info.Epoch);
        Assert.Equal(11, info.Step);
        Assert.Equal(new Dictionary<string, string> { ["note"] = "kept" }, info.Metadata); // the trainer's own key is not the user's
        Assert.Equal(new EpochProgress(2, b.Trainer.InterruptedEpoch!.EpochSeed, 3, 12, b.Trainer.InterruptedEpoch.LossSum, b.Trainer.InterruptedEpoch.Correct,
                                       b.Trainer.InterruptedEpoch.Seconds), c.Trainer.InterruptedEpoch);
        c.Trainer.Fit(c.Loader, epochs: 2);
        Assert.Equal(24, c.Trainer.GlobalStep);
        Assert.Equal(Bits(a.Trainer.Model), Bits(c.Trainer.Model));
    }

    [Fact]
    public void Load_RejectsAMalformedInterruptedEpoch_AndChangesNothing()
    {
        var b = Setup(3);
        var path = Path.Combine(_dir, "bad.safetensors");
        b.Trainer.Fit(b.Loader, epochs: 1);
        // A hand-made entry under the reserved key, as a corrupt or edited file would have it.
        Nabla.Training.Checkpoint.Save(path, b.Trainer.Model, b.Trainer.Optimizer, b.Generators, 1, 7,
            [.. b.Trainer.StepSchedulers], null, new Dictionary<string, string> { ["trainer.interrupted_epoch"] = "2,zz,1" });
        var c = Setup(40);
        var before = Bits(c.Trainer.Model);
        var ex = Assert.Throws<Nabla.Serialization.SafeTensorsException>(() => Checkpoint.Load(path, c.Trainer, c.Generators));
        Assert.Contains("user.trainer.interrupted_epoch' is malformed", ex.Message);
        Assert.Equal(before, Bits(c.Trainer.Model));
        Assert.Null(c.Trainer.InterruptedEpoch);
    }
}
