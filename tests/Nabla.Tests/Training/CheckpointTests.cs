using Nabla.Data;
using Nabla.Losses;
using Nabla.Nn;
using Nabla.Optim;
using Nabla.Serialization;
using Nabla.Training;

namespace Nabla.Tests.TrainingTests;

public sealed class CheckpointTests : IDisposable
{
    readonly string _dir = Directory.CreateTempSubdirectory("nabla-ckpt-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    static (Trainer Trainer, DataLoader Loader, Generator Shuffle) Setup(ulong initSeed, ulong shuffleSeed)
    {
        var model = new Linear(2, 2, generator: new Generator(initSeed));
        // Momentum gives the optimizer state that must travel with the weights.
        var trainer = new Trainer(model, new CrossEntropyLoss(), new Sgd(model.Parameters(), lr: 0.1, momentum: 0.9));
        var g = new Generator(shuffleSeed);
        return (trainer, new DataLoader(TrainingData.Separable(20, 1), batchSize: 4, shuffle: true, generator: g), g);
    }

    static int[] Bits(Module m) =>
        m.Parameters().SelectMany(p => p.Data.ToArray()).Select(BitConverter.SingleToInt32Bits).ToArray();

    [Fact]
    public void Resume_NStepsSaveLoadNSteps_IsBitwiseTwoNStepsInOneRun()
    {
        var (a, aLoader, _) = Setup(3, 7);
        a.Fit(aLoader, epochs: 2);

        var (b, bLoader, bShuffle) = Setup(3, 7);
        b.Fit(bLoader, epochs: 1);
        var path = Path.Combine(_dir, "ckpt.safetensors");
        Checkpoint.Save(path, b, [bShuffle]);

        var (c, cLoader, cShuffle) = Setup(99, 1234); // a fresh trainer: other weights, other shuffling
        Assert.NotEqual(Bits(a.Model), Bits(c.Model));
        var info = Checkpoint.Load(path, c, [cShuffle]);
        Assert.Equal(new CheckpointInfo(1, 5), info);
        var h = c.Fit(cLoader, epochs: 1);

        Assert.Equal(2, h.Records[0].Epoch);
        Assert.Equal(10, c.GlobalStep);
        Assert.Equal(Bits(a.Model), Bits(c.Model));
        Assert.Empty(Directory.GetFiles(_dir, "*.tmp")); // the temporary file was renamed away
    }

    [Fact]
    public void Resume_WithoutTheShuffleGenerator_Diverges()
    {
        // The generator state is what makes the resumed epoch see the same batches.
        var (a, aLoader, _) = Setup(3, 7);
        a.Fit(aLoader, epochs: 2);
        var (b, bLoader, _) = Setup(3, 7);
        b.Fit(bLoader, epochs: 1);
        var path = Path.Combine(_dir, "ckpt.safetensors");
        Checkpoint.Save(path, b);
        var (c, cLoader, _) = Setup(99, 1234);
        Checkpoint.Load(path, c);
        c.Fit(cLoader, epochs: 1);
        Assert.NotEqual(Bits(a.Model), Bits(c.Model));
    }

    [Fact]
    public void Load_WrongGeneratorCount_OrNotACheckpoint_Throws()
    {
        var (t, _, g) = Setup(3, 7);
        var path = Path.Combine(_dir, "ckpt.safetensors");
        Checkpoint.Save(path, t, [g]);
        var ex = Assert.Throws<SafeTensorsException>(() => Checkpoint.Load(path, t));
        Assert.EndsWith("the checkpoint holds 1 generator states; 0 generators were given", ex.Message);

        var plain = Path.Combine(_dir, "weights.safetensors");
        SafeTensors.Save(plain, t.Model.StateDict());
        var ex2 = Assert.Throws<SafeTensorsException>(() => Checkpoint.Load(plain, t));
        Assert.EndsWith("not a Nabla checkpoint (metadata 'format' is 'missing'; expected 'nabla.checkpoint.v1')", ex2.Message);
    }

    /// <summary>Setup plus a OneCycleLr stepped per batch and a StepLr stepped per epoch, both moving the same rate.</summary>
    static (Trainer Trainer, DataLoader Loader, Generator Shuffle) ScheduledSetup(ulong initSeed, ulong shuffleSeed)
    {
        var (t, loader, g) = Setup(initSeed, shuffleSeed);
        // 5 batches an epoch, 3 epochs. OneCycle also cycles the momentum.
        t.StepSchedulers.Add(new OneCycleLr(t.Optimizer, maxLr: 0.5, totalSteps: 15));
        t.EpochSchedulers.Add(new StepLr(t.Optimizer, stepSize: 1, gamma: 0.5));
        return (t, loader, g);
    }

    static List<string> OptimizerBits(Optimizer o)
    {
        var s = new List<string>();
        foreach (var (k, v) in o.StateDict()) s.Add(k + "=" + string.Join(',', v.ToArray().Select(BitConverter.SingleToInt32Bits)));
        foreach (var g in o.ParamGroups)
            foreach (var name in g.OptionNames) s.Add(name + "=" + BitConverter.DoubleToInt64Bits(g[name]));
        return s;
    }

    [Fact]
    public void Resume_WithStepLrPerEpochAndOneCycleLrPerStep_IsBitwiseTheUninterruptedRun()
    {
        var (a, aLoader, _) = ScheduledSetup(3, 7);
        var history = a.Fit(aLoader, epochs: 3);

        var (b, bLoader, bShuffle) = ScheduledSetup(3, 7);
        b.Fit(bLoader, epochs: 2);
        var path = Path.Combine(_dir, "ckpt.safetensors");
        Checkpoint.Save(path, b, [bShuffle]);

        var (c, cLoader, cShuffle) = ScheduledSetup(99, 1234);
        Assert.Equal(new CheckpointInfo(2, 10), Checkpoint.Load(path, c, [cShuffle]));
        Assert.Equal(OptimizerBits(b.Optimizer), OptimizerBits(c.Optimizer));
        var h = c.Fit(cLoader, epochs: 1);

        Assert.Equal(15, c.GlobalStep);
        Assert.Equal(Bits(a.Model), Bits(c.Model));
        Assert.Equal(OptimizerBits(a.Optimizer), OptimizerBits(c.Optimizer));
        Assert.Equal(history.Records[2].LearningRate, h.Records[0].LearningRate);
        Assert.Equal(history.Records[2].TrainLoss, h.Records[0].TrainLoss);
        Assert.Equal(a.StepSchedulers[0].LastEpoch, c.StepSchedulers[0].LastEpoch);
        Assert.Equal(a.EpochSchedulers[0].GetLastLr(), c.EpochSchedulers[0].GetLastLr());
    }

    [Fact]
    public void Resume_WithAPlateauScheduler_RestoresItsProgressExactly()
    {
        (Trainer, DataLoader, Generator) Make(ulong i, ulong s)
        {
            var (t, l, g) = Setup(i, s);
            t.PlateauScheduler = new ReduceLrOnPlateau(t.Optimizer, patience: 0, factor: 0.5, threshold: 10, thresholdMode: ThresholdMode.Abs);
            return (t, l, g);
        }
        var (a, aLoader, _) = Make(3, 7);
        a.Fit(aLoader, epochs: 4);
        var (b, bLoader, bShuffle) = Make(3, 7);
        b.Fit(bLoader, epochs: 2);
        var path = Path.Combine(_dir, "ckpt.safetensors");
        Checkpoint.Save(path, b, [bShuffle]);
        var (c, cLoader, cShuffle) = Make(99, 1234);
        Checkpoint.Load(path, c, [cShuffle]);
        Assert.Equal(b.PlateauScheduler!.Best, c.PlateauScheduler!.Best);
        Assert.Equal(b.PlateauScheduler.NumBadEpochs, c.PlateauScheduler.NumBadEpochs);
        Assert.Equal(2, c.PlateauScheduler.LastEpoch);
        c.Fit(cLoader, epochs: 2);
        Assert.Equal(Bits(a.Model), Bits(c.Model));
        Assert.Equal(a.PlateauScheduler!.GetLastLr(), c.PlateauScheduler.GetLastLr());
        Assert.True(a.Optimizer.ParamGroups[0].Lr < 0.1); // the plateau did cut the rate, so its state mattered
    }

    [Fact]
    public void UserMetadata_RoundTripsWithoutThePrefix_AndEmptyKeysAreRejected()
    {
        var (t, _, g) = Setup(3, 7);
        var path = Path.Combine(_dir, "ckpt.safetensors");
        Checkpoint.Save(path, t, [g], new Dictionary<string, string> { ["run"] = "baseline", ["user.nested"] = "x", ["note"] = "" });
        var info = Checkpoint.Load(path, t, [g]);
        Assert.Equal(3, info.Metadata.Count);
        Assert.Equal("baseline", info.Metadata["run"]);
        Assert.Equal("x", info.Metadata["user.nested"]);
        Assert.Equal("", info.Metadata["note"]);
        Assert.Equal(new CheckpointInfo(0, 0) { Metadata = new Dictionary<string, string> { ["note"] = "", ["run"] = "baseline", ["user.nested"] = "x" } }, info);
        Assert.NotEqual(new CheckpointInfo(0, 0), info);
        Assert.Equal("CheckpointInfo { Epoch = 0, Step = 0, Metadata = { run = baseline, user.nested = x, note =  } }", info.ToString());
        Assert.Empty(new CheckpointInfo(1, 2).Metadata);
        Assert.Equal("CheckpointInfo { Epoch = 1, Step = 2, Metadata = {} }", new CheckpointInfo(1, 2).ToString());

        using (var f = SafeTensorsFile.Open(path)) Assert.Equal("baseline", f.Metadata["user.run"]);
        var before = File.ReadAllBytes(path);
        var e = Assert.Throws<ArgumentException>(() => Checkpoint.Save(path, t, [g], new Dictionary<string, string> { [""] = "v" }));
        Assert.StartsWith("Checkpoint.Save: metadata keys must be non-empty", e.Message, StringComparison.Ordinal);
        Assert.Equal("metadata", e.ParamName);
        Assert.Equal(before, File.ReadAllBytes(path)); // nothing was written
    }

    [Fact]
    public void Load_AFileWithoutSchedulerKeys_HoldsNoSchedulers()
    {
        // Checkpoints written before schedulers were saved have no "schedulers" or "plateau" metadata.
        var (t, _, g) = Setup(3, 7);
        var path = Path.Combine(_dir, "ckpt.safetensors");
        Checkpoint.Save(path, t, [g]);
        var tensors = SafeTensors.Load(path);
        Dictionary<string, string> meta;
        using (var f = SafeTensorsFile.Open(path)) meta = new(f.Metadata);
        Assert.Equal("0", meta["schedulers"]);
        Assert.Equal("0", meta["plateau"]);
        meta.Remove("schedulers");
        meta.Remove("plateau");
        foreach (var k in meta.Keys.Where(k => k.StartsWith("optimizer.exact.", StringComparison.Ordinal)).ToList()) meta.Remove(k);
        SafeTensors.Save(path, tensors, meta);
        Assert.Equal(new CheckpointInfo(0, 0), Checkpoint.Load(path, t, [g]));
        t.EpochSchedulers.Add(new StepLr(t.Optimizer, stepSize: 1));
        var e = Assert.Throws<SafeTensorsException>(() => Checkpoint.Load(path, t, [g]));
        Assert.EndsWith("the checkpoint holds 0 scheduler states; 1 schedulers were given", e.Message);
    }
}
