using Nabla.Nn;
using Nabla.Training;

namespace Nabla.Tests.TrainingTests;

public class EarlyStoppingTests
{
    static EpochRecord Rec(int epoch, string monitor, double v) => monitor switch
    {
        "val_loss" => new EpochRecord(epoch, 9, 0, v, 0, 0.1, 0),
        "val_accuracy" => new EpochRecord(epoch, 9, 0, 9, v, 0.1, 0),
        "loss" => new EpochRecord(epoch, v, 0, double.NaN, double.NaN, 0.1, 0),
        _ => throw new ArgumentException(monitor),
    };

    /// <summary>Feeds the sequence until the callback stops; returns the stop epoch (0 if never).</summary>
    static int Run(EarlyStopping es, string monitor, double[] values)
    {
        for (int i = 0; i < values.Length; i++)
            if (es.OnEpochEnd(Rec(i + 1, monitor, values[i])) is not null) return i + 1;
        return 0;
    }

    [Theory]
    // monitor, values, patience, minDelta, warmup, stop epoch, best epoch, reason
    [InlineData("val_loss", new[] { 0.5, 0.4, 0.35, 0.33, 0.312, 0.3115, 0.32, 0.313, 0.1 }, 3, 0.001, 0, 8, 5,
                "val_loss did not improve by more than 0.001 for 3 epochs after epoch 5 (best 0.312)")]
    [InlineData("val_loss", new[] { 1.0, 0.9, 0.8, 0.85, 0.86, 0.87 }, 3, 0.0, 0, 6, 3,
                "val_loss did not improve by more than 0 for 3 epochs after epoch 3 (best 0.8)")]
    [InlineData("val_loss", new[] { 1.0, 0.97, 0.96, 0.94, 0.93 }, 2, 0.05, 0, 3, 1,
                "val_loss did not improve by more than 0.05 for 2 epochs after epoch 1 (best 1)")]
    [InlineData("val_loss", new[] { 5.0, 6.0, 1.0, 2.0, 3.0 }, 2, 0.0, 2, 5, 3,
                "val_loss did not improve by more than 0 for 2 epochs after epoch 3 (best 1)")]
    [InlineData("val_loss", new[] { 3.0, 2.0, 2.5, 1.0, 1.5 }, 2, 0.0, 0, 0, 4, null)]
    [InlineData("loss", new[] { 1.0, 1.0 }, 0, 0.0, 0, 2, 1,
                "loss did not improve by more than 0 for 1 epoch after epoch 1 (best 1)")]
    [InlineData("val_accuracy", new[] { 0.5, 0.7, 0.7, 0.69 }, 2, 0.0, 0, 4, 2,
                "val_accuracy did not improve by more than 0 for 2 epochs after epoch 2 (best 0.7)")]
    [InlineData("val_accuracy", new[] { 0.5, 0.4, 0.6, 0.55, 0.58, 0.3 }, 3, 0.0, 0, 6, 3,
                "val_accuracy did not improve by more than 0 for 3 epochs after epoch 3 (best 0.6)")]
    public void Table(string monitor, double[] values, int patience, double minDelta, int warmup,
                      int stopEpoch, int bestEpoch, string? reason)
    {
        var es = new EarlyStopping(monitor, patience: patience, minDelta: minDelta, warmupEpochs: warmup);
        Assert.Equal(stopEpoch, Run(es, monitor, values));
        Assert.Equal(stopEpoch, es.StoppedEpoch);
        Assert.Equal(bestEpoch, es.BestEpoch);
        Assert.Equal(values[bestEpoch - 1], es.BestValue);
        Assert.Equal(reason, es.StopReason);
    }

    [Fact]
    public void Mode_AutoPicksMaxForAccuracy_AndExplicitModeOverrides()
    {
        Assert.Equal(MonitorMode.Max, new EarlyStopping("val_accuracy").Mode);
        Assert.Equal(MonitorMode.Min, new EarlyStopping("val_loss").Mode);
        // Max mode on a loss: a falling loss is then "no improvement".
        var es = new EarlyStopping("val_loss", MonitorMode.Max, patience: 1);
        Assert.Equal(2, Run(es, "val_loss", [1.0, 0.5, 0.2]));
    }

