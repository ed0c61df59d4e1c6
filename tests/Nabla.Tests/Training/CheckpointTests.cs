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
}
