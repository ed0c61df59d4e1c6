using Nabla.Data;
using Nabla.Losses;
using Nabla.Nn;
using Nabla.Optim;
using Nabla.Serialization;
using Nabla.Training;

namespace Nabla.Tests.TrainingTests;

public sealed class ModelCheckpointTests : IDisposable
{
    readonly string _dir = Directory.CreateTempSubdirectory("nabla-modelckpt-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    static EpochRecord Record(int epoch, double valLoss, double valAccuracy = double.NaN) =>
        new(epoch, 1.0, double.NaN, valLoss, valAccuracy, 0.1, 0);

    /// <summary>Marks the model's weights with the epoch, so a saved file says which epoch it holds.</summary>
    static void Mark(Module m, int epoch)
    {
        foreach (var p in m.Parameters()) p.Data.Span.Fill(epoch);
    }

    static (int Epoch, string Value, float Weight) Read(string path)
    {
        using var f = SafeTensorsFile.Open(path);
        Assert.Equal("val_loss", f.Metadata["monitor"]);
        return (int.Parse(f.Metadata["epoch"], System.Globalization.CultureInfo.InvariantCulture), f.Metadata["value"], f.ReadFloat("weight")[0]);
    }

    [Fact]
    public void SavesTheBestAndTheLastEpoch_CreatingTheDirectory_NaNNeverImproves()
    {
        var dir = Path.Combine(_dir, "nested", "ckpts");
        var model = new Linear(2, 1, generator: new Generator(1));
        var cb = new ModelCheckpoint(dir);
        Assert.Equal(MonitorMode.Min, cb.Mode);
        cb.OnTrainBegin(model);
        Assert.True(Directory.Exists(dir));

        double[] losses = [double.NaN, 0.5, 0.4, double.NaN, 0.45, 0.4];
        int[] bestAfter = [0, 2, 3, 3, 3, 3];
        for (int e = 1; e <= losses.Length; e++)
        {
            Mark(model, e);
            Assert.Null(cb.OnEpochEnd(Record(e, losses[e - 1])));
            Assert.Equal(bestAfter[e - 1], cb.BestEpoch);
            Assert.Equal(e, Read(cb.LastPath).Epoch);
            Assert.Equal(e == 1, !File.Exists(cb.BestPath));
        }
        Assert.Equal(0.4, cb.BestValue);
        Assert.Equal((3, "0.4", 3f), Read(cb.BestPath));
        Assert.Equal((6, "0.4", 6f), Read(cb.LastPath));
        // The file is the model's state dict alone: it loads straight back.
        var copy = new Linear(2, 1, generator: new Generator(9));
        copy.LoadStateDict(SafeTensors.Load(cb.BestPath));
        Assert.All(copy.Parameters().SelectMany(p => p.Data.ToArray()), w => Assert.Equal(3f, w));
        Assert.Equal(Path.Combine(dir, "best.safetensors"), cb.BestPath);
    }

    [Fact]
    public void AccuracyIsMaximized_AndSaveFlagsAreHonoured()
    {
        var model = new Linear(2, 1, generator: new Generator(1));
        var cb = new ModelCheckpoint(_dir, monitor: "val_accuracy", saveLast: false);
        Assert.Equal(MonitorMode.Max, cb.Mode);
        cb.OnTrainBegin(model);
        cb.OnEpochEnd(Record(1, 0.3, 0.6));
        cb.OnEpochEnd(Record(2, 0.2, 0.8));
        cb.OnEpochEnd(Record(3, 0.1, 0.7));
        Assert.Equal((2, 0.8), (cb.BestEpoch, cb.BestValue));
        Assert.False(File.Exists(cb.LastPath));

        var onlyLast = new ModelCheckpoint(Path.Combine(_dir, "b"), monitor: "val_loss", mode: MonitorMode.Max, saveBest: false);
        onlyLast.OnTrainBegin(model);
        onlyLast.OnEpochEnd(Record(1, 0.3));
        onlyLast.OnEpochEnd(Record(2, 0.5));
        Assert.Equal(2, onlyLast.BestEpoch); // Max was asked for, so the higher loss is "better"
        Assert.False(File.Exists(onlyLast.BestPath));
        Assert.True(File.Exists(onlyLast.LastPath));
    }

    [Fact]
    public void BadArguments_AndUseWithoutAModel_Throw()
    {
        var e = Assert.Throws<ArgumentException>(() => new ModelCheckpoint(_dir, monitor: "val_los"));
        Assert.StartsWith("Unknown metric 'val_los'; expected one of loss, accuracy, val_loss, val_accuracy, lr", e.Message, StringComparison.Ordinal);
        Assert.Equal("monitor", e.ParamName);
        var d = Assert.Throws<ArgumentException>(() => new ModelCheckpoint(" "));
        Assert.Equal("directory", d.ParamName);
        var i = Assert.Throws<InvalidOperationException>(() => new ModelCheckpoint(_dir).OnEpochEnd(Record(1, 0.5)));
        Assert.Equal("ModelCheckpoint needs the model: it is given by Trainer.Fit (or call OnTrainBegin(model))", i.Message);
    }

    [Fact]
    public void WithTrainer_BestIsTheLowestLossEpoch_AndLastIsTheFinalModel()
    {
        var model = new Linear(2, 2, generator: new Generator(3));
        var trainer = new Trainer(model, new CrossEntropyLoss(), new Sgd(model.Parameters(), lr: 0.5));
        var cb = new ModelCheckpoint(Path.Combine(_dir, "run"), monitor: "loss");
        trainer.Callbacks.Add(cb);
        var loader = new DataLoader(TrainingData.Separable(16, 1), batchSize: 4, shuffle: true, generator: new Generator(5));
        var history = trainer.Fit(loader, epochs: 4);
        var losses = history.Records.Select(r => r.TrainLoss).ToList();
        Assert.Equal(losses.IndexOf(losses.Min()) + 1, cb.BestEpoch);
        Assert.Equal(losses.Min(), cb.BestValue);
        var last = SafeTensors.Load(cb.LastPath);
        foreach (var (key, t) in model.StateDict()) Assert.Equal(t.ToArray(), last[key].ToArray());
        using var f = SafeTensorsFile.Open(cb.BestPath);
        Assert.Equal(cb.BestValue.ToString("R", System.Globalization.CultureInfo.InvariantCulture), f.Metadata["value"]);
    }
}