    [Fact]
    public void RestoreBestWeights_LoadsTheBestEpochsCopyAtTheEnd()
    {
        var model = new Linear(2, 1, generator: new Generator(1));
        var best = model.StateDict()["weight"].ToArray();
        var es = new EarlyStopping("val_loss", patience: 1, restoreBestWeights: true);
        es.OnTrainBegin(model);
        Assert.Null(es.OnEpochEnd(Rec(1, "val_loss", 1.0)));
        using (Autograd.NoGrad()) model.StateDict()["weight"].Span.Fill(7); // training moves on
        Assert.NotNull(es.OnEpochEnd(Rec(2, "val_loss", 2.0)));
        es.OnTrainEnd(new History());

        Assert.Equal(best, model.StateDict()["weight"].ToArray());
        Assert.Equal(1, es.RestoredEpoch);
    }

    [Fact]
    public void RestoreBestWeights_KeepsTheWeightsWhenTheLastEpochWasBest()
    {
        var model = new Linear(2, 1, generator: new Generator(1));
        var es = new EarlyStopping("val_loss", patience: 1, restoreBestWeights: true);
        es.OnTrainBegin(model);
        es.OnEpochEnd(Rec(1, "val_loss", 1.0));
        using (Autograd.NoGrad()) model.StateDict()["weight"].Span.Fill(7);
        es.OnEpochEnd(Rec(2, "val_loss", 0.5));
        es.OnTrainEnd(new History());
        Assert.All(model.StateDict()["weight"].ToArray(), w => Assert.Equal(7f, w));
        Assert.Equal(0, es.RestoredEpoch);
    }

    [Fact]
    public void RestoreBestWeights_WithoutModel_Throws()
    {
        var es = new EarlyStopping("val_loss", restoreBestWeights: true);
        var ex = Assert.Throws<InvalidOperationException>(() => es.OnEpochEnd(Rec(1, "val_loss", 1.0)));
        Assert.Equal("EarlyStopping with restoreBestWeights needs the model: it is given by Trainer.Fit (or call OnTrainBegin(model))", ex.Message);
    }

    [Fact]
    public void MissingMonitoredValue_Throws()
    {
        var es = new EarlyStopping("val_loss");
        var ex = Assert.Throws<InvalidOperationException>(() => es.OnEpochEnd(Rec(1, "loss", 1.0)));
        Assert.Equal("EarlyStopping monitors 'val_loss' but epoch 1 has no value for it (NaN)\n" +
                     "hint: pass a validation loader to Fit for val_* metrics, or monitor 'loss'", ex.Message);
    }

    [Fact]
    public void BadArguments_Throw()
    {
        var ex = Assert.Throws<ArgumentException>(() => new EarlyStopping("val_acc"));
        Assert.StartsWith("Unknown metric 'val_acc'; expected one of loss, accuracy, val_loss, val_accuracy, lr", ex.Message);
        Assert.Equal("monitor", ex.ParamName);
        Assert.StartsWith("Invalid patience: -1", Assert.Throws<ArgumentOutOfRangeException>(() => new EarlyStopping(patience: -1)).Message);
        Assert.StartsWith("Invalid minDelta: -0.1", Assert.Throws<ArgumentOutOfRangeException>(() => new EarlyStopping(minDelta: -0.1)).Message);
        Assert.StartsWith("Invalid warmupEpochs: -2", Assert.Throws<ArgumentOutOfRangeException>(() => new EarlyStopping(warmupEpochs: -2)).Message);
    }

    [Fact]
    public void OnTrainBegin_ResetsAnEarlierRun()
    {
        var es = new EarlyStopping("val_loss", patience: 0);
        Assert.Equal(2, Run(es, "val_loss", [1.0, 2.0]));
        es.OnTrainBegin(new Linear(1, 1));
        Assert.Null(es.StopReason);
        Assert.Equal(0, es.BestEpoch);
        Assert.Equal(0, Run(es, "val_loss", [3.0, 2.0]));
    }
}
